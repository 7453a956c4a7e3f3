//! `stages add` of a directory: reproducible (the same tree gives the same digests whatever
//! its mtimes; `SOURCE_DATE_EPOCH` changes them), its layer unpacked by the system `tar`
//! to the same tree (modes, a symlink, a hard link, an empty directory, a long path) with
//! numeric owners and no names in the headers, and a second stage on top of its parent.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::support::cmd::{assert_success, bin, run, werf_push};
use crate::support::layouts::layer_digests;
use crate::support::stages::{entries, json_out, manifest, ok};
use serde_json::{json, Value};
use tempfile::TempDir;

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
    let a = the_same_tree_gives_the_same_digests(&src, &s1, &tmp.path().join("s2"));
    source_date_epoch_changes_the_layer(&src, &tmp.path().join("s3"), &a);
    let layer = s1.join("blobs/sha256").join(
        a["layer_digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:"),
    );
    tar_unpacks_the_layer_to_the_same_tree(&layer, &tmp.path().join("unpacked"), &src);
    headers_are_numeric_nameless_and_ordered(&layer, &a);
    a_second_stage_sits_on_its_parent(&tmp.path().join("top"), &s1, &a);
}

/// `stages add --json` of `src` as stage `from` of image `app` into `stages`.
fn add(src: &Path, stages: &Path) -> Value {
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
}

/// Into `s1` and, after touching a file, into `s2`: mtimes do not matter. Twice into the
/// same storage: the same, nothing added. Returns the first add's answer.
fn the_same_tree_gives_the_same_digests(src: &Path, s1: &Path, s2: &Path) -> Value {
    let a = add(src, s1);
    // Touch everything: mtimes must not matter.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(src.join("bin/run"), b"#!/bin/sh\necho hi\n").unwrap();
    let b = add(src, s2);
    assert_eq!(
        a["digest"], b["digest"],
        "same directory, same manifest digest"
    );
    assert_eq!(a["layer_digest"], b["layer_digest"]);
    assert_eq!(a["signature"], b["signature"]);
    // Twice into the same storage: the same, nothing added.
    let c = add(src, s1);
    assert_eq!(a["digest"], c["digest"]);
    assert_eq!(entries(s1).len(), 1);
    a
}

/// SOURCE_DATE_EPOCH changes the mtimes, so the digest.
fn source_date_epoch_changes_the_layer(src: &Path, stages: &Path, a: &Value) {
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
    .arg(src)
    .arg("--stages-dir")
    .arg(stages)
    .env("SOURCE_DATE_EPOCH", "1700000000");
    let d = json_out(&run(&mut cmd));
    assert_ne!(a["layer_digest"], d["layer_digest"]);
}

/// The system tar unpacks the layer to the same tree, the hard link kept.
fn tar_unpacks_the_layer_to_the_same_tree(layer: &Path, out_dir: &Path, src: &Path) {
    std::fs::create_dir(out_dir).unwrap();
    assert_success(&run(bin("tar")
        .arg("-xzpf")
        .arg(layer)
        .arg("-C")
        .arg(out_dir)));
    assert_eq!(tree(out_dir), tree(src));
    let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
    assert_eq!(
        ino(&out_dir.join("secret")),
        ino(&out_dir.join("secret-hard")),
        "hard link kept"
    );
}

/// Headers: numeric 0/0, no names, mtime 0, a directory before its files; diff_id is
/// the tar's sha256.
fn headers_are_numeric_nameless_and_ordered(layer: &Path, a: &Value) {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&std::fs::read(layer).unwrap()[..])
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
}

/// A second stage on top: parent's layers then the new one; config has both diff_ids.
fn a_second_stage_sits_on_its_parent(top: &Path, s1: &Path, a: &Value) {
    std::fs::create_dir(top).unwrap();
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
        s1,
    ));
    let m = manifest(s1, e["digest"].as_str().unwrap());
    assert_eq!(
        layer_digests(&m),
        vec![
            a["layer_digest"].as_str().unwrap(),
            e["layer_digest"].as_str().unwrap()
        ]
    );
    let cfg = manifest(s1, m["config"]["digest"].as_str().unwrap());
    assert_eq!(
        cfg["rootfs"]["diff_ids"],
        json!([a["diff_id"], e["diff_id"]])
    );
    assert_eq!(cfg["config"]["Labels"]["io.werf.stage"], "install");
    ok(&["stages", "list"], s1);
}
