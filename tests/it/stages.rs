//! The stages storage written without a daemon. `stages import` from
//! layouts written by the real umoci and skopeo and from `docker save` tarballs (both forms,
//! built here), `stages add` (reproducible, unpacked by the system `tar`), `stages pull`
//! from a real docker-registry (round trip with `publish --with-stages`, a cut download
//! resumed and a corrupted one rejected through a proxy), `stages gc`, the writer lock and
//! a failed import that leaves the storage as it was. Results are read back with skopeo.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::support::cmd::{assert_failure, assert_success, bin, run, werf_push, Output};
use crate::support::cutproxy::{CutProxy, Fault};
use crate::support::layouts::{
    blob_files, index_json, layer_digests, random_bytes, read_blob, ref_digest, referenced_blobs,
    umoci_image,
};
use crate::support::registry::Registry;
use crate::support::skopeo::Skopeo;
use serde_json::{json, Value};
use tempfile::TempDir;

pub(crate) fn wp(args: &[&str], stages: &Path) -> Output {
    let mut c = werf_push();
    c.args(args).arg("--stages-dir").arg(stages);
    run(&mut c)
}

pub(crate) fn ok(args: &[&str], stages: &Path) -> Output {
    let out = wp(args, stages);
    assert_success(&out);
    out
}

pub(crate) fn json_out(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("JSON: {e}\n{}", out.describe()))
}

/// (image, stage, signature, digest) of every entry.
pub(crate) fn entries(stages: &Path) -> BTreeSet<(String, String, String, String)> {
    index_json(stages)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let a = &m["annotations"];
            let s = |k: &str| a[k].as_str().unwrap().to_string();
            assert_eq!(
                a["org.opencontainers.image.ref.name"],
                a["io.werf.signature"]
            );
            (
                s("io.werf.image"),
                s("io.werf.stage"),
                s("io.werf.signature"),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn manifest(layout: &Path, digest: &str) -> Value {
    serde_json::from_slice(&read_blob(layout, digest)).unwrap()
}

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
    for (name, oci_form) in [("legacy", false), ("ocifmt", true)] {
        let file = tmp.path().join(format!("{name}.tar"));
        docker_save(&umoci, &digest, oci_form, &extra, &file);
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
            &stages,
        );
    }
    // An oci-archive: a tar of umoci's layout, selected by its ref name.
    let oa = tmp.path().join("layout.tar");
    let out = run(bin("tar")
        .arg("-cf")
        .arg(&oa)
        .arg("-C")
        .arg(&umoci)
        .arg("."));
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
        &stages,
    );
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
    let got = published_layers(&sk, &format!("{repo}/ociarch:v1"));
    assert_eq!(got, layer_digests(&manifest(&umoci, &digest)));
}

