//! `stages import` into a stages storage, read back with skopeo after a publish: layouts
//! written by the real umoci and by skopeo, `docker save` tarballs in both forms (legacy
//! and the OCI layout inside of Docker 25+, built here) and an `oci-archive`; the published
//! images keep the source's layers, diff IDs and config, with werf's labels added.

use std::io::Read;
use std::path::Path;

use crate::support::cmd::{assert_success, bin, run};
use crate::support::layouts::{layer_digests, read_blob, ref_digest, umoci_image};
use crate::support::registry::Registry;
use crate::support::skopeo::Skopeo;
use crate::support::stages::{json_out, manifest, ok};
use serde_json::{json, Value};
use tempfile::TempDir;

fn published_layers(sk: &Skopeo, reference: &str) -> Vec<String> {
    let raw: Value = serde_json::from_slice(&sk.inspect_raw(reference)).unwrap();
    layer_digests(&raw)
}

#[test]
fn import_from_umoci_and_skopeo_layouts_then_publish() {
    let reg = Registry::start();
    let sk = Skopeo::new();
    let tmp = TempDir::new().unwrap();
    let umoci = tmp.path().join("umoci");
    let umoci_digest = umoci_image(&umoci);
    // skopeo: the umoci image through the registry and back into a layout of its own.
    sk.copy_from_oci(&umoci, "latest", &format!("{}/src:1", reg.host));
    let sklayout = tmp.path().join("skopeo");
    sk.copy_to_oci(&format!("{}/src:1", reg.host), &sklayout, "v1");
    let sk_digest = ref_digest(&sklayout, "v1");
    let stages = tmp.path().join("stages");
    let a = json_out(&ok(
        &[
            "stages",
            "import",
            &format!("oci:{}:latest", umoci.display()),
            "--image",
            "a",
            "--stage",
            "from",
            "--json",
        ],
        &stages,
    ));
    let b = json_out(&ok(
        &[
            "stages",
            "import",
            &format!("oci:{}:v1", sklayout.display()),
            "--image",
            "b",
            "--stage",
            "from",
            "--json",
        ],
        &stages,
    ));
    assert_eq!(a["signature"].as_str().unwrap().len(), 56, "{a}");
    ok(&["stages", "list"], &stages);
    let repo = format!("{}/proj", reg.host);
    let out = ok(
        &[
            "publish",
            "--dir",
            tmp.path().to_str().unwrap(),
            "--repo",
            &repo,
            "--tag-custom",
            "v1",
        ],
        &stages,
    );
    for (image, src, digest) in [("a", &umoci, &umoci_digest), ("b", &sklayout, &sk_digest)] {
        let want = layer_digests(&manifest(src, digest));
        let got = published_layers(&sk, &format!("{repo}/{image}:v1"));
        assert_eq!(got, want, "{image}: {}", out.describe());
        let cfg = sk.inspect_config(&format!("{repo}/{image}:v1"));
        let src_cfg: Value = serde_json::from_slice(&read_blob(
            src,
            manifest(src, digest)["config"]["digest"].as_str().unwrap(),
        ))
        .unwrap();
        assert_eq!(cfg["rootfs"], src_cfg["rootfs"], "{image}");
        assert_eq!(cfg["config"]["Labels"]["io.werf.image"], image);
        assert_eq!(cfg["config"]["Labels"]["io.werf.stage"], "from");
        assert_eq!(cfg["config"]["Labels"]["werf-image-name"], image);
    }
    let _ = b;
}

/// A `docker save` tarball of image `digest` of `layout` (gzip layers), in the legacy form
/// (`<id>/layer.tar`) or the OCI-layout-inside form of Docker 25+; the config gets `extra`.
fn docker_save(layout: &Path, digest: &str, oci_form: bool, extra: &Value, out: &Path) {
    let m = manifest(layout, digest);
    let mut cfg: Value =
        serde_json::from_slice(&read_blob(layout, m["config"]["digest"].as_str().unwrap()))
            .unwrap();
    cfg["config"] = extra.clone();
    let cfg_bytes = serde_json::to_vec(&cfg).unwrap();
    let cfg_hex = crate::support::cmd::sha256_hex(&cfg_bytes);
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    let add = |b: &mut tar::Builder<std::fs::File>, path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path, data).unwrap();
    };
    let mut layer_paths = Vec::new();
    let mut layer_descs = Vec::new();
    for l in layer_digests(&m) {
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&read_blob(layout, &l)[..])
            .read_to_end(&mut tar)
            .unwrap();
        let hex = crate::support::cmd::sha256_hex(&tar);
        let path = if oci_form {
            format!("blobs/sha256/{hex}")
        } else {
            format!("{hex}/layer.tar")
        };
        add(&mut b, &path, &tar);
        layer_descs.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": format!("sha256:{hex}"), "size": tar.len()}));
        layer_paths.push(path);
    }
    let cfg_path = if oci_form {
        format!("blobs/sha256/{cfg_hex}")
    } else {
        format!("{cfg_hex}.json")
    };
    add(&mut b, &cfg_path, &cfg_bytes);
    if oci_form {
        let om = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{cfg_hex}"), "size": cfg_bytes.len()},
            "layers": layer_descs})).unwrap();
        let om_hex = crate::support::cmd::sha256_hex(&om);
        add(&mut b, &format!("blobs/sha256/{om_hex}"), &om);
        add(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
        let idx = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{om_hex}"), "size": om.len(), "annotations": {"io.containerd.image.name": "docker.io/library/app:v1"}}]});
        add(&mut b, "index.json", &serde_json::to_vec(&idx).unwrap());
    }
    let mj = json!([{"Config": cfg_path, "RepoTags": ["app:v1"], "Layers": layer_paths}]);
    add(&mut b, "manifest.json", &serde_json::to_vec(&mj).unwrap());
    b.finish().unwrap();
}

