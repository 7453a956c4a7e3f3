//! podman and buildah (Debian packages, 4.3 and 1.28) as the tools that write what
//! werf-push reads: `podman save` archives (`docker-archive`, `-m` for several images,
//! `oci-archive`, `oci-dir`), `buildah push oci:DIR:REF` layouts and the `auth.json` of
//! `podman login`. They run without a daemon, as root or not, each [`Containers`] with its
//! own storage in a temporary directory: the vfs driver, `--root`/`--runroot` (and podman's
//! `--tmpdir`) there, `--events-backend file`, `--cgroup-manager cgroupfs`, a cleared
//! environment (only `PATH` and `scripts/test`'s run marker kept; `HOME`, `TMPDIR`, `XDG_RUNTIME_DIR` inside the directory,
//! empty `CONTAINERS_CONF` and `CONTAINERS_REGISTRIES_CONF`), so a test touches neither the
//! machine's images nor its logins. Images are built with `buildah from scratch`,
//! `buildah add` and `buildah commit`: no network, no container run.
//!
//! ```ignore
//! let c = Containers::new();
//! c.build("localhost/app:1", "hello");
//! c.podman(&["save", "-m", "-o", tar, "localhost/app:1", "localhost/other:1"]);
//! ```

use std::fs;
use std::process::Command;
use std::sync::OnceLock;

use tempfile::TempDir;

use super::cmd::{self, Output};
use super::process;

/// Panics with an install hint when `tool` cannot be run (checked once per tool).
fn ensure_installed(tool: &'static str) {
    static PODMAN: OnceLock<()> = OnceLock::new();
    static BUILDAH: OnceLock<()> = OnceLock::new();
    let once = if tool == "podman" { &PODMAN } else { &BUILDAH };
    once.get_or_init(|| match Command::new(tool).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`{tool} --version` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "{tool} cannot be run ({e}): run scripts/test (it installs it) or \
             apt-get install {tool}"
        ),
    });
}

/// podman and buildah sharing one storage in a temporary directory.
pub struct Containers {
    dir: TempDir,
}

impl Default for Containers {
    fn default() -> Self {
        Self::new()
    }
}

impl Containers {
    pub fn new() -> Containers {
        ensure_installed("podman");
        ensure_installed("buildah");
        let dir = tempfile::Builder::new()
            .prefix("werf-push-containers-")
            .tempdir()
            .expect("containers temp dir");
        for d in ["root", "runroot", "tmp", "home", "xdg", "podman-tmp"] {
            fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        fs::write(dir.path().join("containers.conf"), "").unwrap();
        fs::write(dir.path().join("registries.conf"), "").unwrap();
        Containers { dir }
    }

    fn command(&self, tool: &str) -> Command {
        let d = self.dir.path();
        let mut c = cmd::bin(tool);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", d.join("home"))
            .env("TMPDIR", d.join("tmp"))
            .env("XDG_RUNTIME_DIR", d.join("xdg"))
            .env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", d.join("registries.conf"))
            .envs(process::suite_marker())
            .arg("--storage-driver")
            .arg("vfs")
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"));
        if tool == "podman" {
            c.arg("--tmpdir")
                .arg(d.join("podman-tmp"))
                .arg("--events-backend")
                .arg("file")
                .arg("--cgroup-manager")
                .arg("cgroupfs");
        }
        c
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let mut c = self.command(tool);
        c.args(args);
        let out = cmd::run(&mut c);
        cmd::assert_success(&out);
        out
    }

    /// `podman ARGS` in this storage; panics with both streams unless it succeeds.
    pub fn podman(&self, args: &[&str]) -> Output {
        self.run("podman", args)
    }

    /// `podman ARGS` with `stdin` given (e.g. `login --password-stdin`).
    pub fn podman_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut c = self.command("podman");
        c.args(args);
        let out = cmd::run_with_stdin(&mut c, stdin.as_bytes());
        cmd::assert_success(&out);
        out
    }

    /// `buildah ARGS` in this storage; panics with both streams unless it succeeds.
    pub fn buildah(&self, args: &[&str]) -> Output {
        self.run("buildah", args)
    }

    /// Builds image `name` from scratch with one file, `/content.txt`, holding `content`.
    pub fn build(&self, name: &str, content: &str) {
        let ctx = self
            .dir
            .path()
            .join("tmp")
            .join(format!("ctx-{}", cmd::sha256_hex(name)));
        fs::create_dir_all(&ctx).unwrap();
        let file = ctx.join("content.txt");
        fs::write(&file, content).unwrap();
        let id = self.buildah(&["from", "scratch"]).stdout.trim().to_string();
        self.buildah(&["add", &id, &file.to_string_lossy(), "/content.txt"]);
        self.buildah(&["commit", "-q", &id, name]);
        self.buildah(&["rm", &id]);
    }

    /// The diff_ids of image `name` (`RootFS.Layers`).
    pub fn diff_ids(&self, name: &str) -> Vec<String> {
        let out = self.podman(&["image", "inspect", name]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v[0]["RootFS"]["Layers"]
            .as_array()
            .unwrap_or_else(|| panic!("no RootFS.Layers for {name}: {v}"))
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect()
    }
}
