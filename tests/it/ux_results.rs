//! What results say: a publish reports per image (stage tags counted apart, the short
//! digest pushed) and, with `--log-format json`, as JSON lines (its error too); counts in
//! summaries agree with their nouns; `stages list` shows signatures whole and `--parent`
//! takes one whole or any unique prefix.

use std::path::Path;

use crate::support::cmd::{assert_failure, assert_success, run, werf_push, Output};
use crate::support::registry::Registry;
use serde_json::Value;
use tempfile::TempDir;

/// `stages list` shows signatures whole; `--parent` takes one whole or any unique prefix.
#[test]
fn signatures_are_shown_whole_and_parent_takes_a_unique_prefix() {
    let tmp = TempDir::new().unwrap();
    let stages = tmp.path().join("stages");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example/.werf/stages");
    crate::support::layouts::copy_dir(&src, &stages);
    let from = tmp.path().join("from");
    std::fs::create_dir(&from).unwrap();
    std::fs::write(from.join("f"), b"x").unwrap();
    let wp = |args: &[&str]| {
        let mut c = werf_push();
        c.args(args).arg("--stages-dir").arg(&stages);
        run(&mut c)
    };
    let full = "685c09a893c79f8da1035a54e43fe18714dd617c96de02e14b422d78";
    let out = wp(&["stages", "list"]);
    assert_success(&out);
    assert!(out.stdout.contains(full), "{}", out.describe());
    // (--parent, Ok(signature it resolves to) or Err(part of the error))
    let cases: [(&str, Result<&str, &str>); 4] = [
        (full, Ok(full)),
        ("685c09", Ok(full)),
        ("b", Err("2 stages have signatures starting so")),
        ("ffff", Err("no stage with this signature (or prefix)")),
    ];
    let mut digests = Vec::new();
    for (i, (given, want)) in cases.into_iter().enumerate() {
        let out = wp(&[
            "stages",
            "add",
            "--image",
            "p",
            "--stage",
            "install",
            "--from-dir",
            from.to_str().unwrap(),
            "--parent",
            given,
            "--json",
        ]);
        match want {
            Ok(_) => {
                assert_success(&out);
                let v: Value = serde_json::from_str(&out.stdout).unwrap();
                digests.push(v["signature"].as_str().unwrap().to_string());
            }
            Err(msg) => {
                assert_failure(&out);
                assert_eq!(out.code(), Some(2), "case {i}\n{}", out.describe());
                assert!(out.stderr.contains(msg), "case {i}\n{}", out.describe());
            }
        }
    }
    // The prefix gives the same default signature as the whole parent signature.
    assert_eq!(digests.len(), 2);
    assert_eq!(digests[0], digests[1]);
}

/// Counts in summaries agree with their nouns: `1 file`, `2 files`.
#[test]
fn summaries_count_in_words() {
    let tmp = TempDir::new().unwrap();
    let stages = tmp.path().join("stages");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example/.werf/stages");
    crate::support::layouts::copy_dir(&src, &stages);
    let gc = || {
        let mut c = werf_push();
        c.args(["stages", "gc", "--dry-run", "--stages-dir"])
            .arg(&stages);
        run(&mut c)
    };
    // (orphan blobs planted, the count wanted)
    for (n, want) in [(1, "would remove 1 file ("), (2, "would remove 2 files (")] {
        let body = format!("orphan {n}");
        let hex = crate::support::cmd::sha256_hex(&body);
        std::fs::write(stages.join("blobs/sha256").join(hex), body).unwrap();
        let out = gc();
        assert_success(&out);
        assert!(out.stdout.contains(want), "{}", out.describe());
    }
}

/// A publish says per image what happened (stage tags counted apart), not a line per tag;
/// `--log-format json` makes results and errors JSON lines too.
#[test]
fn publish_results_per_image_and_as_json_lines() {
    let reg = Registry::start();
    let repo = format!("{}/sum", reg.host);
    the_text_results_are_a_line_per_image(&repo);
    the_json_results_are_one_event_per_line(&repo);
    an_error_in_json_is_one_event_with_its_hints();
}

/// `publish` of the example project with tags `v1` and `main` and its stages to `repo`.
fn publish(repo: &str, extra: &[&str]) -> Output {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example");
    let mut c = werf_push();
    c.args([
        "publish",
        "--repo",
        repo,
        "--tag-custom",
        "v1",
        "--tag-git-branch",
        "main",
        "--with-stages",
        "--dir",
    ])
    .arg(&example)
    .args(extra);
    run(&mut c)
}

/// A line per image with its repository, its tags and the short digest pushed; the
/// stages cache's line names its repository; no line per tag.
fn the_text_results_are_a_line_per_image(repo: &str) {
    let out = publish(repo, &[]);
    assert_success(&out);
    let lines: Vec<&str> = out.stderr.lines().collect();
    let backend = lines
        .iter()
        .find(|l| l.starts_with("backend "))
        .unwrap_or(&"");
    assert!(
        backend.contains(&format!("{repo}/backend")) && backend.contains("pushed: v1, main"),
        "{}",
        out.describe()
    );
    assert!(
        lines.iter().any(|l| l.starts_with("frontend ")),
        "{}",
        out.describe()
    );
    assert!(
        lines.contains(&format!("stages cache {repo}: 5 tags, 5 pushed, 0 up-to-date").as_str()),
        "the stages cache's line names its repository\n{}",
        out.describe()
    );
    // Each image line ends with the short digest of what was pushed, as the report has it.
    let report_digest = |image: &str| {
        let l = lines.iter().find(|l| l.starts_with(image)).unwrap();
        l.rsplit_once("  (sha256:")
            .map(|(_, d)| d.trim_end_matches(')').to_string())
            .unwrap_or_default()
    };
    assert_eq!(report_digest("backend ").len(), 12, "{}", out.describe());
    assert!(
        !lines.iter().any(|l| l.starts_with("tag  ")),
        "{}",
        out.describe()
    );
}

/// With `--log-format json`: an event per image, one for the stages and a summary.
fn the_json_results_are_one_event_per_line(repo: &str) {
    let out = publish(repo, &["--log-format", "json"]);
    assert_success(&out);
    let events: Vec<Value> = out
        .stderr
        .lines()
        .filter(|l| !l.starts_with("progress: "))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "image").count(),
        2,
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"stages") && kinds.contains(&"summary"),
        "{kinds:?}"
    );
    let backend = events.iter().find(|e| e["image"] == "backend").unwrap();
    assert_eq!(
        backend["tags"]["up-to-date"],
        serde_json::json!(["v1", "main"]),
        "{backend}"
    );
}

/// An error with `--log-format json`: one event with its exit code, message and hints.
fn an_error_in_json_is_one_event_with_its_hints() {
    let mut c = werf_push();
    c.args([
        "--log-format",
        "json",
        "push",
        "oci:/nonexistent",
        "localhost:9/x:y",
    ]);
    let out = run(&mut c);
    assert_eq!(out.code(), Some(2), "{}", out.describe());
    let err: Value =
        serde_json::from_str(out.stderr.trim()).unwrap_or_else(|e| panic!("{e}: {}", out.stderr));
    assert_eq!(err["type"], "error");
    assert_eq!(err["exit_code"], 2);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("no such directory"),
        "{err}"
    );
    assert!(!err["hints"].as_array().unwrap().is_empty(), "{err}");
}
