//! `skopeo` (Debian package, 1.9.x) as an independent second client, to check what
//! werf-push pushed: inspect manifests and configs, list tags, copy images between a test
//! registry and OCI layouts. TLS verification is always off (`--tls-verify=false`), which
//! lets skopeo talk plain HTTP to the loopback registries (it tries HTTPS first, then falls
//! back to HTTP; the failed TLS attempt does not appear in the registry's access log).
//!
//! Every helper panics with skopeo's stderr on failure; the `try_` variants return the
//! [`Output`] instead. The free functions use a fresh anonymous [`Skopeo`] per call;
//! build one with [`Skopeo::with_creds`] for a registry with auth.
//!
//! References are `HOST/REPO:TAG` or `HOST/REPO@DIGEST` (`docker://` is added when missing).
//!
//! Isolation from the user's and the machine's configuration. Each [`Skopeo`] owns a
//! temporary directory and runs skopeo with a cleared environment (only `PATH` and the run
//! marker of `scripts/test`, `process::SUITE_MARKER`, kept):
//! - credentials: `REGISTRY_AUTH_FILE` = an empty `{}` auth file of its own (skopeo otherwise
//!   reads `$XDG_RUNTIME_DIR/containers/auth.json` and `~/.docker/config.json`);
//! - trust policy: `--policy` = its own insecureAcceptAnything policy (not
//!   `/etc/containers/policy.json`);
//! - `CONTAINERS_REGISTRIES_CONF` = an empty file (no mirrors, aliases or `insecure` entries
//!   from `/etc/containers/registries.conf`), `--registries.d` = an empty dir (no lookaside
//!   signature config), `CONTAINERS_CONF` = an empty file;
//! - blob-info cache: skopeo 1.9 (containers/image v5.23) keeps a BoltDB cache of "which
//!   blob is known in which repository" (used to try cross-repository mounts and to skip
//!   uploads). Running as root (euid 0) it is `/var/lib/containers/cache/blob-info-cache-v1.boltdb`,
//!   shared by every run on the machine; rootless it is
//!   `$XDG_DATA_HOME/containers/cache/` (or `$HOME/.local/share/containers/cache/`). There is
//!   no CLI flag for it, but containers/image takes the euid from `_CONTAINERS_ROOTLESS_UID`
//!   when set, so this module sets `_CONTAINERS_ROOTLESS_UID=1000` with `HOME` and
//!   `XDG_DATA_HOME` inside its temporary directory: the cache lands in its
//!   `data/containers/cache/` and dies with the [`Skopeo`];
//! - `TMPDIR` and `--tmpdir` = its temporary directory (skopeo otherwise uses `/var/tmp`);
//! - `--command-timeout` = [`COMMAND_TIMEOUT`], so a hung skopeo fails the test.

use std::fs;
use std::io;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use tempfile::TempDir;

use super::cmd::{self, Output};

/// The skopeo binary, looked up in `PATH`.
pub const SKOPEO_BIN: &str = "skopeo";

/// Passed as `--command-timeout`.
pub const COMMAND_TIMEOUT: &str = "120s";

/// Panics with an install hint when skopeo cannot be run (checked once per test binary).
pub fn ensure_installed() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        match Command::new(SKOPEO_BIN).arg("--version").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "`{SKOPEO_BIN} --version` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => panic!(
                "{SKOPEO_BIN} not found: run scripts/test (it installs it) or apt-get install skopeo"
            ),
            Err(e) => panic!("cannot run {SKOPEO_BIN}: {e}"),
        }
    });
}

/// An isolated skopeo configuration (see the module docs), optionally with credentials.
pub struct Skopeo {
    dir: TempDir,
    creds: Option<String>,
}

impl Default for Skopeo {
    fn default() -> Self {
        Self::new()
    }
}