/// A tree with modes, a symlink, a hard link, an empty dir and a long path.
fn make_tree(dir: &Path) {
    let long = "d".repeat(60);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join(format!("{long}/{long}"))).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(dir.join("bin/run"), b"#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(dir.join("bin/run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("secret"), b"s3cr3t").unwrap();
    std::fs::set_permissions(dir.join("secret"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(dir.join(format!("{long}/{long}/deep.txt")), b"deep").unwrap();
    std::os::unix::fs::symlink("bin/run", dir.join("run-link")).unwrap();
    std::os::unix::fs::symlink("/nowhere/at/all", dir.join("dangling")).unwrap();
    std::fs::hard_link(dir.join("secret"), dir.join("secret-hard")).unwrap();
    std::fs::set_permissions(dir.join("empty"), std::fs::Permissions::from_mode(0o750)).unwrap();
}

/// path -> (kind, mode, content or link target) of every entry under `dir`.
fn tree(dir: &Path) -> Vec<(String, char, u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let mode = m.permissions().mode() & 0o7777;
            if m.file_type().is_symlink() {
                out.push((
                    rel,
                    'l',
                    0,
                    std::fs::read_link(&p)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                ));
            } else if m.is_dir() {
                out.push((rel, 'd', mode, Vec::new()));
                stack.push(p);
            } else {
                out.push((rel, 'f', mode, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn add_is_reproducible_and_its_layer_unpacks_with_tar() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src);
    let s1 = tmp.path().join("s1");
    let s2 = tmp.path().join("s2");
    let add = |stages: &Path| {
        json_out(&ok(
            &[
                "stages",
                "add",
                "--image",
                "app",
                "--stage",
                "from",
                "--from-dir",
                src.to_str().unwrap(),
                "--json",
            ],
            stages,
        ))
    };
    let a = add(&s1);
    // Touch everything: mtimes must not matter.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(src.join("bin/run"), b"#!/bin/sh\necho hi\n").unwrap();
    let b = add(&s2);
    assert_eq!(
        a["digest"], b["digest"],
        "same directory, same manifest digest"
    );
    assert_eq!(a["layer_digest"], b["layer_digest"]);
    assert_eq!(a["signature"], b["signature"]);
    // Twice into the same storage: the same, nothing added.
    let c = add(&s1);
    assert_eq!(a["digest"], c["digest"]);
    assert_eq!(entries(&s1).len(), 1);
    // SOURCE_DATE_EPOCH changes the mtimes, so the digest.
    let mut cmd = werf_push();
    cmd.args([
        "stages",
        "add",
        "--image",
        "app",
        "--stage",
        "from",
        "--json",
        "--from-dir",
    ])
    .arg(&src)
    .arg("--stages-dir")
    .arg(tmp.path().join("s3"))
    .env("SOURCE_DATE_EPOCH", "1700000000");
    let d = json_out(&run(&mut cmd));
    assert_ne!(a["layer_digest"], d["layer_digest"]);
    // The system tar unpacks the layer to the same tree.
    let layer = s1.join("blobs/sha256").join(
        a["layer_digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:"),
    );
    let out_dir = tmp.path().join("unpacked");
    std::fs::create_dir(&out_dir).unwrap();
    assert_success(&run(bin("tar")
        .arg("-xzpf")
        .arg(&layer)
        .arg("-C")
        .arg(&out_dir)));
    assert_eq!(tree(&out_dir), tree(&src));
    let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
    assert_eq!(
        ino(&out_dir.join("secret")),
        ino(&out_dir.join("secret-hard")),
        "hard link kept"
    );
    // Headers: numeric 0/0, no names, mtime 0; diff_id is the tar's sha256.
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&std::fs::read(&layer).unwrap()[..])
        .read_to_end(&mut tar)
        .unwrap();
    assert_eq!(
        format!("sha256:{}", crate::support::cmd::sha256_hex(&tar)),
        a["diff_id"].as_str().unwrap()
    );
    let mut ar = tar::Archive::new(&tar[..]);
    let mut names = Vec::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        assert_eq!(
            (h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()),
            (0, 0, 0)
        );
        assert_eq!(h.username().unwrap(), Some(""));
        names.push(e.path().unwrap().to_string_lossy().to_string());
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert!(
        names.iter().position(|n| n == "bin").unwrap()
            < names.iter().position(|n| n == "bin/run").unwrap()
    );
    assert_eq!(names.len(), sorted.len());
    // A second stage on top: parent's layers then the new one; config has both diff_ids.
    let top = tmp.path().join("top");
    std::fs::create_dir(&top).unwrap();
    std::fs::write(top.join("app.txt"), b"app").unwrap();
    let e = json_out(&ok(
        &[
            "stages",
            "add",
            "--image",
            "app",
            "--stage",
            "install",
            "--from-dir",
            top.to_str().unwrap(),
            "--parent",
            a["signature"].as_str().unwrap(),
            "--json",
        ],
        &s1,
    ));
    let m = manifest(&s1, e["digest"].as_str().unwrap());
    assert_eq!(
        layer_digests(&m),
        vec![
            a["layer_digest"].as_str().unwrap(),
            e["layer_digest"].as_str().unwrap()
        ]
    );
    let cfg = manifest(&s1, m["config"]["digest"].as_str().unwrap());
    assert_eq!(
        cfg["rootfs"]["diff_ids"],
        json!([a["diff_id"], e["diff_id"]])
    );
    assert_eq!(cfg["config"]["Labels"]["io.werf.stage"], "install");
    ok(&["stages", "list"], &s1);
}

/// Runner A's storage: image backend (from, install with a large layer), frontend (from).
pub(crate) fn runner_a(tmp: &Path, big: usize) -> PathBuf {
    let stages = tmp.join("a-stages");
    let dir = |name: &str, data: Vec<u8>| {
        let d = tmp.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("data"), data).unwrap();
        d
    };
    let from = dir("from", b"base".to_vec());
    let install = dir("install", random_bytes(7, big));
    let front = dir("front", b"frontend".to_vec());
    let f = json_out(&ok(
        &[
            "stages",
            "add",
            "--image",
            "backend",
            "--stage",
            "from",
            "--from-dir",
            from.to_str().unwrap(),
            "--json",
        ],
        &stages,
    ));
    ok(
        &[
            "stages",
            "add",
            "--image",
            "backend",
            "--stage",
            "install",
            "--from-dir",
            install.to_str().unwrap(),
            "--parent",
            f["signature"].as_str().unwrap(),
        ],
        &stages,
    );
    ok(
        &[
            "stages",
            "add",
            "--image",
            "frontend",
            "--stage",
            "from",
            "--from-dir",
            front.to_str().unwrap(),
        ],
        &stages,
    );
    stages
}

#[test]
fn round_trip_publish_with_stages_pull_then_publish_is_up_to_date() {
    round_trip(&Registry::start());
}

/// `publish --with-stages` from runner A, `stages pull` on runner B (tag list paged), then
/// a publish from B is up to date; run on the filesystem and on object storage
/// (`object_storage.rs`).
pub(crate) fn round_trip(reg: &Registry) {
    let tmp = TempDir::new().unwrap();
    let a = runner_a(tmp.path(), 300 << 10);
    let repo = format!("{}/rt", reg.host);
    let publish = |stages: &Path| {
        json_out(&ok(
            &[
                "publish",
                "--dir",
                tmp.path().to_str().unwrap(),
                "--repo",
                &repo,
                "--tag-custom",
                "v1",
                "--with-stages",
                "--json",
            ],
            stages,
        ))
    };
    let first = publish(&a);
    assert!(first["bytes_sent"].as_u64().unwrap() > 0);
    // Runner B: an empty directory. The tag list comes in pages of one through a proxy
    // (distribution 2.8 does not page; distribution 3, GHCR and Harbor do): every Link is
    // followed.
    let pager = CutProxy::start(&reg.host, "sha256:none", Fault::PageTags(1));
    let b = tmp.path().join("b").join(".werf/stages");
    let paged_repo = format!("{}/rt", pager.host);
    let pulled = json_out(&ok(
        &[
            "stages",
            "pull",
            "--repo",
            &paged_repo,
            "--page-size",
            "2",
            "--json",
        ],
        &b,
    ));
    assert_eq!(pulled["pulled"].as_array().unwrap().len(), 3, "{pulled}");
    assert_eq!(entries(&b), entries(&a), "same stages, same digests");
    let lists = pager.requests("/tags/list");
    assert_eq!(lists.len(), 3, "one request per page of one tag: {lists:?}");
    assert!(lists[0].0.contains("/v2/rt/tags/list?n=2 "), "{lists:?}");
    assert!(lists[1].0.contains("last=image-stage-"), "{lists:?}");
    let second = publish(&b);
    for t in second["tags"].as_array().unwrap() {
        assert_eq!(t["status"], "up-to-date", "{second}");
    }
    assert_eq!(
        second["tags"].as_array().unwrap().len(),
        first["tags"].as_array().unwrap().len()
    );
    assert_eq!(second["bytes_sent"], 0, "{second}");
    // Pulling again fetches nothing; pulling one image only takes that image.
    let again = json_out(&ok(&["stages", "pull", "--repo", &repo, "--json"], &b));
    assert_eq!(again["pulled"].as_array().unwrap().len(), 0);
    assert_eq!(again["blobs_fetched"], 0);
    let c = tmp.path().join("c");
    let only = json_out(&ok(
        &["stages", "pull", "--repo", &repo, "frontend", "--json"],
        &c,
    ));
    let imgs: BTreeSet<&str> = only["pulled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["image"].as_str().unwrap())
        .collect();
    assert_eq!(imgs, BTreeSet::from(["frontend"]));
}

pub(crate) fn big_layer(stages: &Path) -> String {
    entries(stages)
        .iter()
        .filter(|e| e.1 == "install")
        .map(|e| layer_digests(&manifest(stages, &e.3)).pop().unwrap())
        .next()
        .unwrap()
}

#[test]
fn pull_resumes_a_cut_download_and_rejects_a_corrupted_blob() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let a = runner_a(tmp.path(), 2 << 20);
    let repo = format!("{}/cut", reg.host);
    ok(
        &[
            "publish",
            "--dir",
            tmp.path().to_str().unwrap(),
            "--repo",
            &repo,
            "--tag-custom",
            "v1",
            "--with-stages",
        ],
        &a,
    );
    let blob = big_layer(&a);
    // Cut the first GET of the big layer after 700 KiB: the pull resumes with Range.
    let cut = CutProxy::start(&reg.host, &blob, Fault::CutAfter(700 << 10));
    let b = tmp.path().join("b");
    let out = json_out(&ok(
        &[
            "stages",
            "pull",
            "--repo",
            &format!("{}/cut", cut.host),
            "--json",
        ],
        &b,
    ));
    assert!(out["resumed"].as_u64().unwrap() >= 1, "{out}");
    let gets = cut.requests(&format!("GET /v2/cut/blobs/{blob}"));
    assert!(gets.len() >= 2, "{gets:?}");
    assert_eq!(gets[0].1, None);
    assert!(
        gets[1].1.as_deref().unwrap_or("").starts_with("bytes="),
        "{gets:?}"
    );
    assert_ne!(gets[1].1.as_deref(), Some("bytes=0-"));
    assert_eq!(entries(&b), entries(&a));
    assert!(blob_files(&b).contains(&blob));
    // A proxy that flips one byte of that blob: rejected and never placed; the stage that
    // needs it fails alone (exit 1, in `failed`), the other stages are pulled.
    let bad = CutProxy::start(&reg.host, &blob, Fault::Corrupt(1000));
    let c = tmp.path().join("c");
    let out = wp(
        &[
            "stages",
            "pull",
            "--repo",
            &format!("{}/cut", bad.host),
            "--json",
        ],
        &c,
    );
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("rejected") && out.stderr.contains("corrupted"),
        "{}",
        out.describe()
    );
    assert!(
        !blob_files(&c).contains(&blob),
        "the corrupt blob was placed"
    );
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let install: Vec<_> = entries(&a)
        .into_iter()
        .filter(|e| e.1 == "install")
        .collect();
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(
        failed[0]["tag"],
        format!("image-stage-{}", install[0].2),
        "{report}"
    );
    let others: BTreeSet<_> = entries(&a)
        .into_iter()
        .filter(|e| e.1 != "install")
        .collect();
    assert_eq!(entries(&c), others, "the other stages are pulled");
}

