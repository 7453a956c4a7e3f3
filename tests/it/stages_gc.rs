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
