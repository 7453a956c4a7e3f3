//! Compression: layers compressed on every core with bytes that do not depend on
//! the number of threads (`stages add` with 1 and 8 threads, gzip and zstd), zstd layers
//! that the system tools unpack and that skopeo reads back from a real docker-registry
//! after `publish --with-stages`, and `stages import` of a docker archive keeping a layer
//! that is already compressed byte for byte while compressing a plain one.

use std::io::{Read, Write};
use std::path::Path;

use crate::support::cmd::{assert_success, bin, run, sha256_digest, werf_push, Output};
use crate::support::layouts::{layer_digests, read_blob};
use crate::support::registry::Registry;
use crate::support::skopeo::Skopeo;
use serde_json::{json, Value};
use tempfile::TempDir;

fn wp(args: &[&str], stages: &Path, threads: Option<&str>) -> Value {
    let mut c = werf_push();
    c.args(args).arg("--stages-dir").arg(stages).arg("--json");
    if let Some(n) = threads {
        c.env("WERF_PUSH_LAYER_THREADS", n);
    }
    let out: Output = run(&mut c);
    assert_success(&out);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("JSON: {e}\n{}", out.describe()))
}

/// Compressible text made from a seed: words and numbers, like source files.
fn text(len: usize, seed: u64) -> Vec<u8> {
    let words = [
        "def ", "self", "return ", "import ", "\n    ", "None", " = ", "(x)",
    ];
    let mut s = seed | 1;
    let mut out = Vec::with_capacity(len + 32);
    while out.len() < len {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        out.extend_from_slice(words[(s % 8) as usize].as_bytes());
        if s.is_multiple_of(5) {
            out.extend_from_slice(format!("{}", s % 100_000).as_bytes());
        }
    }
    out.truncate(len);
    out
}

/// 24 files of 1 MiB in 3 directories: many gzip blocks and several zstd jobs.
fn big_tree(dir: &Path) {
    for i in 0..24u64 {
        let d = dir.join(format!("pkg{}", i % 3));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("mod{i}.py")), text(1 << 20, i + 1)).unwrap();
    }
}

fn decompress(media_type: &str, blob: &[u8]) -> Vec<u8> {
    let mut tar = Vec::new();
    match media_type {
        "application/vnd.oci.image.layer.v1.tar+gzip" => {
            flate2::read::GzDecoder::new(blob)
                .read_to_end(&mut tar)
                .unwrap();
        }
        "application/vnd.oci.image.layer.v1.tar+zstd" => {
            tar = zstd::decode_all(blob).unwrap();
        }
        other => panic!("unexpected layer media type {other}"),
    }
    tar
}

#[test]
fn add_gives_the_same_digest_with_1_and_8_threads_and_system_tools_unpack_it() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    big_tree(&src);
    for (compression, unpack) in [("gzip", "-xzf"), ("zstd", "--zstd -xf")] {
        let add = |name: &str, threads: &str| {
            let stages = tmp.path().join(format!("{compression}-{name}"));
            let args = [
                "stages",
                "add",
                "--image",
                "app",
                "--stage",
                "from",
                "--compression",
                compression,
                "--from-dir",
                src.to_str().unwrap(),
            ];
            (wp(&args, &stages, Some(threads)), stages)
        };
        let (one, stages) = add("one", "1");
        let (eight, _) = add("eight", "8");
        assert_eq!(one["layer_digest"], eight["layer_digest"], "{compression}");
        assert_eq!(one["digest"], eight["digest"], "{compression}");
        // The same through the flag, which wins over the environment.
        let flag = tmp.path().join(format!("{compression}-flag"));
        let mut args = vec!["stages", "add", "--image", "app", "--stage", "from"];
        args.extend(["--compression", compression, "--layer-threads", "3"]);
        args.extend(["--from-dir", src.to_str().unwrap()]);
        assert_eq!(
            wp(&args, &flag, Some("1"))["layer_digest"],
            one["layer_digest"]
        );
        let m: Value =
            serde_json::from_slice(&read_blob(&stages, one["digest"].as_str().unwrap())).unwrap();
        let layer = &m["layers"][0];
        let mt = layer["mediaType"].as_str().unwrap();
        assert_eq!(
            mt,
            format!("application/vnd.oci.image.layer.v1.tar+{compression}")
        );
        let blob = read_blob(&stages, layer["digest"].as_str().unwrap());
        let tar = decompress(mt, &blob);
        assert_eq!(sha256_digest(&tar), one["diff_id"].as_str().unwrap());
        // The system tar (gzip, zstd) unpacks it to the same files.
        let out_dir = tmp.path().join(format!("{compression}-unpacked"));
        std::fs::create_dir(&out_dir).unwrap();
        let path = tmp.path().join(format!("{compression}-layer"));
        std::fs::write(&path, &blob).unwrap();
        let mut cmd = bin("tar");
        cmd.args(unpack.split(' '))
            .arg(&path)
            .arg("-C")
            .arg(&out_dir);
        assert_success(&run(&mut cmd));
        for f in ["pkg0/mod0.py", "pkg2/mod23.py"] {
            assert!(std::fs::read(out_dir.join(f)).unwrap() == std::fs::read(src.join(f)).unwrap());
        }
    }
}

