//! The class of every `stages pull` failure, as the exit code and the `--log-format json`
//! error line's `class` give it, against the real docker-registry (a proxy corrupting a
//! blob): a storage another process holds is `locked`, a corrupt download fails its stage
//! alone (`partial`, the corrupt blob `integrity` in the report), an image not in the
//! registry is `partial`, a bad IMAGE_NAME or a tag in `--repo` is `usage`. Exit 1 for
//! the first three, 2 for the others.

use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use crate::support::cmd::{run, werf_push, Output};
use crate::support::cutproxy::{CutProxy, Fault};
use crate::support::registry::Registry;
use crate::support::scenario::assert_no_panic;
use crate::support::stages::{big_layer, published};

/// `werf-push --log-format json stages pull --repo REPO EXTRA... --stages-dir STAGES`.
fn pull(repo: &str, stages: &Path, extra: &[&str]) -> Output {
    let mut c = werf_push();
    c.args(["--log-format", "json", "stages", "pull", "--repo", repo])
        .args(extra)
        .arg("--stages-dir")
        .arg(stages);
    let out = run(&mut c);
    assert_no_panic(&out);
    out
}

/// The JSON error line of `out` (`"type": "error"`, the last one: the run's).
fn error(out: &Output) -> Value {
    out.stderr
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "error")
        .unwrap_or_else(|| panic!("no JSON error line\n{}", out.describe()))
}

#[test]
fn every_pull_failure_has_its_class() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let a = published(&reg, tmp.path(), 600 << 10);
    let repo = format!("{}/app", reg.host);

    // Another process holds the storage's lock: nothing is pulled.
    let held = tmp.path().join("held");
    std::fs::create_dir_all(&held).unwrap();
    let lock = std::fs::File::create(held.join("LOCK")).unwrap();
    lock.try_lock().expect("the test takes the lock");
    let out = pull(&repo, &held, &[]);
    drop(lock);

    // A corrupt download of the big layer: its stage fails alone.
    let bad = CutProxy::start(&reg.host, &big_layer(&a), Fault::Corrupt(1000));
    let corrupt = pull(
        &format!("{}/app", bad.host),
        &tmp.path().join("corrupt"),
        &["--retries", "0", "--json"],
    );
    assert!(
        corrupt.stdout.contains("downloaded from") && corrupt.stdout.contains("rejected"),
        "the report does not say which blob was rejected\n{}",
        corrupt.describe()
    );

    let cases = [
        ("a storage another process writes", out, 1, "locked"),
        ("a corrupt blob", corrupt, 1, "partial"),
        (
            "an image the registry has no stage of",
            pull(&repo, &tmp.path().join("missing"), &["nosuchimage"]),
            1,
            "partial",
        ),
        (
            "a bad IMAGE_NAME",
            pull(&repo, &tmp.path().join("badname"), &["a\u{7}b"]),
            2,
            "usage",
        ),
        (
            "a tag in --repo",
            pull(&format!("{repo}:v1"), &tmp.path().join("tagged"), &[]),
            2,
            "usage",
        ),
    ];
    for (case, out, code, class) in cases {
        assert_eq!(out.status.code(), Some(code), "{case}\n{}", out.describe());
        let e = error(&out);
        assert_eq!(e["class"], class, "{case}: {e}");
        assert_eq!(e["exit_code"], code, "{case}: {e}");
        if class == "locked" {
            assert!(
                !tmp.path().join("held/index.json").exists(),
                "{case}: index.json written"
            );
        }
    }
}