#[test]
fn gc_removes_exactly_the_unreferenced_blobs() {
    let tmp = TempDir::new().unwrap();
    let stages = runner_a(tmp.path(), 10 << 10);
    let referenced: BTreeSet<String> = entries(&stages)
        .iter()
        .flat_map(|e| referenced_blobs(&stages, &e.3))
        .collect();
    assert_eq!(blob_files(&stages), referenced, "nothing to collect yet");
    // Replace frontend's from stage: its old manifest, config and layer become garbage.
    let old: BTreeSet<String> = entries(&stages)
        .iter()
        .filter(|e| e.0 == "frontend")
        .flat_map(|e| referenced_blobs(&stages, &e.3))
        .collect();
    let d = tmp.path().join("front2");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("data"), b"frontend v2").unwrap();
    ok(
        &[
            "stages",
            "add",
            "--image",
            "frontend",
            "--stage",
            "from",
            "--from-dir",
            d.to_str().unwrap(),
        ],
        &stages,
    );
    // Garbage of other kinds: a stray blob and a temporary file of a crashed writer.
    let stray = b"stray blob".to_vec();
    let stray_d = crate::support::cmd::sha256_digest(&stray);
    std::fs::write(
        stages
            .join("blobs/sha256")
            .join(stray_d.trim_start_matches("sha256:")),
        &stray,
    )
    .unwrap();
    std::fs::write(stages.join("blobs/sha256/.tmp-999-0-blob"), b"partial").unwrap();
    let now: BTreeSet<String> = entries(&stages)
        .iter()
        .flat_map(|e| referenced_blobs(&stages, &e.3))
        .collect();
    let mut want: BTreeSet<String> = old.difference(&now).cloned().collect();
    want.insert(stray_d);
    assert_eq!(want.len(), 4, "{want:?}");
    let names = |v: &Value, kind: &str| -> BTreeSet<String> {
        v["removed"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == kind)
            .map(|i| {
                format!(
                    "sha256:{}",
                    Path::new(i["path"].as_str().unwrap())
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                )
            })
            .collect()
    };
    let before = blob_files(&stages);
    let dry = json_out(&ok(&["stages", "gc", "--dry-run", "--json"], &stages));
    assert_eq!(names(&dry, "blob"), want);
    assert_eq!(names(&dry, "temporary").len(), 1);
    assert_eq!(blob_files(&stages), before, "dry run removes nothing");
    let text = ok(&["stages", "gc", "--dry-run"], &stages);
    assert!(
        text.stdout.contains("would remove 5 files"),
        "{}",
        text.describe()
    );
    let done = json_out(&ok(&["stages", "gc", "--json"], &stages));
    assert_eq!(names(&done, "blob"), want);
    assert_eq!(
        blob_files(&stages),
        now,
        "exactly the referenced blobs remain"
    );
    assert!(!stages.join("blobs/sha256/.tmp-999-0-blob").exists());
    ok(&["stages", "list"], &stages);
    let again = json_out(&ok(&["stages", "gc", "--json"], &stages));
    assert!(again["removed"].as_array().unwrap().is_empty());
}