#[test]
fn docker_archives_in_both_forms_and_oci_archives_import_and_publish() {
    let reg = Registry::start();
    let sk = Skopeo::new();
    let tmp = TempDir::new().unwrap();
    let umoci = tmp.path().join("umoci");
    let digest = umoci_image(&umoci);
    let extra = json!({"Env": ["PATH=/usr/bin", "FOO=bar"], "Cmd": ["/opt/app/run", "--flag"], "WorkingDir": "/opt/app", "Labels": {"org.example": "kept"}});
    let stages = tmp.path().join("stages");
    let repo = format!("{}/arch", reg.host);
    let src_cfg: Value = serde_json::from_slice(&read_blob(
        &umoci,
        manifest(&umoci, &digest)["config"]["digest"]
            .as_str()
            .unwrap(),
    ))
    .unwrap();
    import_docker_archives_in_both_forms(&umoci, &digest, &extra, tmp.path(), &stages);
    import_an_oci_archive(&umoci, &tmp.path().join("layout.tar"), &stages);
    assert!(!std::fs::read_dir(&stages).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".tmp-")));
    ok(
        &[
            "publish",
            "--dir",
            tmp.path().to_str().unwrap(),
            "--repo",
            &repo,
            "--tag-custom",
            "v1",
        ],
        &stages,
    );
    the_docker_archives_keep_their_config_and_diff_ids(&sk, &repo, &extra, &src_cfg);
    let got = published_layers(&sk, &format!("{repo}/ociarch:v1"));
    assert_eq!(got, layer_digests(&manifest(&umoci, &digest)));
}

/// `docker save` tarballs of umoci's image, legacy and OCI form (with `extra` config),
/// imported as images `legacy` and `ocifmt`, stage `dockerfile`.
fn import_docker_archives_in_both_forms(
    umoci: &Path,
    digest: &str,
    extra: &Value,
    tmp: &Path,
    stages: &Path,
) {
    for (name, oci_form) in [("legacy", false), ("ocifmt", true)] {
        let file = tmp.join(format!("{name}.tar"));
        docker_save(umoci, digest, oci_form, extra, &file);
        ok(
            &[
                "stages",
                "import",
                &format!("docker-archive:{}", file.display()),
                "--image",
                name,
                "--stage",
                "dockerfile",
            ],
            stages,
        );
    }
}

/// An oci-archive (`oa`): a tar of umoci's layout, selected by its ref name, imported as
/// image `ociarch`, stage `from`.
fn import_an_oci_archive(umoci: &Path, oa: &Path, stages: &Path) {
    let out = run(bin("tar").arg("-cf").arg(oa).arg("-C").arg(umoci).arg("."));
    assert_success(&out);
    ok(
        &[
            "stages",
            "import",
            &format!("oci-archive:{}:latest", oa.display()),
            "--image",
            "ociarch",
            "--stage",
            "from",
        ],
        stages,
    );
}

/// The images from the docker archives keep the source's Env, Cmd, WorkingDir, labels
/// and diff IDs, as OCI manifests with gzip layers.
fn the_docker_archives_keep_their_config_and_diff_ids(
    sk: &Skopeo,
    repo: &str,
    extra: &Value,
    src_cfg: &Value,
) {
    for name in ["legacy", "ocifmt"] {
        let cfg = sk.inspect_config(&format!("{repo}/{name}:v1"));
        for k in ["Env", "Cmd", "WorkingDir"] {
            assert_eq!(cfg["config"][k], extra[k], "{name} {k}");
        }
        assert_eq!(cfg["config"]["Labels"]["org.example"], "kept", "{name}");
        assert_eq!(cfg["rootfs"], src_cfg["rootfs"], "{name}: same diff_ids");
        let raw: Value =
            serde_json::from_slice(&sk.inspect_raw(&format!("{repo}/{name}:v1"))).unwrap();
        assert_eq!(
            raw["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        for l in raw["layers"].as_array().unwrap() {
            assert_eq!(
                l["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip",
                "{name}"
            );
        }
    }
}
