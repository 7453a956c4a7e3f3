//! What `werf-push push` shows: progress in a pipe (plain lines, no redraws), on a
//! pseudo-terminal of 80 columns (via `script`: bars with bytes, none wider than the
//! terminal), with `--progress none` and with `-q`; `--dry-run` makes only read requests,
//! its plan matches the real run and, with the known-blob cache, finds every blob to
//! mount; each error class has its message, hint and exit code.

use std::path::Path;

use crate::support::cmd::{assert_failure, assert_success, run, scrub, werf_push};
use crate::support::layouts::{image, Format};
use crate::support::registry::Registry;
use crate::support::scenario::push;
use serde_json::Value;
use tempfile::TempDir;

/// A layout with one 6 MiB layer and two small ones.
fn layout(dir: &Path) {
    image(dir, &[6 << 20, 4096, 100], 7, Format::Oci, None);
}

#[test]
fn progress_in_a_pipe_on_a_terminal_and_none() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("l");
    layout(&dir);
    let src = format!("oci:{}", dir.display());
    a_pipe_gets_plain_lines_and_blob_lines_with_v(&reg, &src);
    progress_none_shows_results_and_quiet_nothing(&reg, &src);
    a_terminal_of_80_columns_gets_bars_that_fit(&reg, &src);
}

/// A pipe: plain lines with percent, no redraws (no carriage returns or cursor
/// movement), the tag as a result, blob lines only with -v.
fn a_pipe_gets_plain_lines_and_blob_lines_with_v(reg: &Registry, src: &str) {
    let chunked = ["--upload-strategy", "chunked", "--chunk-size", "1MiB"];
    let dest = format!("{}/pipe:v1", reg.host);
    let out = push(&[src, &dest, chunked[0], chunked[1], chunked[2], chunked[3]]);
    assert_success(&out);
    let progress = out.stderr.lines().find(|l| l.starts_with("progress: "));
    assert!(
        progress.is_some_and(|l| l.contains(" of ") && l.contains('%')),
        "{}",
        out.describe()
    );
    assert!(
        !out.stderr.lines().any(|l| l.starts_with("blob ")),
        "blob lines need -v\n{}",
        out.describe()
    );
    assert!(
        out.stderr.contains(&format!("tag  {dest} pushed sha256:")),
        "{}",
        out.describe()
    );
    assert!(
        !out.stderr.contains("1 blobs") && !out.stderr.contains("1 tags"),
        "plurals\n{}",
        out.describe()
    );
    assert!(
        !out.stderr.contains('\r') && !out.stderr.contains("\x1b["),
        "{}",
        out.describe()
    );
    let dest = format!("{}/verbose:v1", reg.host);
    let out = push(&["-v", src, &dest]);
    assert_success(&out);
    assert!(
        out.stderr.contains("blob ") && out.stderr.contains(" pushed ("),
        "{}",
        out.describe()
    );
    assert!(
        !out.stderr.contains("\x1b["),
        "colour in a pipe\n{}",
        out.describe()
    );
}

/// --progress none: no progress, but the results; -q: nothing at all.
fn progress_none_shows_results_and_quiet_nothing(reg: &Registry, src: &str) {
    let dest = format!("{}/none:v1", reg.host);
    let out = push(&["--progress", "none", src, &dest]);
    assert_success(&out);
    assert!(!out.stderr.contains("progress: "), "{}", out.describe());
    assert!(
        out.stderr.contains(&format!("tag  {dest} pushed")),
        "{}",
        out.describe()
    );
    assert!(out.stderr.contains("done: "), "{}", out.describe());
    let out = push(&["-q", src, &format!("{}/quiet:v1", reg.host)]);
    assert_success(&out);
    assert_eq!(out.stderr, "", "{}", out.describe());
}