impl Skopeo {
    /// Anonymous access.
    pub fn new() -> Skopeo {
        ensure_installed();
        let dir = tempfile::Builder::new()
            .prefix("werf-push-skopeo-")
            .tempdir()
            .expect("create skopeo temp dir");
        let p = dir.path();
        for sub in ["home", "data", "config", "tmp", "registries.d"] {
            fs::create_dir_all(p.join(sub)).expect("create skopeo dir");
        }
        fs::write(p.join("auth.json"), "{}").expect("write auth.json");
        fs::write(
            p.join("policy.json"),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .expect("write policy.json");
        fs::write(p.join("registries.conf"), "").expect("write registries.conf");
        fs::write(p.join("containers.conf"), "").expect("write containers.conf");
        Skopeo { dir, creds: None }
    }

    /// With Basic credentials for every registry it talks to (`--creds`, `--src-creds`,
    /// `--dest-creds`).
    pub fn with_creds(user: &str, password: &str) -> Skopeo {
        let mut s = Skopeo::new();
        s.creds = Some(format!("{user}:{password}"));
        s
    }

    /// A skopeo command with the isolated environment and global flags; add the subcommand
    /// and its arguments.
    pub fn command(&self) -> Command {
        let p = self.dir.path();
        let mut c = Command::new(SKOPEO_BIN);
        c.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            c.env("PATH", path);
        }
        c.env("HOME", p.join("home"))
            .env("XDG_DATA_HOME", p.join("data"))
            .env("XDG_CONFIG_HOME", p.join("config"))
            .env("XDG_RUNTIME_DIR", p.join("tmp"))
            .env("TMPDIR", p.join("tmp"))
            .env("_CONTAINERS_ROOTLESS_UID", "1000")
            .env("REGISTRY_AUTH_FILE", p.join("auth.json"))
            .env("CONTAINERS_REGISTRIES_CONF", p.join("registries.conf"))
            .env("CONTAINERS_CONF", p.join("containers.conf"))
            .envs(super::process::suite_marker())
            .arg("--policy")
            .arg(p.join("policy.json"))
            .arg("--registries.d")
            .arg(p.join("registries.d"))
            .arg("--tmpdir")
            .arg(p.join("tmp"))
            .arg("--command-timeout")
            .arg(COMMAND_TIMEOUT);
        c
    }

