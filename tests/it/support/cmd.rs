//! Running the `werf-push` binary (and other programs) from integration tests: build the
//! command with [`werf_push`] or [`bin`], run it with [`run`] (captures both streams, stdin
//! closed, killed after [`DEFAULT_TIMEOUT`]) and check it with [`assert_success`] /
//! [`assert_failure`], which print the command and both streams when they fail.
//!
//! [`werf_push`] uses `env!("CARGO_BIN_EXE_werf-push")`, which Cargo defines only for the
//! integration tests of a package that has a binary target named `werf-push`.
//! [`sha256_hex`] / [`sha256_digest`] use the `sha2` crate (a dev-dependency of the
//! `werf-push` package, for its tests and benches).

use std::ffi::OsStr;
use std::io::{self, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// How long [`run`] lets a command run before killing it and panicking.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// A command for the `werf-push` binary built by Cargo for these tests, in a scrubbed
/// environment (see [`scrub`]): nothing the developer or the CI runner has set reaches it.
/// The known-blob cache is off (`WERF_PUSH_NO_CACHE=1`) so that tests neither read nor
/// fill the user's cache: tests of the cache remove the variable and set
/// `WERF_PUSH_CACHE_DIR` to a temporary directory. A test that wants a variable sets it on
/// the returned command (`.env(..)` after this call wins).
pub fn werf_push() -> Command {
    let mut c = bin(env!("CARGO_BIN_EXE_werf-push"));
    scrub(&mut c);
    c.env("WERF_PUSH_NO_CACHE", "1");
    c
}

/// Variables werf-push (or a library it uses) reads that are not covered by a prefix of
/// [`SCRUBBED_PREFIXES`]: CI detection, reproducible timestamps, TLS roots, credentials.
pub const SCRUBBED: &[&str] = &[
    "CI",
    "SOURCE_DATE_EPOCH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "DOCKER_CONFIG",
    "RUST_LOG",
];

/// Prefixes of variables removed from werf-push's environment: its own and werf's
/// (`WERF_`, which covers `WERF_PUSH_`), GitLab CI's (`CI_`: `CI_REGISTRY`,
/// `CI_JOB_TOKEN`), and distribution/podman's (`REGISTRY_`: `REGISTRY_AUTH_FILE`).
pub const SCRUBBED_PREFIXES: &[&str] = &["WERF_", "CI_", "REGISTRY_"];

/// The one environment scrub of werf-push runs: removes every variable of [`SCRUBBED`]
/// and every one of this process's variables with a prefix of [`SCRUBBED_PREFIXES`], and
/// sets `NO_COLOR=1` (diagnostics without colour even on a terminal).
pub fn scrub(c: &mut Command) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if SCRUBBED_PREFIXES.iter().any(|p| k.starts_with(p)) {
            c.env_remove(&*k);
        }
    }
    for k in SCRUBBED {
        c.env_remove(k);
    }
    c.env("NO_COLOR", "1");
}

/// A command for any program (a path, or a name looked up in `PATH`).
pub fn bin(path: impl AsRef<OsStr>) -> Command {
    Command::new(path)
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct Output {
    /// The command as run (program and arguments), for messages.
    pub command: String,
    pub status: ExitStatus,
    /// stdout, lossily decoded as UTF-8 (see `stdout_bytes` for the exact bytes).
    pub stdout: String,
    pub stderr: String,
    pub stdout_bytes: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code (None when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// A readable report of the command, its status and both streams.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` to completion with stdin closed, capturing stdout and stderr; kills it and
/// panics after [`DEFAULT_TIMEOUT`]. Panics if it cannot be started.
pub fn run(cmd: &mut Command) -> Output {
    run_timeout(cmd, DEFAULT_TIMEOUT)
}

/// [`run`] with a chosen timeout.
pub fn run_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    match try_run_timeout(cmd, timeout) {
        Ok(out) => out,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            panic!("{} not found: {e}", describe_command(cmd))
        }
        Err(e) => panic!("{}: {e}", describe_command(cmd)),
    }
}

/// Like [`run_timeout`], but returns the spawn error (e.g. `NotFound`) instead of panicking.
/// Still panics when the timeout is exceeded (after killing the process).
pub fn try_run_timeout(cmd: &mut Command, timeout: Duration) -> io::Result<Output> {
    run_io(cmd, timeout, None, true)
}

/// [`run`] with `stdin` fed to the command (then closed).
pub fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    run_io(cmd, DEFAULT_TIMEOUT, Some(stdin.to_vec()), true)
        .unwrap_or_else(|e| panic!("{}: {e}", describe_command(cmd)))
}

/// [`run`] with stdout a pipe whose reader has already gone, as in `cmd | head -1` once
/// `head` has exited: every write to it fails with `EPIPE`. `stdout` of the result is
/// empty; its status and stderr say how the command took it.
pub fn run_with_closed_stdout(cmd: &mut Command) -> Output {
    run_io(cmd, DEFAULT_TIMEOUT, None, false)
        .unwrap_or_else(|e| panic!("{}: {e}", describe_command(cmd)))
}

fn run_io(
    cmd: &mut Command,
    timeout: Duration,
    stdin: Option<Vec<u8>>,
    capture_stdout: bool,
) -> io::Result<Output> {
    let command = describe_command(cmd);
    let stdout = if capture_stdout {
        Stdio::piped()
    } else {
        let (reader, writer) = io::pipe()?;
        drop(reader);
        writer.into()
    };
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut pipe, &bytes);
        });
    }
    let out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = out_pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = out_reader.join().unwrap_or_default();
            let stderr = err_reader.join().unwrap_or_default();
            panic!(
                "command timed out after {timeout:?} and was killed: {command}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    let stdout_bytes = out_reader.join().expect("stdout reader thread");
    let stderr = err_reader.join().expect("stderr reader thread");
    Ok(Output {
        command,
        status,
        stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        stdout_bytes,
    })
}

fn describe_command(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Panics, printing the command and both streams, unless it exited with 0.
#[track_caller]
pub fn assert_success(out: &Output) {
    if !out.status.success() {
        panic!("expected success\n{}", out.describe());
    }
}

/// Panics, printing the command and both streams, if it exited with 0.
#[track_caller]
pub fn assert_failure(out: &Output) {
    if out.status.success() {
        panic!("expected failure\n{}", out.describe());
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    Sha256::digest(bytes.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `sha256:<hex>`, an OCI digest.
pub fn sha256_digest(bytes: impl AsRef<[u8]>) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// The scrub as the command carries it: every variable of [`SCRUBBED`] removed, colour off,
/// the cache off, and a variable set afterwards by a test wins.
#[test]
fn werf_push_runs_in_the_scrubbed_environment() {
    let mut c = werf_push();
    c.env("SOURCE_DATE_EPOCH", "1");
    let envs: Vec<(String, Option<String>)> = c
        .get_envs()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.map(|v| v.to_string_lossy().into_owned()),
            )
        })
        .collect();
    let value = |k: &str| envs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    for k in SCRUBBED.iter().filter(|k| **k != "SOURCE_DATE_EPOCH") {
        assert_eq!(value(k), Some(None), "{k} not removed: {envs:?}");
    }
    assert_eq!(value("NO_COLOR"), Some(Some("1".into())));
    assert_eq!(value("WERF_PUSH_NO_CACHE"), Some(Some("1".into())));
    assert_eq!(value("SOURCE_DATE_EPOCH"), Some(Some("1".into())));
}
