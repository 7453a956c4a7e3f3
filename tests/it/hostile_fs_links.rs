//! Links planted in a stages storage: a `LOCK` symlink is refused by every writer and its
//! target untouched; `stages gc` never deletes through a linked blob directory and removes
//! only regular files named by a digest; a blob directory leading out of the layout is
//! refused for reads and writes (push, import, list, add). Each case is a regression test
//! of one way in.

use std::os::unix::fs::symlink;

use crate::support::hostile_fs::{example_storage, files_under, s, wp};
use crate::support::scenario::{assert_error, oci, tmp};

/// A planted lock link: `LOCK -> victim` is refused by every writer, the victim untouched.
#[test]
fn a_lock_symlink_is_refused_and_its_target_untouched() {
    let t = tmp();
    let stages = example_storage(t.path());
    let victim = t.path().join("passwd");
    std::fs::write(&victim, b"root:x:0:0:root:/root:/bin/bash\n").unwrap();
    symlink(&victim, stages.join("LOCK")).unwrap();
    let from = t.path().join("from");
    std::fs::create_dir(&from).unwrap();
    std::fs::write(from.join("f"), b"x").unwrap();
    let cases: [&[&str]; 4] = [
        &["stages", "gc", "--dry-run"],
        &["stages", "gc"],
        &[
            "stages",
            "add",
            "--image",
            "backend",
            "--stage",
            "from",
            "--from-dir",
            s(&from),
        ],
        &[
            "stages",
            "import",
            &oci(&stages),
            "--image",
            "x",
            "--stage",
            "from",
        ],
    ];
    for args in cases {
        let mut a = args.to_vec();
        a.extend(["--stages-dir", s(&stages)]);
        let out = wp(&a);
        assert!(!out.success(), "{args:?} succeeded\n{}", out.describe());
        assert!(
            out.stderr.contains("LOCK") && out.stderr.contains("symbolic link"),
            "{args:?}\n{}",
            out.describe()
        );
        assert_eq!(
            std::fs::read(&victim).unwrap(),
            b"root:x:0:0:root:/root:/bin/bash\n",
            "{args:?} changed the LOCK's target"
        );
    }
}

/// gc through a `blobs/sha256` symlink deletes nothing there.
#[test]
fn gc_never_deletes_through_a_linked_blob_directory() {
    let t = tmp();
    let stages = example_storage(t.path());
    let elsewhere = t.path().join("elsewhere");
    std::fs::rename(stages.join("blobs/sha256"), &elsewhere).unwrap();
    std::fs::write(elsewhere.join("notes.txt"), b"mine").unwrap();
    std::fs::write(elsewhere.join("a".repeat(64)), b"unreferenced but not gc's").unwrap();
    symlink(&elsewhere, stages.join("blobs/sha256")).unwrap();
    let before = files_under(&elsewhere);
    for dry in [true, false] {
        let mut a = vec!["stages", "gc", "--stages-dir", s(&stages)];
        if dry {
            a.push("--dry-run");
        }
        let out = wp(&a);
        assert!(
            !out.success(),
            "gc through a link succeeded\n{}",
            out.describe()
        );
        assert!(out.stderr.contains("symbolic link"), "{}", out.describe());
        assert_eq!(
            files_under(&elsewhere),
            before,
            "gc touched the linked directory"
        );
    }
}

/// gc removes only regular files named by a digest; other things are left.
#[test]
fn gc_removes_only_regular_files_named_by_a_digest() {
    let t = tmp();
    let stages = example_storage(t.path());
    let blobs = stages.join("blobs/sha256");
    let outside = t.path().join("outside");
    std::fs::write(&outside, b"keep").unwrap();
    let junk = blobs.join("b".repeat(64));
    std::fs::write(&junk, b"junk").unwrap();
    std::fs::write(blobs.join("README"), b"not a digest").unwrap();
    symlink(&outside, blobs.join("c".repeat(64))).unwrap();
    let out = wp(&["stages", "gc", "--stages-dir", s(&stages), "--json"]);
    assert!(out.success(), "{}", out.describe());
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let removed: Vec<String> = report["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(removed, [junk.display().to_string()], "{}", out.describe());
    assert!(!junk.exists());
    assert!(blobs.join("README").exists());
    assert!(std::fs::symlink_metadata(blobs.join("c".repeat(64))).is_ok());
    assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
}

/// A linked blob directory: `blobs` (or `blobs/sha256`) leading out of the layout is refused for reads and
/// writes: push, import, list, add.
#[test]
fn a_blob_directory_leading_out_is_refused_for_reads_and_writes() {
    for linked in ["blobs", "blobs/sha256"] {
        let t = tmp();
        let stages = example_storage(t.path());
        let outside = t.path().join("outside");
        std::fs::rename(stages.join(linked), &outside).unwrap();
        symlink(&outside, stages.join(linked)).unwrap();
        let before = files_under(&outside);
        let out = wp(&["stages", "list", "--stages-dir", s(&stages)]);
        assert_error(linked, &out, 3, "symlink leading out of the layout");
        let sel = format!(
            "{}:{}",
            oci(&stages),
            "b8d07aea2ca148524b68e9dd4591862689b11764ec5d0ad887ab8597"
        );
        let out = wp(&["push", &sel, "127.0.0.1:9/x:y", "--insecure-registry"]);
        assert_error(linked, &out, 3, "symlink leading out of the layout");
        let dest = t.path().join("dest");
        let out = wp(&[
            "stages",
            "import",
            &sel,
            "--image",
            "x",
            "--stage",
            "from",
            "--stages-dir",
            s(&dest),
        ]);
        assert_error(linked, &out, 3, "symlink leading out of the layout");
        let from = t.path().join("from");
        std::fs::create_dir_all(&from).unwrap();
        std::fs::write(from.join("f"), b"new file").unwrap();
        let out = wp(&[
            "stages",
            "add",
            "--image",
            "x",
            "--stage",
            "from",
            "--from-dir",
            s(&from),
            "--stages-dir",
            s(&stages),
        ]);
        assert!(
            !out.success(),
            "{linked}: add wrote through a link\n{}",
            out.describe()
        );
        assert!(out.stderr.contains("not a directory"), "{}", out.describe());
        assert_eq!(
            files_under(&outside),
            before,
            "{linked}: something was written outside"
        );
    }
}
