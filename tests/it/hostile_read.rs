//! Reading what a checkout, a layout or an archive holds while it changes or explodes: a
//! file that shrinks while `stages add` packs it is an error naming it (never a short tar
//! entry that swallows the next file), and the storage is left as it was; a blob whose
//! bytes change on disk while it is pushed never completes its upload, whether or not the
//! registry checks digests (no tag, no manifest, no session left); a zstd bomb in an
//! archive is refused once it expands past the documented bound, long before its end.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::cmd::{run_timeout, werf_push};
use crate::support::layouts::{image, Format};
use crate::support::proxy::{Proxy, ProxyConfig};
use crate::support::registry::Registry;
use crate::support::scenario::{assert_no_panic, oci, push, tmp, upload_sessions};

/// Names of the blob files (temporaries included) in the storage at `stages`.
fn blob_dir_entries(stages: &Path) -> Vec<String> {
    std::fs::read_dir(stages.join("blobs/sha256"))
        .map(|it| {
            it.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_file_that_shrinks_while_it_is_packed_is_an_error_naming_it() {
    let t = tmp();
    let from = t.path().join("from");
    std::fs::create_dir(&from).unwrap();
    // Sparse: 4 GiB that cost no disk, and take seconds to compress.
    let big = from.join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    std::fs::write(from.join("next"), b"the file after it").unwrap();
    let stages = t.path().join("stages");
    // Once the layer is being written (its temporary blob exists) and a little later, the
    // file is cut to 1 MiB under the reader.
    let cutter = {
        let (stages, big) = (stages.clone(), big.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(60) {
                if blob_dir_entries(&stages)
                    .iter()
                    .any(|n| n.starts_with(".tmp-"))
                {
                    std::thread::sleep(Duration::from_millis(300));
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&big)
                        .unwrap()
                        .set_len(1 << 20)
                        .unwrap();
                    return true;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            false
        })
    };
    let mut c = werf_push();
    c.args([
        "stages",
        "add",
        "--image",
        "app",
        "--stage",
        "from",
        "--from-dir",
    ])
    .arg(&from)
    .arg("--stages-dir")
    .arg(&stages);
    let out = run_timeout(&mut c, Duration::from_secs(120));
    assert_no_panic(&out);
    assert!(cutter.join().unwrap(), "the layer was never started");
    assert!(
        !out.success(),
        "a short entry was stored\n{}",
        out.describe()
    );
    assert!(
        out.stderr
            .contains(&format!("{}: shrank while it was read", big.display())),
        "the error does not name the file\n{}",
        out.describe()
    );
    assert!(
        !stages.join("index.json").exists(),
        "index.json written\n{}",
        out.describe()
    );
    assert_eq!(
        blob_dir_entries(&stages),
        Vec::<String>::new(),
        "blobs left"
    );
}

#[test]
fn a_blob_changed_on_disk_while_it_is_pushed_never_completes_its_upload() {
    let reg = Registry::start();
    // Slow: the upload lasts about 3 s, werf-push reads the file a few MiB ahead of it.
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            throttle: Some(8 << 20),
            ..Default::default()
        },
    );
    let t = tmp();
    let layout = t.path().join("layout");
    image(&layout, &[24 << 20], 11, Format::Oci, None);
    let blob = std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    // As the upload starts, the blob's last bytes are changed in place (same size).
    let change = || {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            let arrived = proxy
                .stats()
                .arrivals
                .iter()
                .any(|(m, target)| m == "PUT" && target.contains("/blobs/uploads/"));
            if arrived {
                use std::os::unix::fs::FileExt;
                let f = std::fs::OpenOptions::new().write(true).open(&blob).unwrap();
                let len = f.metadata().unwrap().len();
                f.write_all_at(&[0x55; 1024], len - 1024).unwrap();
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    };
    let (changed, out) = std::thread::scope(|s| {
        let changer = s.spawn(change);
        let out = push(&[&oci(&layout), &format!("{}/changed:v1", proxy.host)]);
        (changer.join().unwrap(), out)
    });
    assert!(changed, "the upload never started");
    assert_eq!(out.code(), Some(3), "exit code\n{}", out.describe());
    assert!(
        out.stderr.contains("changed on disk while they were sent"),
        "{}",
        out.describe()
    );
    let answered: Vec<_> = proxy
        .stats()
        .log
        .into_iter()
        .filter(|r| r.is_upload_data() && r.len > 1 << 20 && r.status != 0)
        .collect();
    assert!(
        answered.is_empty(),
        "an upload was completed and sent to the registry: {answered:#?}"
    );
    assert!(!reg.tag_exists("changed", "v1"), "tagged");
    assert_eq!(
        upload_sessions(&reg, "changed"),
        Vec::new(),
        "sessions left"
    );
}

/// A docker-archive whose layer is a zstd bomb: 256 MiB of zeros in a few KiB.
fn zstd_bomb_archive(file: &Path) {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        std::io::Write::write_all(&mut enc, &zeros).unwrap();
    }
    let layer = enc.finish().unwrap();
    assert!(layer.len() < 256 << 10, "not a bomb: {} bytes", layer.len());
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", "0".repeat(64))]}});
    let manifest = serde_json::json!([{"Config": "c.json", "RepoTags": ["bomb:1"],
        "Layers": ["l.tar.zst"]}]);
    let mut b = tar::Builder::new(std::fs::File::create(file).unwrap());
    for (name, body) in [
        ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
        ("c.json", serde_json::to_vec(&config).unwrap()),
        ("l.tar.zst", layer),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, body.as_slice()).unwrap();
    }
    b.finish().unwrap();
}

#[test]
fn a_zstd_bomb_in_an_archive_is_refused_at_the_expansion_bound() {
    let t = tmp();
    let archive = t.path().join("bomb.tar");
    zstd_bomb_archive(&archive);
    let stages = t.path().join("stages");
    let mut c = werf_push();
    c.args(["stages", "import"])
        .arg(format!("docker-archive:{}", archive.display()))
        .args(["--image", "x", "--stage", "from", "--stages-dir"])
        .arg(&stages);
    let out = run_timeout(&mut c, Duration::from_secs(120));
    assert_no_panic(&out);
    assert!(!out.success(), "{}", out.describe());
    assert!(
        out.stderr
            .contains("expands to more than 1100 times its compressed size"),
        "not stopped at the bound (the whole bomb was expanded)\n{}",
        out.describe()
    );
    assert!(!stages.join("index.json").exists(), "{}", out.describe());
    let left: Vec<String> = blob_dir_entries(&stages);
    assert_eq!(left, Vec::<String>::new(), "blobs left");
}