    /// Runs `skopeo <global flags> ARGS...` and returns its output whatever the status.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut c = self.command();
        c.args(args);
        cmd::run(&mut c)
    }

    fn ok(&self, out: Output) -> Result<Output, Output> {
        if out.success() {
            Ok(out)
        } else {
            Err(out)
        }
    }

    fn creds_args(&self, flag: &str) -> Vec<String> {
        match &self.creds {
            Some(c) => vec![format!("{flag}={c}")],
            None => Vec::new(),
        }
    }

    fn inspect_args(&self, extra: &[&str], reference: &str) -> Vec<String> {
        let mut args = vec!["inspect".to_string(), "--tls-verify=false".to_string()];
        args.extend(self.creds_args("--creds"));
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(docker_ref(reference));
        args
    }

    fn run_owned(&self, args: &[String]) -> Output {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&refs)
    }

    /// The manifest (or index) bytes exactly as the registry serves them
    /// (`skopeo inspect --raw`).
    pub fn try_inspect_raw(&self, reference: &str) -> Result<Vec<u8>, Output> {
        let out = self.run_owned(&self.inspect_args(&["--raw"], reference));
        self.ok(out).map(|o| o.stdout_bytes)
    }

    pub fn inspect_raw(&self, reference: &str) -> Vec<u8> {
        self.try_inspect_raw(reference).unwrap_or_else(|o| fail(o))
    }

    /// The image config blob, parsed (`skopeo inspect --config`).
    pub fn try_inspect_config(&self, reference: &str) -> Result<serde_json::Value, Output> {
        let out = self.run_owned(&self.inspect_args(&["--config"], reference));
        self.ok(out).map(|o| parse_json(&o))
    }

    pub fn inspect_config(&self, reference: &str) -> serde_json::Value {
        self.try_inspect_config(reference)
            .unwrap_or_else(|o| fail(o))
    }

    /// Tags of a repository (`skopeo list-tags docker://HOST/REPO`), sorted.
    pub fn try_list_tags(&self, repository: &str) -> Result<Vec<String>, Output> {
        let mut args = vec!["list-tags".to_string(), "--tls-verify=false".to_string()];
        args.extend(self.creds_args("--creds"));
        args.push(docker_ref(repository));
        let out = self.ok(self.run_owned(&args))?;
        let v = parse_json(&out);
        Ok(super::registry::sorted_tags(&v, "Tags"))
    }

    pub fn list_tags(&self, repository: &str) -> Vec<String> {
        self.try_list_tags(repository).unwrap_or_else(|o| fail(o))
    }

    /// `skopeo copy [EXTRA...] SRC DEST` with full transport references
    /// (`docker://...`, `oci:DIR:TAG`, `dir:...`).
    pub fn try_copy(&self, src: &str, dest: &str, extra: &[&str]) -> Result<Output, Output> {
        let mut args = vec![
            "copy".to_string(),
            "--src-tls-verify=false".to_string(),
            "--dest-tls-verify=false".to_string(),
        ];
        args.extend(self.creds_args("--src-creds"));
        args.extend(self.creds_args("--dest-creds"));
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(src.to_string());
        args.push(dest.to_string());
        self.ok(self.run_owned(&args))
    }

    pub fn copy(&self, src: &str, dest: &str, extra: &[&str]) -> Output {
        self.try_copy(src, dest, extra).unwrap_or_else(|o| fail(o))
    }

    /// Registry image -> OCI layout `dest_dir` (created if missing) under `tag`. A Docker
    /// schema2 source is converted to OCI on the way, which changes its digests.
    pub fn try_copy_to_oci(
        &self,
        reference: &str,
        dest_dir: impl AsRef<Path>,
        tag: &str,
    ) -> Result<Output, Output> {
        let dest = format!("oci:{}:{tag}", dest_dir.as_ref().display());
        self.try_copy(&docker_ref(reference), &dest, &[])
    }

    pub fn copy_to_oci(&self, reference: &str, dest_dir: impl AsRef<Path>, tag: &str) {
        self.try_copy_to_oci(reference, dest_dir, tag)
            .unwrap_or_else(|o| fail(o));
    }

    /// OCI layout `src_dir` (image `tag` in its index.json) -> registry `reference`.
    pub fn try_copy_from_oci(
        &self,
        src_dir: impl AsRef<Path>,
        tag: &str,
        reference: &str,
    ) -> Result<Output, Output> {
        let src = format!("oci:{}:{tag}", src_dir.as_ref().display());
        self.try_copy(&src, &docker_ref(reference), &[])
    }

    pub fn copy_from_oci(&self, src_dir: impl AsRef<Path>, tag: &str, reference: &str) {
        self.try_copy_from_oci(src_dir, tag, reference)
            .unwrap_or_else(|o| fail(o));
    }
}

/// `docker://` + `reference`, unless it already has it.
pub fn docker_ref(reference: &str) -> String {
    if reference.starts_with("docker://") {
        reference.to_string()
    } else {
        format!("docker://{reference}")
    }
}

fn parse_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout_bytes)
        .unwrap_or_else(|e| panic!("skopeo printed invalid JSON ({e})\n{}", out.describe()))
}

#[track_caller]
fn fail(out: Output) -> ! {
    panic!("skopeo failed\n{}", out.describe())
}

/// [`Skopeo::copy_to_oci`] with a fresh anonymous [`Skopeo`].
pub fn copy_to_oci(reference: &str, dest_dir: impl AsRef<Path>, tag: &str) {
    Skopeo::new().copy_to_oci(reference, dest_dir, tag)
}
