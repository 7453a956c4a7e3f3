//! Help for people: `--help` of each command has examples, shell completions generate and
//! a real bash completes subcommands, flags and their values, and man pages cover every
//! command (each with EXIT STATUS and ENVIRONMENT) and are found by `man` when written
//! beside the binary.

use std::path::Path;

use crate::support::cmd::{assert_success, run, werf_push, Output};
use tempfile::TempDir;

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
    for (line, cur, want, not) in COMPLETIONS {
        let got = complete(&script, line, cur);
        let offered: Vec<&str> = got.stdout.lines().collect();
        for w in *want {
            assert!(
                offered.contains(w),
                "{line:?}: {w} not offered: {offered:?}"
            );
        }
        for w in *not {
            assert!(!offered.contains(w), "{line:?}: {w} offered: {offered:?}");
        }
    }
}

/// A completion case: (words typed, the word being completed, what must be offered, what
/// must not be).
type Completion = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// What bash completes: subcommands, flags, and the values of flags that take a fixed set.
const COMPLETIONS: &[Completion] = &[
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

/// Runs bash's completion function from `script` for `line`, with `cur` the word being
/// completed; its output prints what is offered (`COMPREPLY`), a line each.
fn complete(script: &Path, line: &str, cur: &str) -> Output {
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
    got
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
