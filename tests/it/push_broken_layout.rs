//! A broken layout fails before any manifest is written: a layer missing, truncated, grown
//! or changed at the same size, or the config missing, in an image or in one child of an
//! index, fails with exit code 3 and one `error:` line naming the blob's digest and path;
//! no manifest and no tag reach the registry, and what reading the layout finds (all but
//! the same-size change) fails before any write at all.

use std::path::Path;

use serde_json::Value;

use crate::support::cmd::assert_failure;
use crate::support::layouts::{self, Format};
use crate::support::push::{
    assert_code, assert_one_line_error, assert_only_the_error, is_manifest_put, is_write,
};
use crate::support::registry::{Registry, Request};
use crate::support::scenario::{oci, push, tmp, KIB};

#[derive(Debug, Clone, Copy)]
enum Damage {
    Missing,
    Truncated,
    Grown,
    /// Same size, one byte changed: only the registry's digest check can notice.
    Corrupted,
}

fn damage(path: &Path, how: Damage) {
    match how {
        Damage::Missing => std::fs::remove_file(path).unwrap(),
        Damage::Truncated | Damage::Grown => {
            let len = std::fs::metadata(path).unwrap().len();
            let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            f.set_len(match how {
                Damage::Truncated => len / 2,
                _ => len + 1,
            })
            .unwrap();
        }
        Damage::Corrupted => {
            let mut bytes = std::fs::read(path).unwrap();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0xff;
            std::fs::write(path, bytes).unwrap();
        }
    }
}

/// Pushes `src` (image `digest`, whose blob `victim` was damaged) and checks the failure.
#[track_caller]
fn assert_broken_layout_refused(
    reg: &Registry,
    src: &Path,
    digest: &str,
    victim: &str,
    repo: &str,
    how: Damage,
) {
    let reference = format!("{}/{repo}:v1", reg.host);
    let before = reg.access_log().len();
    let out = push(&[&oci(src), &reference]);
    let log = reg.access_log_since(before);
    assert_failure(&out);
    assert_code(&out, 3);
    let line = match how {
        // Found by the registry's digest check, after other blobs went up.
        Damage::Corrupted => assert_one_line_error(&out),
        // Found by reading the layout, before any transfer.
        _ => assert_only_the_error(&out),
    };
    let path = layouts::blob_path(src, victim);
    assert!(
        line.contains(victim),
        "{how:?}: the error does not name the digest {victim}\n{}",
        out.describe()
    );
    assert!(
        line.contains(&path.display().to_string()),
        "{how:?}: the error does not name the path {}\n{}",
        path.display(),
        out.describe()
    );
    let puts: Vec<&Request> = log.iter().filter(|r| is_manifest_put(r)).collect();
    assert!(puts.is_empty(), "{how:?}: manifest written: {puts:?}");
    if !matches!(how, Damage::Corrupted) {
        let writes: Vec<&Request> = log.iter().filter(|r| is_write(r)).collect();
        assert!(
            writes.is_empty(),
            "{how:?}: wrote before checking the layout: {writes:?}"
        );
    }
    assert!(
        !reg.tag_exists(repo, "v1"),
        "{how:?}: the tag exists after a failed push"
    );
    for m in layouts::manifest_digests(src, digest) {
        assert!(
            reg.manifest_digest(repo, &m).is_none(),
            "{how:?}: manifest {m} exists after a failed push"
        );
    }
}

#[test]
fn missing_wrong_size_or_corrupt_blob_fails_before_any_manifest() {
    let reg = Registry::start();
    let cases = [
        (Damage::Missing, "layer"),
        (Damage::Truncated, "layer"),
        (Damage::Grown, "layer"),
        (Damage::Missing, "config"),
        (Damage::Corrupted, "layer"),
    ];
    for (i, (how, which)) in cases.into_iter().enumerate() {
        let t = tmp();
        let src = t.path().join("src");
        let digest = layouts::image(
            &src,
            &[64 * KIB, 8 * KIB],
            100 + i as u64,
            Format::Oci,
            None,
        );
        let manifest: Value = serde_json::from_slice(&layouts::read_blob(&src, &digest)).unwrap();
        let victim = match which {
            "layer" => manifest["layers"][1]["digest"].as_str().unwrap(),
            _ => manifest["config"]["digest"].as_str().unwrap(),
        }
        .to_string();
        damage(&layouts::blob_path(&src, &victim), how);
        assert_broken_layout_refused(&reg, &src, &digest, &victim, &format!("broken{i}"), how);
    }
}

#[test]
fn index_with_a_missing_blob_writes_no_manifest() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::index_image(&src, 8);
    let index: Value = serde_json::from_slice(&layouts::read_blob(&src, &digest)).unwrap();
    // The layer of the second platform only: the first platform is complete.
    let child = index["manifests"][1]["digest"].as_str().unwrap();
    let m: Value = serde_json::from_slice(&layouts::read_blob(&src, child)).unwrap();
    let victim = m["layers"][1]["digest"].as_str().unwrap().to_string();
    damage(&layouts::blob_path(&src, &victim), Damage::Missing);
    assert_broken_layout_refused(&reg, &src, &digest, &victim, "multi", Damage::Missing);
}
