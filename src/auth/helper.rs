//! Docker credential helpers: `docker-credential-<name> get` with the server URL on stdin,
//! `{"ServerURL","Username","Secret"}` on stdout; `Username` `<token>` means `Secret` is an
//! identity (OAuth2 refresh) token. "credentials not found" is no credentials, not a failure.
//! The helper's output is never put into errors (it holds the secret); its stderr is, cut
//! short. Knows nothing of HTTP.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

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

/// Asks helper `name` (`docker-credential-<name>` in `PATH`) for `host`'s credentials.
/// `config` is the file that named the helper, for messages.
pub(crate) fn get(name: &str, host: &str, config: &Path) -> Result<Option<Credentials>, AuthError> {
    let helper = format!("docker-credential-{name}");
    let failed = |detail: String| AuthError::HelperFailed {
        helper: helper.clone(),
        host: host.to_string(),
        detail,
    };
    let mut child = match Command::new(&helper)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AuthError::HelperMissing {
                helper,
                host: host.to_string(),
                config: config.to_path_buf(),
            })
        }
        Err(e) => return Err(failed(format!("cannot run it: {e}"))),
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its input is judged by its exit status.
        let _ = stdin.write_all(helper_server_url(host).as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(format!("cannot run it: {e}")))?;
    if !out.status.success() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stdout.contains("credentials not found") || stderr.contains("credentials not found") {
            return Ok(None);
        }
        let first = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("(no message)");
        let first: String = first.chars().take(200).collect();
        return Err(failed(format!("exited with {}: {first}", out.status)));
    }
    let reply: HelperReply = serde_json::from_slice(&out.stdout).map_err(|e| {
        failed(format!(
            "its output is not the expected JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
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
