//! Helpers shared by the push tests of many areas (faults, quirks, hostile input, exit
//! codes, hints, ...): temp dirs, running `werf-push push` and other commands (checked for
//! panics), the error and hint lines of a failed run checked, layouts with a big layer,
//! the upload sessions a registry's storage still holds, and the final check of every
//! scenario: skopeo, reading straight from the registry (not through the proxy), gets back
//! exactly the local manifest bytes and blobs.

use std::path::Path;

use tempfile::TempDir;

use super::cmd::{self, sha256_digest, Output};
use super::layouts::{self, Format};
use super::skopeo::{self, Skopeo};

pub const KIB: usize = 1 << 10;
pub const MIB: usize = 1 << 20;

pub fn tmp() -> TempDir {
    tempfile::Builder::new()
        .prefix("werf-push-test-")
        .tempdir()
        .expect("create temp dir")
}

/// `oci:DIR`
pub fn oci(dir: &Path) -> String {
    format!("oci:{}", dir.display())
}

/// A `werf-push push ARGS...` command with the environment it reads cleared.
pub fn push_command(args: &[&str]) -> std::process::Command {
    let mut c = cmd::werf_push();
    c.arg("push").args(args);
    c
}

/// Runs `werf-push push ARGS...`; checks it did not panic, whatever its status.
pub fn push(args: &[&str]) -> Output {
    let out = cmd::run(&mut push_command(args));
    assert_no_panic(&out);
    out
}

/// Runs `werf-push ARGS...` (any command) for at most 2 minutes; checks it did not panic,
/// whatever its status.
pub fn werf_push_args(args: &[&str]) -> Output {
    let mut c = cmd::werf_push();
    c.args(args);
    let out = cmd::run_timeout(&mut c, std::time::Duration::from_secs(120));
    assert_no_panic(&out);
    out
}

/// The first `error:` line of the stderr of `out` (panics, showing `out`, when there is none).
#[track_caller]
pub fn error_line(out: &Output) -> String {
    out.stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no `error:` line\n{}", out.describe()))
        .to_string()
}

/// The `hint:` lines of the stderr of `out`.
pub fn hint_lines(out: &Output) -> Vec<&str> {
    out.stderr
        .lines()
        .filter(|l| l.starts_with("hint:"))
        .collect()
}

/// Checks what a user reads of a failed run: `out` exited with `code` without a panic and
/// its `error:` line contains `error`; `what` names the case in a failure. Returns the
/// error line, for further checks.
#[track_caller]
pub fn assert_error(what: &str, out: &Output, code: i32, error: &str) -> String {
    assert_no_panic(out);
    assert_eq!(
        out.code(),
        Some(code),
        "{what}: exit code\n{}",
        out.describe()
    );
    let line = error_line(out);
    assert!(
        line.contains(error),
        "{what}: {error:?} not in the error line\n{}",
        out.describe()
    );
    line
}

/// [`assert_error`], and one of the `hint:` lines of `out` contains `hint`.
#[track_caller]
pub fn assert_error_and_hint(
    what: &str,
    out: &Output,
    code: i32,
    error: &str,
    hint: &str,
) -> String {
    let line = assert_error(what, out, code, error);
    let hints = hint_lines(out);
    assert!(
        hints.iter().any(|h| h.contains(hint)),
        "{what}: no hint with {hint:?}: {hints:?}\n{}",
        out.describe()
    );
    line
}

#[track_caller]
pub fn assert_no_panic(out: &Output) {
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("RUST_BACKTRACE"),
        "werf-push panicked\n{}",
        out.describe()
    );
}

/// An OCI image with one layer of about `size` bytes and a small one; returns the manifest
/// digest and the bytes of its blobs (configs and layers).
pub fn big_image(dir: &Path, size: usize, seed: u64) -> (String, u64) {
    let digest = layouts::image(dir, &[size, 4 * KIB], seed, Format::Oci, None);
    let bytes = layouts::unique_blob_bytes(dir, &digest);
    (digest, bytes)
}

/// skopeo reads `reference` back: the exact manifest bytes, and (copied into a fresh
/// layout) exactly the blobs the local image references, each hashing to its name.
#[track_caller]
pub fn assert_reads_back_identical(reference: &str, src: &Path, digest: &str) {
    let sk = Skopeo::new();
    let raw = sk.inspect_raw(reference);
    assert_eq!(
        sha256_digest(&raw),
        digest,
        "{reference}: the registry serves other manifest bytes"
    );
    assert_eq!(raw, layouts::read_blob(src, digest), "{reference}: bytes");
    let is_index = layouts::manifest_digests(src, digest).len() > 1;
    let back = tmp();
    let dest = format!("oci:{}:back", back.path().join("oci").display());
    let extra: &[&str] = if is_index { &["--all"] } else { &[] };
    sk.copy(&skopeo::docker_ref(reference), &dest, extra);
    assert_eq!(
        layouts::blob_files(&back.path().join("oci")),
        layouts::referenced_blobs(src, digest),
        "{reference}: skopeo copied back other blobs than the local image has"
    );
}

/// The upload sessions `repo` holds in the registry's storage: directories
/// `docker/registry/v2/repositories/<repo>/_uploads/<uuid>` with a `startedat` or a `data`
/// file, each with the bytes of its `data` (0 when it has none yet). A cancelled session
/// is not one: distribution 2.8 answers its `DELETE` with 204 and removes both, but leaves
/// `hashstates/sha256/0` behind (its DELETE handler writes the hash state once more on
/// close); that residue is no session (`GET` answers `BLOB_UPLOAD_UNKNOWN`) and holds no data.
pub fn upload_sessions(reg: &super::registry::Registry, repo: &str) -> Vec<(String, u64)> {
    let dir = reg
        .storage_dir()
        .join("docker/registry/v2/repositories")
        .join(repo)
        .join("_uploads");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("startedat").exists() || e.path().join("data").exists())
        .map(|e| {
            let data = std::fs::metadata(e.path().join("data")).map_or(0, |m| m.len());
            (e.file_name().to_string_lossy().into_owned(), data)
        })
        .collect()
}
