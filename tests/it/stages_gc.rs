//! `stages gc` removes exactly what no entry references: a replaced stage's manifest,
//! config and layer, a stray blob and a crashed writer's temporary file; `--dry-run` names
//! the same and removes nothing, the storage still lists, and a second run finds nothing.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::layouts::{blob_files, referenced_blobs};
use crate::support::stages::{entries, json_out, ok, runner_a};
use serde_json::Value;
use tempfile::TempDir;

#[test]
fn gc_removes_exactly_the_unreferenced_blobs() {
    let tmp = TempDir::new().unwrap();
    let stages = runner_a(tmp.path(), 10 << 10);
    assert_eq!(
        blob_files(&stages),
        referenced(&stages, None),
        "nothing to collect yet"
    );
    // Replace frontend's from stage: its old manifest, config and layer become garbage.
    let old = referenced(&stages, Some("frontend"));
    replace_the_frontends_from_stage(&stages, &tmp.path().join("front2"));
    let stray_d = add_a_stray_blob_and_a_crashed_writers_temporary_file(&stages);
    let now = referenced(&stages, None);
    let mut want: BTreeSet<String> = old.difference(&now).cloned().collect();
    want.insert(stray_d);
    assert_eq!(want.len(), 4, "{want:?}");
    a_dry_run_names_the_garbage_and_removes_nothing(&stages, &want);
    let done = json_out(&ok(&["stages", "gc", "--json"], &stages));
    assert_eq!(removed(&done, "blob"), want);
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

/// The blobs the storage's entries reference (of `image` only, when given).
fn referenced(stages: &Path, image: Option<&str>) -> BTreeSet<String> {
    entries(stages)
        .iter()
        .filter(|e| image.is_none_or(|i| e.0 == i))
        .flat_map(|e| referenced_blobs(stages, &e.3))
        .collect()
}

/// `stages add` of another directory (`dir`) as frontend's from stage.
fn replace_the_frontends_from_stage(stages: &Path, dir: &Path) {
    std::fs::create_dir(dir).unwrap();
    std::fs::write(dir.join("data"), b"frontend v2").unwrap();
    ok(
        &[
            "stages",
            "add",
            "--image",
            "frontend",
            "--stage",
            "from",
            "--from-dir",
            dir.to_str().unwrap(),
        ],
        stages,
    );
}

/// Garbage of other kinds: a stray blob (its digest returned) and a temporary file of a
/// crashed writer.
fn add_a_stray_blob_and_a_crashed_writers_temporary_file(stages: &Path) -> String {
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
    stray_d
}

/// The digests (or `sha256:` and the file name) of the files of `kind` a `stages gc
/// --json` report says it removed.
fn removed(v: &Value, kind: &str) -> BTreeSet<String> {
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
}

/// `--dry-run` (JSON and text) names the `want` blobs and the temporary file, and
/// removes nothing.
fn a_dry_run_names_the_garbage_and_removes_nothing(stages: &Path, want: &BTreeSet<String>) {
    let before = blob_files(stages);
    let dry = json_out(&ok(&["stages", "gc", "--dry-run", "--json"], stages));
    assert_eq!(&removed(&dry, "blob"), want);
    assert_eq!(removed(&dry, "temporary").len(), 1);
    assert_eq!(blob_files(stages), before, "dry run removes nothing");
    let text = ok(&["stages", "gc", "--dry-run"], stages);
    assert!(
        text.stdout.contains("would remove 5 files"),
        "{}",
        text.describe()
    );
}
