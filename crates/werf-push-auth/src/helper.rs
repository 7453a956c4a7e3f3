//! Docker credential helpers: `docker-credential-<name> get` with the server URL on stdin,
//! `{"ServerURL","Username","Secret"}` on stdout; `Username` `<token>` means `Secret` is an
//! identity (OAuth2 refresh) token. "credentials not found" is no credentials, not a failure.
//! The helper's output is never put into errors (it holds the secret); its stderr is, cut
//! short. Knows nothing of HTTP.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde::Deserialize;

use super::docker_config::helper_server_url;
use super::{AuthError, Credentials, Secret};

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// How long a helper may take to answer (a helper waiting for a GUI unlock would
/// otherwise hang the push forever).
pub(crate) const HELPER_TIMEOUT: Duration = Duration::from_secs(60);

/// Asks helper `name` (`docker-credential-<name>` in `PATH`) for `host`'s credentials.
/// `config` is the file that named the helper, for messages.
pub(crate) fn get(name: &str, host: &str, config: &Path) -> Result<Option<Credentials>, AuthError> {
    run(
        &format!("docker-credential-{name}"),
        host,
        config,
        HELPER_TIMEOUT,
    )
}

/// Runs `helper get` for `host`: started, asked, waited for (at most `timeout`), its answer
/// read.
fn run(
    helper: &str,
    host: &str,
    config: &Path,
    timeout: Duration,
) -> Result<Option<Credentials>, AuthError> {
    let failed = |detail: String| AuthError::HelperFailed {
        helper: helper.to_string(),
        host: host.to_string(),
        detail,
    };
    let mut child = spawn(helper, host, config)?;
    ask(&mut child, host);
    let out = wait(child, timeout).map_err(failed)?;
    if !out.status.success() && not_found(&out) {
        return Ok(None);
    }
    if !out.status.success() {
        return Err(failed(exit_detail(&out)));
    }
    credentials(&out.stdout).map_err(failed)
}

/// Starts `helper get` with its three streams piped; a helper not in `PATH` is
/// [`AuthError::HelperMissing`].
fn spawn(helper: &str, host: &str, config: &Path) -> Result<Child, AuthError> {
    Command::new(helper)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => AuthError::HelperMissing {
                helper: helper.to_string(),
                host: host.to_string(),
                config: config.to_path_buf(),
            },
            _ => AuthError::HelperFailed {
                helper: helper.to_string(),
                host: host.to_string(),
                detail: format!("cannot run it: {e}"),
            },
        })
}

/// Writes the server URL of `host` to the helper's stdin and closes it.
fn ask(child: &mut Child, host: &str) {
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its input is judged by its exit status.
        let _ = stdin.write_all(helper_server_url(host).as_bytes());
    }
}

/// The helper's exit status and output, or why there are none: it could not be waited
/// for, or did not exit within `timeout` (then it is killed).
fn wait(child: Child, timeout: Duration) -> Result<Output, String> {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(out) => out.map_err(|e| format!("cannot run it: {e}")),
        Err(_) => {
            // SAFETY: kill(2) on the helper's own pid; it has not been reaped (the waiting
            // thread has not returned), so the pid is still ours.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
            Err(format!("did not answer within {} s", timeout.as_secs_f32()))
        }
    }
}

/// Whether a failed helper said it has no credentials for the host: no credentials, not a
/// failure.
fn not_found(out: &Output) -> bool {
    let says = |bytes: &[u8]| String::from_utf8_lossy(bytes).contains("credentials not found");
    says(&out.stdout) || says(&out.stderr)
}

/// A failed helper's exit status and the first line of its stderr, cut at 200 characters
/// (never its stdout: that may hold the secret).
fn exit_detail(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no message)");
    let first: String = first.chars().take(200).collect();
    format!("exited with {}: {first}", out.status)
}

/// The credentials in a helper's answer (`None` for an empty secret); an answer that is
/// not the expected JSON is an error that does not quote it.
fn credentials(stdout: &[u8]) -> Result<Option<Credentials>, String> {
    let reply: HelperReply = serde_json::from_slice(stdout).map_err(|e| {
        format!(
            "its output is not the expected JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    if reply.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if reply.username == "<token>" {
        Credentials::IdentityToken {
            username: None,
            token: Secret::new(reply.secret),
        }
    } else {
        Credentials::basic(&reply.username, &reply.secret)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn helpers_table() {
        let dir = tempfile::tempdir().unwrap();
        // (script body, Ok(username) | Err(message part))
        let cases: [(&str, Result<Option<&str>, &str>); 4] = [
            (
                r#"echo '{"ServerURL":"h","Username":"u","Secret":"s"}'"#,
                Ok(Some("u")),
            ),
            (
                "echo 'credentials not found in native keychain'; exit 1",
                Ok(None),
            ),
            ("echo boom >&2; exit 3", Err("exited with")),
            ("sleep 5", Err("did not answer within 0.3 s")),
        ];
        for (i, (body, want)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("helper{i}"));
            std::fs::write(&path, format!("#!/bin/sh\ncat >/dev/null\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            let got = run(
                path.to_str().unwrap(),
                "reg.io",
                Path::new("config.json"),
                Duration::from_millis(300),
            );
            match (got, want) {
                (Ok(Some(Credentials::Basic { username, .. })), Ok(Some(u))) => {
                    assert_eq!(username, u, "{body}")
                }
                (Ok(None), Ok(None)) => {}
                (Err(e), Err(part)) => assert!(e.to_string().contains(part), "{body}: {e}"),
                (got, want) => panic!("{body}: got {got:?}, want {want:?}"),
            }
        }
        // No such program: the helper is missing, and the file naming it is said.
        let absent = dir.path().join("docker-credential-absent");
        let got = run(
            absent.to_str().unwrap(),
            "reg.io",
            Path::new("config.json"),
            Duration::from_millis(300),
        );
        match got {
            Err(e @ AuthError::HelperMissing { .. }) => {
                assert!(e.to_string().contains("config.json"), "{e}")
            }
            got => panic!("absent helper: got {got:?}"),
        }
    }
}
