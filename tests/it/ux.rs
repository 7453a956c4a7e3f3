//! What people see. Progress on a pseudo-terminal (via `script`), in a
//! pipe, and with `--progress none`; `--dry-run` makes only read requests and its plan
//! matches the real run; error classes with message, hint and exit code; `--help` examples
//! and shell completions.

use std::path::Path;

use crate::support::cmd::{assert_failure, assert_success, run, scrub, werf_push, Output};
use crate::support::layouts::{image, Format};
use crate::support::registry::Registry;
use crate::support::scenario::hint_lines;
use serde_json::Value;
use tempfile::TempDir;

/// A layout with one 6 MiB layer and two small ones.
fn layout(dir: &Path) {
    image(dir, &[6 << 20, 4096, 100], 7, Format::Oci, None);
}

fn push(args: &[&str]) -> Output {
    let mut c = werf_push();
    c.arg("push").args(args);
    run(&mut c)
}

#[test]
fn progress_in_a_pipe_on_a_terminal_and_none() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("l");
    layout(&dir);
    let src = format!("oci:{}", dir.display());
    let chunked = ["--upload-strategy", "chunked", "--chunk-size", "1MiB"];

    // A pipe: plain lines with percent, no redraws (no carriage returns or cursor
    // movement), the tag as a result, blob lines only with -v.
    let dest = format!("{}/pipe:v1", reg.host);
    let out = push(&[&src, &dest, chunked[0], chunked[1], chunked[2], chunked[3]]);
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
    let out = push(&["-v", &src, &dest]);
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

    // --progress none: no progress, but the results; -q: nothing at all.
    let dest = format!("{}/none:v1", reg.host);
    let out = push(&["--progress", "none", &src, &dest]);
    assert_success(&out);
    assert!(!out.stderr.contains("progress: "), "{}", out.describe());
    assert!(
        out.stderr.contains(&format!("tag  {dest} pushed")),
        "{}",
        out.describe()
    );
    assert!(out.stderr.contains("done: "), "{}", out.describe());
    let out = push(&["-q", &src, &format!("{}/quiet:v1", reg.host)]);
    assert_success(&out);
    assert_eq!(out.stderr, "", "{}", out.describe());

    // A terminal of 80 columns: `script` runs the binary in a pseudo-terminal; bars with
    // bytes appear, no drawn line is wider than the terminal, no empty "0 B/0 B" total.
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
    let before = reg.requests().len();
    let out = push(&["--dry-run", "--json", &src, &dest, &dest2]);
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
    let plan_of = |v: &Value| -> Vec<(String, String, String)> {
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
    };
    let planned = plan_of(&plan);
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

    let out = push(&["--json", &src, &dest, &dest2]);
    assert_success(&out);
    let real: Value = serde_json::from_str(&out.stdout).unwrap();
    let done: Vec<_> = plan_of(&real)
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
    assert_eq!(done, planned, "the real run did what the plan said");
    assert_eq!(real["tags"][0]["digest"], plan["tags"][0]["digest"]);
    // All up to date: the dry run still ends with what it would do (nothing), as documented.
    let out = push(&["--dry-run", &src, &dest, &dest2]);
    assert_success(&out);
    assert_eq!(
        out.stderr.lines().last().unwrap_or(""),
        "dry run: would push 0 blobs (0 B), mount 0, write 0 tags (2 up-to-date); nothing was written",
        "{}",
        out.describe()
    );

    // A third repository: the plan finds every blob to mount through the known-blob cache
    // that the real run filled, and ends with the one line that sums it up.
    let cache = tmp.path().join("cache");
    let with_cache = |args: &[&str]| {
        let mut c = werf_push();
        c.env_remove("WERF_PUSH_NO_CACHE")
            .env("WERF_PUSH_CACHE_DIR", &cache)
            .arg("push")
            .args(args);
        run(&mut c)
    };
    assert_success(&with_cache(&[&src, &dest]));
    let dest3 = format!("{}/dry3:v1", reg.host);
    let out = with_cache(&["--dry-run", "--json", &src, &dest3]);
    assert_success(&out);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = plan_of(&plan);
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

