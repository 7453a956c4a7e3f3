//! Hints that fix the error: each usual mistake (a directory that is not there, an empty or
//! unslugged tag, `--tag` for `--tag-custom`, a URL scheme or transport in a reference, a
//! plain directory as the source) exits with its code, an error naming what is wrong and a
//! hint saying what to do, never one that would fail the same way.

use std::path::Path;

use crate::support::cmd::{run, werf_push};
use crate::support::scenario::{assert_error_and_hint, hint_lines};
use tempfile::TempDir;

/// Hints that fix the error: each usual mistake gets the exit code, the error naming what
/// is wrong, and a hint that says what to do (and not one that would fail the same way).
#[test]
fn usual_mistakes_get_hints_that_fix_them() {
    let tmp = TempDir::new().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example");
    let (e, x) = (empty.to_str().unwrap(), example.to_str().unwrap());
    let stages = format!("oci:{x}/.werf/stages");
    for (args, code, err, hint, not) in mistakes(e, x, &stages) {
        let mut c = werf_push();
        c.args(&args);
        let out = run(&mut c);
        assert_error_and_hint(&format!("{args:?}"), &out, code, err, hint);
        let hints = hint_lines(&out);
        assert!(
            !hints.iter().any(|h| h.contains(not)),
            "{args:?}: hint with {not:?}\n{}",
            out.describe()
        );
    }
}

/// A mistake: (args, exit code, in the error, in a hint, never in a hint).
type Case<'a> = (Vec<&'a str>, i32, &'a str, &'a str, &'a str);

/// The usual mistakes, with `e` an empty directory, `x` the example project and `stages`
/// its stages storage as a source.
fn mistakes<'a>(e: &'a str, x: &'a str, stages: &'a str) -> Vec<Case<'a>> {
    vec![
        (
            vec![
                "publish",
                "--repo",
                "localhost:9/x",
                "--tag-custom",
                "v1",
                "--dir",
                e,
            ],
            2,
            "no such directory",
            "stages import",
            "stages list",
        ),
        (
            vec!["stages", "list", "--dir", e],
            2,
            "no such directory",
            "pass --dir",
            "stages list",
        ),
        (
            vec![
                "publish",
                "--repo",
                "localhost:9/x",
                "--tag-git-branch",
                "",
                "--dir",
                x,
            ],
            2,
            "--tag-git-branch (or WERF_TAG_GIT_BRANCH) is empty",
            "--help",
            "stages list",
        ),
        (
            vec![
                "publish",
                "--repo",
                "localhost:9/x",
                "--tag-custom",
                "feature/x",
                "--dir",
                x,
            ],
            2,
            "'feature/x'",
            "gives feature-x-",
            "stages list",
        ),
        (
            vec![
                "publish",
                "--repo",
                "localhost:9/x",
                "--tag",
                "v1",
                "--dir",
                x,
            ],
            2,
            "--tag-custom v1",
            "--help",
            "--stages-dir",
        ),
        (
            vec!["push", stages, "http://localhost:9/x:y"],
            2,
            "drop it and write localhost:9/x:y",
            "references look like",
            "stages list",
        ),
        (
            vec!["push", stages, "docker://localhost:9/x:y"],
            2,
            "drop it and write localhost:9/x:y",
            "references look like",
            "stages list",
        ),
        (
            vec!["push", "oci:/nonexistent/layout", "localhost:9/x:y"],
            2,
            "/nonexistent/layout: no such directory",
            "oci:DIR",
            "stages list",
        ),
        (
            vec!["push", e, "localhost:9/x:y"],
            2,
            "not supported",
            "--help",
            "stages list",
        ),
    ]
}