/// A terminal of 80 columns: `script` runs the binary in a pseudo-terminal; bars with
/// bytes appear, no drawn line is wider than the terminal, no empty "0 B/0 B" total.
fn a_terminal_of_80_columns_gets_bars_that_fit(reg: &Registry, src: &str) {
    let dest = format!("{}/tty:v1", reg.host);
    let bin = env!("CARGO_BIN_EXE_werf-push");
    let cmdline = format!(
        "stty cols 80 rows 24; {bin} push {src} {dest} --upload-strategy chunked --chunk-size 1MiB"
    );
    let mut c = std::process::Command::new("script");
    c.args(["-qefc", &cmdline, "/dev/null"]);
    // werf-push runs inside `script`: the same environment as `werf_push()`'s, but a
    // terminal as a user has it (colours allowed).
    scrub(&mut c);
    c.env_remove("NO_COLOR");
    let out = run(&mut c);
    assert_success(&out);
    assert!(
        out.stdout.contains("MiB"),
        "bars show bytes: {}",
        out.describe()
    );
    assert!(
        out.stdout.contains("total"),
        "an overall bar: {}",
        out.describe()
    );
    assert!(
        out.stdout.contains("[=") || out.stdout.contains("=>") || out.stdout.contains("[#"),
        "a bar: {}",
        out.describe()
    );
    assert!(!out.stdout.contains("0 B/0 B"), "{}", out.describe());
    // The drawn bars (result lines above them may be as long as their references).
    let mut bars = 0;
    for line in out.stdout.split(['\n', '\r']) {
        let shown = strip_ansi(line);
        if !shown.contains(" [") {
            continue;
        }
        bars += 1;
        assert!(
            shown.chars().count() <= 80,
            "a line wider than the terminal ({}): {shown:?}",
            shown.chars().count()
        );
    }
    assert!(bars > 0, "no bar was drawn\n{}", out.describe());
    assert!(
        out.stdout.contains(&format!("tag  {dest} pushed")),
        "{}",
        out.describe()
    );
}