#[test]
fn a_zstd_stage_is_published_and_skopeo_reads_it() {
    let reg = Registry::start();
    let sk = Skopeo::new();
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("app")).unwrap();
    std::fs::write(src.join("app/main.py"), text(300 << 10, 7)).unwrap();
    let stages = tmp.path().join("stages");
    let added = wp(
        &[
            "stages",
            "add",
            "--image",
            "app",
            "--stage",
            "from",
            "--compression",
            "zstd",
            "--from-dir",
            src.to_str().unwrap(),
        ],
        &stages,
        None,
    );
    let repo = format!("{}/zst", reg.host);
    wp(
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
        &stages,
        None,
    );
    let sig = added["signature"].as_str().unwrap();
    for reference in [
        format!("{repo}/app:v1"),
        format!("{repo}:image-stage-{sig}"),
    ] {
        let raw: Value = serde_json::from_slice(&sk.inspect_raw(&reference)).unwrap();
        assert_eq!(
            layer_digests(&raw),
            vec![added["layer_digest"].as_str().unwrap()]
        );
        assert_eq!(
            raw["layers"][0]["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
    }
    // skopeo decompresses the zstd layer itself to write a `dir:` copy with plain tars.
    let back = tmp.path().join("back");
    sk.copy(
        &format!("docker://{repo}/app:v1"),
        &format!("dir:{}", back.display()),
        &["--dest-decompress"],
    );
    let mut found = false;
    for e in std::fs::read_dir(&back).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        found |= sha256_digest(&bytes) == added["diff_id"].as_str().unwrap();
    }
    assert!(found, "skopeo's copy holds the layer's tar (diff_id)");
}

/// A `docker save` archive in the OCI-layout-inside form (Docker 25+ with the containerd
/// image store, which keeps layers compressed): `layers` are (file bytes, diff_id).
fn docker_archive(out: &Path, layers: &[(Vec<u8>, String)]) {
    let cfg = serde_json::to_vec(
        &json!({"architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| &l.1).collect::<Vec<_>>()}}),
    )
    .unwrap();
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path, data).unwrap();
    };
    let path = |d: &[u8]| format!("blobs/sha256/{}", &sha256_digest(d)[7..]);
    add(&path(&cfg), &cfg);
    for (bytes, _) in layers {
        add(&path(bytes), bytes);
    }
    let mj = json!([{"Config": path(&cfg), "RepoTags": ["app:v1"],
        "Layers": layers.iter().map(|l| path(&l.0)).collect::<Vec<_>>()}]);
    add("manifest.json", &serde_json::to_vec(&mj).unwrap());
    b.finish().unwrap();
}

#[test]
fn import_keeps_compressed_layers_as_they_are_and_compresses_plain_ones() {
    let tmp = TempDir::new().unwrap();
    let tar_of = |name: &str, seed: u64| {
        let mut b = tar::Builder::new(Vec::new());
        let data = text(200 << 10, seed);
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, &data[..]).unwrap();
        b.into_inner().unwrap()
    };
    let (t1, t2, t3) = (tar_of("a", 1), tar_of("b", 2), tar_of("c", 3));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&t1).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&t2[..], 1).unwrap();
    let layers = [
        (gz.clone(), sha256_digest(&t1)),
        (zst.clone(), sha256_digest(&t2)),
        (t3.clone(), sha256_digest(&t3)),
    ];
    let file = tmp.path().join("app.tar");
    docker_archive(&file, &layers);
    let stages = tmp.path().join("stages");
    let done = wp(
        &[
            "stages",
            "import",
            &format!("docker-archive:{}", file.display()),
            "--image",
            "app",
            "--stage",
            "dockerfile",
            "--compression",
            "zstd",
        ],
        &stages,
        None,
    );
    let m: Value =
        serde_json::from_slice(&read_blob(&stages, done["digest"].as_str().unwrap())).unwrap();
    let l = m["layers"].as_array().unwrap();
    let gzip_t = "application/vnd.oci.image.layer.v1.tar+gzip";
    let zstd_t = "application/vnd.oci.image.layer.v1.tar+zstd";
    // The gzip and the zstd layer: the same bytes, so the same digests.
    assert_eq!(l[0]["digest"], sha256_digest(&gz));
    assert_eq!(l[0]["mediaType"], gzip_t);
    assert_eq!(l[1]["digest"], sha256_digest(&zst));
    assert_eq!(l[1]["mediaType"], zstd_t);
    // The plain tar became zstd, as asked.
    assert_eq!(l[2]["mediaType"], zstd_t);
    let blob = read_blob(&stages, l[2]["digest"].as_str().unwrap());
    assert!(decompress(zstd_t, &blob) == t3);
}
