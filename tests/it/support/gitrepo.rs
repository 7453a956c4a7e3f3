//! Real git repositories for the cleanup tests: a work tree whose `origin` is a bare
//! repository beside it, commits dated with `GIT_COMMITTER_DATE`/`GIT_AUTHOR_DATE`,
//! branches and annotated tags pushed to `origin`, and their deletion there (then fetched
//! with `--prune`, as a CI checkout sees it). `git` is required: a missing one is a panic
//! saying how to install it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A work tree at `dir` with `origin` at `origin`.
pub struct GitRepo {
    pub dir: PathBuf,
    pub origin: PathBuf,
}

/// A unix time as git reads a date (`@SECONDS +0000`).
fn git_date(unix: i64) -> String {
    format!("@{unix} +0000")
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl GitRepo {
    /// `git init` in `dir` (which may hold files already, they are not committed) with a bare
    /// `origin` in `origin_dir`, a first commit dated `date` on `main`, pushed.
    pub fn init(dir: &Path, origin_dir: &Path, date: i64) -> GitRepo {
        let r = GitRepo {
            dir: dir.to_path_buf(),
            origin: origin_dir.to_path_buf(),
        };
        std::fs::create_dir_all(dir).unwrap();
        run_git(
            Path::new("/"),
            &["init", "-q", "--bare", &origin_dir.to_string_lossy()],
            None,
        );
        r.git(&["init", "-q", "-b", "main"], None);
        r.git(
            &["remote", "add", "origin", &origin_dir.to_string_lossy()],
            None,
        );
        r.commit("first", date);
        r.git(&["push", "-q", "-u", "origin", "main"], None);
        r
    }

    /// `git ARGS` in the work tree, dated `date` when given; its stdout, trimmed.
    pub fn git(&self, args: &[&str], date: Option<i64>) -> String {
        run_git(&self.dir, args, date)
    }

    /// An empty commit dated `date` on the current branch; its full hash.
    pub fn commit(&self, message: &str, date: i64) -> String {
        self.git(
            &["commit", "-q", "--allow-empty", "-m", message],
            Some(date),
        );
        self.git(&["rev-parse", "HEAD"], None)
    }

    /// A branch at HEAD, pushed to `origin`.
    pub fn branch(&self, name: &str) {
        self.git(&["branch", name], None);
        self.git(&["push", "-q", "origin", name], None);
        self.git(&["fetch", "-q", "origin"], None);
    }

    /// An annotated tag at HEAD dated `date`, pushed to `origin`.
    pub fn tag(&self, name: &str, date: i64) {
        self.git(&["tag", "-a", "-m", name, name], Some(date));
        self.git(
            &["push", "-q", "origin", &format!("refs/tags/{name}")],
            None,
        );
    }

    /// Deletes branch `name` on `origin` and prunes it here, as a later CI checkout sees it.
    pub fn delete_remote_branch(&self, name: &str) {
        self.git(&["push", "-q", "origin", "--delete", name], None);
        self.git(&["fetch", "-q", "--prune", "origin"], None);
    }
}

fn run_git(dir: &Path, args: &[&str], date: Option<i64>) -> String {
    let mut c = Command::new("git");
    c.arg("-C").arg(dir).args(args);
    for k in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"] {
        c.env_remove(k);
    }
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "werf-push test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "werf-push test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com");
    if let Some(d) = date {
        c.env("GIT_COMMITTER_DATE", git_date(d))
            .env("GIT_AUTHOR_DATE", git_date(d));
    }
    let out = c.output().unwrap_or_else(|e| {
        panic!("git not found ({e}): install it (apt-get install git) to run the cleanup tests")
    });
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
