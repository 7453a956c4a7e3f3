//! A layout read back: its `index.json` and the entry of a ref name, an image's layers,
//! blob paths and bytes, and blob sets to compare: [`blob_files`] (every blob file of a
//! layout, each checked against its name), [`referenced_blobs`] (what one image
//! references, recursively), [`unique_blob_bytes`], [`manifest_digests`]; and
//! [`copy_dir`] to copy a layout or a project.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use werf_push_layout::REF_NAME;

use crate::support::cmd::sha256_digest;

/// The `index.json` of the layout `dir`, parsed.
pub fn index_json(dir: &Path) -> Value {
    let p = dir.join("index.json");
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()))
}

/// The digest of the entry of `dir`'s `index.json` named `ref_name`.
pub fn ref_digest(dir: &Path, ref_name: &str) -> String {
    let index = index_json(dir);
    index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["annotations"][REF_NAME] == ref_name)
        .and_then(|m| m["digest"].as_str())
        .unwrap_or_else(|| panic!("no '{ref_name}' in {}/index.json: {index}", dir.display()))
        .to_string()
}

/// The layer digests of an image manifest, in order.
pub fn layer_digests(manifest: &Value) -> Vec<String> {
    manifest["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("not an image manifest: {manifest}"))
        .iter()
        .map(|l| l["digest"].as_str().expect("layer digest").to_string())
        .collect()
}

/// The path of blob `digest` (`sha256:...`) in the layout `dir`.
pub fn blob_path(dir: &Path, digest: &str) -> std::path::PathBuf {
    let hex = digest
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("not a sha256 digest: {digest}"));
    dir.join("blobs").join("sha256").join(hex)
}

/// The bytes of blob `digest` in the layout `dir`.
pub fn read_blob(dir: &Path, digest: &str) -> Vec<u8> {
    let p = blob_path(dir, digest);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// The digests of every file under `dir/blobs/sha256` (temporary files skipped), each
/// checked to hash to its name.
pub fn blob_files(dir: &Path) -> BTreeSet<String> {
    let blobs = dir.join("blobs").join("sha256");
    let mut out = BTreeSet::new();
    for entry in
        std::fs::read_dir(&blobs).unwrap_or_else(|e| panic!("read {}: {e}", blobs.display()))
    {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let digest = format!("sha256:{name}");
        let actual = sha256_digest(std::fs::read(entry.path()).expect("read blob"));
        assert_eq!(
            actual,
            digest,
            "{}: content does not match its name",
            entry.path().display()
        );
        out.insert(digest);
    }
    out
}

/// The digests of everything image `digest` of layout `dir` references: the manifest
/// itself, its config and layers, and for an index every child manifest, recursively.
pub fn referenced_blobs(dir: &Path, digest: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_referenced(dir, digest, &mut out);
    out
}

fn collect_referenced(dir: &Path, digest: &str, out: &mut BTreeSet<String>) {
    if !out.insert(digest.to_string()) {
        return;
    }
    let v: Value = serde_json::from_slice(&read_blob(dir, digest))
        .unwrap_or_else(|e| panic!("manifest {digest} is not JSON: {e}"));
    let digest_of = |d: &Value| {
        d["digest"]
            .as_str()
            .unwrap_or_else(|| panic!("descriptor without digest in {digest}: {d}"))
            .to_string()
    };
    if let Some(children) = v["manifests"].as_array() {
        for c in children {
            collect_referenced(dir, &digest_of(c), out);
        }
    }
    if v.get("config").is_some() {
        out.insert(digest_of(&v["config"]));
    }
    for l in v["layers"].as_array().into_iter().flatten() {
        out.insert(digest_of(l));
    }
}

/// The sum of the sizes of the blobs (configs and layers, not manifests) that image
/// `digest` of layout `dir` references, each counted once.
pub fn unique_blob_bytes(dir: &Path, digest: &str) -> u64 {
    let manifests = manifest_digests(dir, digest);
    referenced_blobs(dir, digest)
        .iter()
        .filter(|d| !manifests.contains(*d))
        .map(|d| {
            std::fs::metadata(blob_path(dir, d))
                .expect("stat blob")
                .len()
        })
        .sum()
}

/// The manifests (the root and, for an index, its children) of image `digest`.
pub fn manifest_digests(dir: &Path, digest: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.insert(digest.to_string());
    let v: Value = serde_json::from_slice(&read_blob(dir, digest)).expect("manifest JSON");
    for c in v["manifests"].as_array().into_iter().flatten() {
        let child = c["digest"].as_str().expect("child digest");
        out.extend(manifest_digests(dir, child));
    }
    out
}

/// Copies the directory tree `from` to `to` (a project, a layout).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
