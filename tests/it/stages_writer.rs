//! What a write to the stages storage guarantees: while another process holds the lock a
//! second writer (`stages add`, `stages gc`) is refused with the one hint, a failed import
//! (a corrupted layer) leaves the storage exactly as it was, and bad input to
//! `stages import` and `stages add` is a clear error that changes nothing.

use std::path::Path;

use tempfile::TempDir;

use crate::support::cmd::assert_failure;
use crate::support::layouts::{blob_files, layer_digests, umoci_image};
use crate::support::stages::{manifest, runner_a, wp};

#[test]
fn a_second_writer_is_refused_and_a_failed_import_changes_nothing() {
    let tmp = TempDir::new().unwrap();
    let stages = runner_a(tmp.path(), 1 << 10);
    let index_before = std::fs::read(stages.join("index.json")).unwrap();
    let blobs_before = blob_files(&stages);
    let src = tmp.path().join("from");
    a_second_writer_is_refused_with_the_one_hint(&stages, &src);
    let layer = import_a_corrupted_layer(&tmp.path().join("umoci"), &stages);
    assert_eq!(
        std::fs::read(stages.join("index.json")).unwrap(),
        index_before
    );
    assert_eq!(blob_files(&stages), blobs_before);
    assert!(
        !std::fs::read_dir(stages.join("blobs/sha256"))
            .unwrap()
            .any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".tmp-")),
        "{layer}: a temporary file is left"
    );
    bad_input_is_a_clear_error(&stages, &src);
    assert_eq!(
        std::fs::read(stages.join("index.json")).unwrap(),
        index_before
    );
}

/// Another process holds the lock (an open file description of this test process): a
/// second writer (`stages add`, `stages gc`) is refused with the one hint, once.
fn a_second_writer_is_refused_with_the_one_hint(stages: &Path, src: &Path) {
    let held = std::fs::OpenOptions::new()
        .write(true)
        .open(stages.join("LOCK"))
        .unwrap();
    held.try_lock().unwrap();
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
        let out = wp(&args, stages);
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
}

/// A layout whose layer is corrupted (same size, other bytes): the import fails after
/// copying what it could, naming the layer (returned).
fn import_a_corrupted_layer(layout: &Path, stages: &Path) -> String {
    let digest = umoci_image(layout);
    let m = manifest(layout, &digest);
    let layer = layer_digests(&m).pop().unwrap();
    let p = crate::support::layouts::blob_path(layout, &layer);
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
        stages,
    );
    assert_failure(&out);
    assert!(out.stderr.contains(&layer), "{}", out.describe());
    layer
}

/// Bad input to `stages import` and `stages add`: clear errors, non-zero exit.
fn bad_input_is_a_clear_error(stages: &Path, src: &Path) {
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
        let out = wp(&args, stages);
        assert_failure(&out);
        assert!(out.stderr.contains(want), "{want}: {}", out.describe());
    }
}