/// `line` without ANSI escape sequences (CSI and OSC).
fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut it = line.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('[') => {
                for c in it.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                for c in it.by_ref() {
                    if c == '\x07' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A plan's or a result's blobs as sorted (repository, digest, status) rows.
fn blob_rows(v: &Value) -> Vec<(String, String, String)> {
    let mut rows: Vec<_> = v["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["repository"].as_str().unwrap().to_string(),
                b["digest"].as_str().unwrap().to_string(),
                b["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn dry_run_reads_only_and_its_plan_matches_the_real_run() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("l");
    layout(&dir);
    let src = format!("oci:{}", dir.display());
    // Two repositories: the plan says the second one would mount every blob.
    let (dest, dest2) = (
        format!("{}/dry:v1", reg.host),
        format!("{}/dry2:v1", reg.host),
    );
    let plan = a_dry_run_makes_only_read_requests(&reg, &[&src, &dest, &dest2]);
    the_real_run_does_what_the_plan_said(&plan, &[&src, &dest, &dest2]);
    up_to_date_a_dry_run_would_do_nothing(&[&src, &dest, &dest2]);
    the_cache_finds_every_blob_to_mount(&reg, &tmp.path().join("cache"), &src, &dest);
}

/// `push --dry-run --json` of `args` (a source and two repositories): only GET and
/// HEAD requests, no tag; its plan pushes to the first repository and mounts to the
/// second. Returns the plan.
fn a_dry_run_makes_only_read_requests(reg: &Registry, args: &[&str]) -> Value {
    let before = reg.requests().len();
    let out = push(&[&["--dry-run", "--json"], args].concat());
    assert_success(&out);
    let writes: Vec<_> = reg.requests()[before..]
        .iter()
        .filter(|(m, _)| !matches!(m.as_str(), "GET" | "HEAD"))
        .cloned()
        .collect();
    assert!(writes.is_empty(), "dry run wrote: {writes:?}");
    assert!(!reg.tag_exists("dry", "v1"));
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let tags = plan["tags"].as_array().unwrap();
    assert_eq!(tags.len(), 2, "dry:v1 and dry2:v1: {plan}");
    assert!(tags.iter().all(|t| t["status"] == "would-push"), "{plan}");
    let planned = blob_rows(&plan);
    assert_eq!(
        planned.len(),
        8,
        "config + 3 layers, two repositories: {plan}"
    );
    assert!(
        planned
            .iter()
            .all(|(r, _, s)| (r == "dry" && s == "would-push")
                || (r == "dry2" && s == "would-mount")),
        "{planned:?}"
    );
    plan
}

/// The real `push --json` of `args` pushes and mounts the blobs the plan said, and the
/// tag's digest is the planned one.
fn the_real_run_does_what_the_plan_said(plan: &Value, args: &[&str]) {
    let out = push(&[&["--json"], args].concat());
    assert_success(&out);
    let real: Value = serde_json::from_str(&out.stdout).unwrap();
    let done: Vec<_> = blob_rows(&real)
        .into_iter()
        .map(|(r, d, s)| {
            (
                r,
                d,
                s.replace("pushed", "would-push")
                    .replace("mounted", "would-mount"),
            )
        })
        .collect();
    assert_eq!(done, blob_rows(plan), "the real run did what the plan said");
    assert_eq!(real["tags"][0]["digest"], plan["tags"][0]["digest"]);
}

/// All up to date: the dry run still ends with what it would do (nothing), as documented.
fn up_to_date_a_dry_run_would_do_nothing(args: &[&str]) {
    let out = push(&[&["--dry-run"], args].concat());
    assert_success(&out);
    assert_eq!(
        out.stderr.lines().last().unwrap_or(""),
        "dry run: would push 0 blobs (0 B), mount 0, write 0 tags (2 up-to-date); nothing was written",
        "{}",
        out.describe()
    );
}

/// A third repository: the plan finds every blob to mount through the known-blob cache
/// that a real run to `dest` filled, and ends with the one line that sums it up.
fn the_cache_finds_every_blob_to_mount(reg: &Registry, cache: &Path, src: &str, dest: &str) {
    let with_cache = |args: &[&str]| {
        let mut c = werf_push();
        c.env_remove("WERF_PUSH_NO_CACHE")
            .env("WERF_PUSH_CACHE_DIR", cache)
            .arg("push")
            .args(args);
        run(&mut c)
    };
    assert_success(&with_cache(&[src, dest]));
    let dest3 = format!("{}/dry3:v1", reg.host);
    let out = with_cache(&["--dry-run", "--json", src, &dest3]);
    assert_success(&out);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = blob_rows(&plan);
    assert_eq!(rows.len(), 4, "{plan}");
    assert!(rows.iter().all(|(_, _, s)| s == "would-mount"), "{rows:?}");
    let last = out.stderr.lines().last().unwrap_or("");
    assert_eq!(
        last, "dry run: would push 0 blobs (0 B), mount 4, write 1 tag (0 up-to-date); nothing was written",
        "{}",
        out.describe()
    );
}

#[test]
fn error_classes_have_message_hint_and_exit_code() {
    let reg = Registry::start();
    let readonly = crate::support::registry::RegistryOptions::new()
        .storage_extra("maintenance:\n  readonly:\n    enabled: true")
        .start();
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("l");
    image(&dir, &[1000], 3, Format::Oci, None);
    let src = format!("oci:{}", dir.display());
    let dead = format!("127.0.0.1:{}/app:v1", crate::support::registry::free_port());
    // (what, args, exit code, message part, hint part)
    std::fs::create_dir_all(tmp.path().join("nope")).unwrap();
    let cases: Vec<(&str, Vec<String>, i32, &str, &str)> = vec![
        (
            "usage: unknown flag",
            vec!["--no-such-flag".into()],
            2,
            "unexpected argument",
            "",
        ),
        (
            "usage: bad reference",
            vec![src.clone(), format!("{}/UPPER:v1", reg.host)],
            2,
            "invalid reference",
            "hint:",
        ),
        (
            "network: nothing listens",
            vec![src.clone(), dead],
            4,
            "cannot reach registry",
            "hint: check the registry address",
        ),
        (
            "bad layout (a directory without oci-layout)",
            vec![
                format!("oci:{}", tmp.path().join("nope").display()),
                format!("{}/a:v1", reg.host),
            ],
            3,
            "not an OCI image layout",
            "hint:",
        ),
        (
            "registry refused",
            vec![src.clone(), format!("{}/ro:v1", readonly.host)],
            1,
            "registry answered",
            "",
        ),
    ];
    for (what, args, code, message, hint) in cases {
        let out = push(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_failure(&out);
        assert_eq!(out.code(), Some(code), "{what}: {}", out.describe());
        assert!(out.stderr.contains(message), "{what}: {}", out.describe());
        assert!(out.stderr.contains(hint), "{what}: {}", out.describe());
        assert!(
            !out.stderr.contains("panicked"),
            "{what}: {}",
            out.describe()
        );
    }
}