#[test]
fn a_second_writer_is_refused_and_a_failed_import_changes_nothing() {
    let tmp = TempDir::new().unwrap();
    let stages = runner_a(tmp.path(), 1 << 10);
    let index_before = std::fs::read(stages.join("index.json")).unwrap();
    let blobs_before = blob_files(&stages);
    // Another process holds the lock (an open file description of this test process).
    let held = std::fs::OpenOptions::new()
        .write(true)
        .open(stages.join("LOCK"))
        .unwrap();
    held.try_lock().unwrap();
    let src = tmp.path().join("from");
    for args in [
        vec![
            "stages",
            "add",
            "--image",
            "x",
            "--stage",
            "from",
            "--from-dir",
            src.to_str().unwrap(),
        ],
        vec!["stages", "gc"],
    ] {
        let out = wp(&args, &stages);
        assert_failure(&out);
        assert!(
            out.stderr.contains("is being written by"),
            "{}",
            out.describe()
        );
        assert!(
            out.stderr.contains("wait for it to finish"),
            "{}",
            out.describe()
        );
        // The one lock error carries the one hint, once.
        assert_eq!(
            out.stderr
                .matches("another werf-push writes this stages storage")
                .count(),
            1,
            "{}",
            out.describe()
        );
    }
    held.unlock().unwrap();
    drop(held);
    // A layout whose layer is corrupted (same size, other bytes): the import fails after
    // copying what it could, and leaves the storage exactly as it was.
    let layout = tmp.path().join("umoci");
    let digest = umoci_image(&layout);
    let m = manifest(&layout, &digest);
    let layer = layer_digests(&m).pop().unwrap();
    let p = crate::support::layouts::blob_path(&layout, &layer);
    let mut bytes = std::fs::read(&p).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&p, bytes).unwrap();
    let out = wp(
        &[
            "stages",
            "import",
            &format!("oci:{}:latest", layout.display()),
            "--image",
            "x",
            "--stage",
            "from",
        ],
        &stages,
    );
    assert_failure(&out);
    assert!(out.stderr.contains(&layer), "{}", out.describe());
    assert_eq!(
        std::fs::read(stages.join("index.json")).unwrap(),
        index_before
    );
    assert_eq!(blob_files(&stages), blobs_before);
    assert!(!std::fs::read_dir(stages.join("blobs/sha256"))
        .unwrap()
        .any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".tmp-")));
    // Bad input: clear errors, non-zero exit.
    for (args, want) in [
        (
            vec![
                "stages", "import", "dir:/x", "--image", "x", "--stage", "from",
            ],
            "is not supported",
        ),
        (
            vec![
                "stages",
                "add",
                "--image",
                "x",
                "--stage",
                "nope",
                "--from-dir",
                src.to_str().unwrap(),
            ],
            // Refused by the command line, with the names it takes (also offered by
            // completion).
            "invalid value 'nope' for '--stage <STAGE>'",
        ),
        (
            vec![
                "stages",
                "add",
                "--image",
                "x",
                "--stage",
                "from",
                "--from-dir",
                src.to_str().unwrap(),
                "--parent",
                "abc",
            ],
            "--parent abc: no stage",
        ),
        (
            vec![
                "stages",
                "add",
                "--image",
                "x",
                "--stage",
                "from",
                "--from-dir",
                src.to_str().unwrap(),
                "--signature",
                "xyz",
            ],
            "is not hex",
        ),
    ] {
        let out = wp(&args, &stages);
        assert_failure(&out);
        assert!(out.stderr.contains(want), "{want}: {}", out.describe());
    }
    assert_eq!(
        std::fs::read(stages.join("index.json")).unwrap(),
        index_before
    );
}
