//! The project's git refs and dates, read with the `git` command (no library: no new
//! dependency tree, and git is on every CI runner that has a checkout):
//! `rev-parse --is-shallow-repository` (a shallow clone is refused), `remote`,
//! `for-each-ref` (branches of `origin`, else the local ones when the repository has no
//! remote at all; tags with their dates), `cat-file --batch-check` and `log --no-walk`
//! (which commits exist, and their committer dates). Output is read whole but bounded.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::error::CleanupError;
use super::policy::GitFacts;

/// Longest output read from one git command (about 1,000,000 refs).
const MAX_OUTPUT: usize = 128 << 20;

/// What the policies need, for the commits `commits` (image tags of `git-commit` images).
pub(crate) fn read(dir: &Path, commits: &[String]) -> Result<GitFacts, CleanupError> {
    let git = |args: &[&str], input: Option<&str>| run(dir, args, input);
    let top = git(&["rev-parse", "--is-shallow-repository"], None)?;
    if top.trim() == "true" {
        return Err(CleanupError::Shallow { dir: dir.into() });
    }
    let remotes = git(&["remote"], None)?;
    let remotes: Vec<&str> = remotes.lines().map(str::trim).collect();
    let branch_refs = if remotes.is_empty() {
        "refs/heads/"
    } else if remotes.contains(&"origin") {
        "refs/remotes/origin/"
    } else {
        return Err(CleanupError::NoOrigin {
            dir: dir.into(),
            detail: format!(
                "the repository has remotes ({}) but none is named origin",
                remotes.join(", ")
            ),
        });
    };
    let out = git(&["for-each-ref", "--format=%(refname)", branch_refs], None)?;
    let branches: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix(branch_refs))
        .filter(|b| *b != "HEAD")
        .map(str::to_string)
        .collect();
    if branches.is_empty() && !remotes.is_empty() {
        return Err(CleanupError::NoOrigin {
            dir: dir.into(),
            detail: "origin has no branches here (never fetched?): run `git fetch origin`".into(),
        });
    }
    let out = git(
        &[
            "for-each-ref",
            "--format=%(creatordate:unix) %(refname)",
            "refs/tags/",
        ],
        None,
    )?;
    let tags = out
        .lines()
        .filter_map(|l| {
            let (date, name) = l.split_once(' ')?;
            Some((
                name.strip_prefix("refs/tags/")?.to_string(),
                date.parse().ok()?,
            ))
        })
        .collect();
    Ok(GitFacts {
        branches,
        tags,
        commits: commit_dates(dir, commits)?,
    })
}

/// Committer dates of the commits of `wanted` that exist (abbreviated hashes allowed).
fn commit_dates(dir: &Path, wanted: &[String]) -> Result<HashMap<String, i64>, CleanupError> {
    // Only hex names are asked about: an image tag is not a revision expression.
    let wanted: Vec<&String> = wanted
        .iter()
        .filter(|c| (4..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let input: String = wanted.iter().map(|c| format!("{c}^{{commit}}\n")).collect();
    let out = run(dir, &["cat-file", "--batch-check"], Some(&input))?;
    // One line per input line, in order: "<full> commit <size>" or "<input> missing".
    let mut full: Vec<(&String, String)> = Vec::new();
    for (c, line) in wanted.iter().zip(out.lines()) {
        let mut f = line.split(' ');
        if let (Some(sha), Some("commit")) = (f.next(), f.next()) {
            full.push((c, sha.to_string()));
        }
    }
    let mut dates = HashMap::new();
    for chunk in full.chunks(1000) {
        let mut args = vec!["log", "--no-walk=unsorted", "--format=%H %ct"];
        args.extend(chunk.iter().map(|(_, sha)| sha.as_str()));
        let out = run(dir, &args, None)?;
        let by_sha: HashMap<&str, i64> = out
            .lines()
            .filter_map(|l| {
                let (sha, date) = l.split_once(' ')?;
                Some((sha, date.trim().parse().ok()?))
            })
            .collect();
        for (c, sha) in chunk {
            if let Some(d) = by_sha.get(sha.as_str()) {
                dates.insert((*c).clone(), *d);
            }
        }
    }
    Ok(dates)
}

/// `git -C dir ARGS` with `input` on stdin; its stdout, or what went wrong.
fn run(dir: &Path, args: &[&str], input: Option<&str>) -> Result<String, CleanupError> {
    let fail = |detail: String| CleanupError::Git {
        dir: dir.into(),
        detail,
    };
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            fail(if e.kind() == std::io::ErrorKind::NotFound {
                "git is not installed: install it (apt-get install git) to clean images \
                 tagged by git branch, tag or commit"
                    .into()
            } else {
                format!("cannot run git: {e}")
            })
        })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // A writer thread: git answers while it reads, and a full pipe would stall both.
        let text = text.to_string();
        std::thread::spawn(move || {
            let _ = stdin.write_all(text.as_bytes());
        });
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("git {}: {e}", args.join(" "))))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = werf_push_spec::text::printable(err.trim());
        return Err(fail(format!(
            "`git {}` failed: {err}",
            args.first().unwrap_or(&"")
        )));
    }
    if out.stdout.len() > MAX_OUTPUT {
        return Err(fail(format!(
            "`git {}` printed more than {} MiB",
            args.join(" "),
            MAX_OUTPUT >> 20
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