#[test]
fn help_has_examples_and_completions_generate() {
    for cmd in [
        vec!["push"],
        vec!["publish"],
        vec!["stages", "list"],
        vec!["slugify"],
        vec!["completion"],
    ] {
        let mut c = werf_push();
        c.args(&cmd).arg("--help");
        let out = run(&mut c);
        assert_success(&out);
        assert!(
            out.stdout.contains("Examples:"),
            "{cmd:?}: {}",
            out.describe()
        );
    }
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef werf-push"),
        ("fish", "complete -c werf-push"),
    ] {
        let out = run(werf_push().args(["completion", shell]));
        assert_success(&out);
        assert!(
            out.stdout.contains(marker),
            "{shell}: {}",
            &out.stdout[..out.stdout.len().min(300)]
        );
    }
}

/// Completion in a real bash: the script is sourced and bash's own completion machinery
/// (`complete -p` gives the function) is asked for the words a user would TAB.
#[test]
fn bash_completes_subcommands_flags_and_values() {
    let out = run(werf_push().args(["completion", "bash"]));
    assert_success(&out);
    let tmp = TempDir::new().unwrap();
    let script = tmp.path().join("werf-push.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // (words typed, the word being completed, what must be offered, what must not be)
    let cases: [(&str, &str, &[&str], &[&str]); 13] = [
        ("werf-push ", "", &["publish", "stages", "push"], &[]),
        (
            "werf-push stages ",
            "",
            &["list", "import", "add", "pull", "gc"],
            &["Cargo.toml"],
        ),
        (
            "werf-push publish --",
            "--",
            &["--repo", "--with-stages", "--tag-git-branch"],
            &[],
        ),
        (
            "werf-push push --upload-strategy ",
            "",
            &["auto", "monolithic", "chunked"],
            &[],
        ),
        (
            "werf-push stages list --",
            "--",
            &["--stages-dir", "--json"],
            &[],
        ),
        ("werf-push --progress ", "", &["auto", "plain", "none"], &[]),
        // Every flag with a fixed set of values completes them, not file names.
        (
            "werf-push publish --images-repo-mode ",
            "",
            &["auto", "multirepo", "monorepo"],
            &["Cargo.toml"],
        ),
        (
            "werf-push push --registry-profile ",
            "",
            &["generic", "ghcr", "ecr", "harbor", "gitlab"],
            &["Cargo.toml"],
        ),
        (
            "werf-push stages add --stage ",
            "",
            &["from", "beforeInstall", "install", "dockerfile"],
            &["Cargo.toml"],
        ),
        (
            "werf-push stages add --compression ",
            "",
            &["gzip", "zstd"],
            &["Cargo.toml"],
        ),
        (
            "werf-push push --log-format ",
            "",
            &["text", "json"],
            &["Cargo.toml"],
        ),
        (
            "werf-push publish --publish-report-format ",
            "",
            &["json"],
            &["Cargo.toml"],
        ),
        (
            "werf-push slugify --format ",
            "",
            &["docker-tag"],
            &["Cargo.toml"],
        ),
    ];
    for (line, cur, want, not) in cases {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut all: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        if cur.is_empty() {
            all.push(String::new());
        }
        let cword = all.len() - 1;
        let prev = if cword >= 1 {
            all[cword - 1].clone()
        } else {
            String::new()
        };
        let quoted: Vec<String> = all.iter().map(|w| format!("'{w}'")).collect();
        let program = format!(
            r#"source '{}'
f=$(complete -p werf-push | sed -E 's/.*-F ([^ ]+).*/\1/')
COMP_WORDS=({}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
"$f" werf-push '{cur}' '{prev}'
printf '%s\n' "${{COMPREPLY[@]}}""#,
            script.display(),
            quoted.join(" ")
        );
        let mut c = std::process::Command::new("bash");
        c.args(["--norc", "--noprofile", "-c", &program])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        let got = run(&mut c);
        assert_success(&got);
        let offered: Vec<&str> = got.stdout.lines().collect();
        for w in want {
            assert!(
                offered.contains(w),
                "{line:?}: {w} not offered: {offered:?}"
            );
        }
        for w in not {
            assert!(!offered.contains(w), "{line:?}: {w} offered: {offered:?}");
        }
    }
}

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
    // (args, exit code, in the error, in a hint, never in a hint)
    type Case<'a> = (Vec<&'a str>, i32, &'a str, &'a str, &'a str);
    let cases: Vec<Case> = vec![
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
            vec!["push", &stages, "http://localhost:9/x:y"],
            2,
            "drop it and write localhost:9/x:y",
            "references look like",
            "stages list",
        ),
        (
            vec!["push", &stages, "docker://localhost:9/x:y"],
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
    ];
    for (args, code, err, hint, not) in cases {
        let mut c = werf_push();
        c.args(&args);
        let out = run(&mut c);
        assert_eq!(out.code(), Some(code), "{args:?}\n{}", out.describe());
        let error = out
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("");
        assert!(
            error.contains(err),
            "{args:?}: error lacks {err:?}\n{}",
            out.describe()
        );
        let hints = hint_lines(&out);
        assert!(
            hints.iter().any(|h| h.contains(hint)),
            "{args:?}: no hint with {hint:?}\n{}",
            out.describe()
        );
        assert!(
            !hints.iter().any(|h| h.contains(not)),
            "{args:?}: hint with {not:?}\n{}",
            out.describe()
        );
    }
}

/// Man pages: one per command, nested ones included under the name their parent's page
/// points to, each with EXIT STATUS and ENVIRONMENT; clap's `help` pseudo-command has none.
#[test]
fn manpages_cover_every_command_with_exit_status_and_environment() {
    let tmp = TempDir::new().unwrap();
    let out = run(werf_push().arg("manpages").arg(tmp.path()));
    assert_success(&out);
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for want in [
        "werf-push.1",
        "werf-push-publish.1",
        "werf-push-stages.1",
        "werf-push-stages-list.1",
        "werf-push-stages-pull.1",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("-help")), "{names:?}");
    for n in &names {
        let page = std::fs::read_to_string(tmp.path().join(n)).unwrap();
        assert!(
            page.contains(".SH \"EXIT STATUS\"") && page.contains(".SH ENVIRONMENT"),
            "{n}"
        );
    }
    let stages = std::fs::read_to_string(tmp.path().join("werf-push-stages.1")).unwrap();
    assert!(
        stages
            .replace("\\-", "-")
            .contains("werf-push-stages-list(1)"),
        "{stages}"
    );
    let publish = std::fs::read_to_string(tmp.path().join("werf-push-publish.1")).unwrap();
    assert!(
        publish.contains("WERF_IMAGES_REPO"),
        "the publish page lists its variables"
    );
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

/// `werf-push manpages` without DIR writes beside the binary (`PREFIX/bin` ->
/// `PREFIX/share/man/man1`), where man-db's `man` finds them from PATH alone, no MANPATH.
#[test]
fn manpages_beside_the_binary_are_found_by_man() {
    let tmp = TempDir::new().unwrap();
    let bin = tmp.path().join("prefix/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_werf-push"), bin.join("werf-push")).unwrap();
    let out = run(crate::support::cmd::bin(bin.join("werf-push")).arg("manpages"));
    assert_success(&out);
    let page = tmp
        .path()
        .join("prefix/share/man/man1/werf-push-stages-list.1");
    assert!(page.is_file(), "{}", out.describe());
    let mut man = std::process::Command::new("man");
    man.env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", tmp.path())
        .args(["-w", "werf-push-stages-list"]);
    let found = run(&mut man);
    assert!(
        found.success(),
        "man (Debian package man-db; scripts/test installs it) did not find the page\n{}",
        found.describe()
    );
    assert_eq!(found.stdout.trim(), page.to_str().unwrap());
}

/// A publish says per image what happened (stage tags counted apart), not a line per tag;
/// `--log-format json` makes results and errors JSON lines too.
#[test]
fn publish_results_per_image_and_as_json_lines() {
    let reg = Registry::start();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example");
    let repo = format!("{}/sum", reg.host);
    let publish = |extra: &[&str]| {
        let mut c = werf_push();
        c.args([
            "publish",
            "--repo",
            &repo,
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
    };
    let out = publish(&[]);
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

    let out = publish(&["--log-format", "json"]);
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
