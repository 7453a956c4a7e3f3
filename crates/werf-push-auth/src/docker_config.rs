//! The credential files of Docker (`config.json`: `auths`, `credHelpers`, `credsStore`) and
//! of podman/skopeo (`auth.json`: `auths`), read into credentials for one host. Registry
//! keys are matched by host name (`https://host/v1/` and `host` are the same key), Docker
//! Hub's aliases all count as `docker.io`. Parse errors never quote the file's contents
//! (they may hold secrets): only the line and column. Knows nothing of HTTP.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;

use super::{AuthError, Credentials, Secret};

/// Docker Hub's canonical key in credential stores and for credential helpers.
pub(crate) const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// A parsed `config.json` or `auth.json` (unknown fields ignored).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ConfigFile {
    #[serde(default)]
    pub auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    pub cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    pub creds_store: Option<String>,
}

/// One `auths` entry.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuthEntry {
    pub auth: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub identitytoken: Option<String>,
    pub registrytoken: Option<String>,
}

/// The host part of a registry key, lower-cased, Docker Hub's aliases as `docker.io`:
/// `https://index.docker.io/v1/` -> `docker.io`, `http://reg:5000/v2/` -> `reg:5000`.
pub(crate) fn normalize_host(key: &str) -> String {
    let k = key.trim();
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    let k = k.split('/').next().unwrap_or("").to_ascii_lowercase();
    if werf_push_spec::reference::is_docker_hub(&k) {
        werf_push_spec::reference::DOCKER_HUB.to_string()
    } else {
        k
    }
}

/// The server URL a credential helper is asked about for `host` (Docker's convention).
pub(crate) fn helper_server_url(host: &str) -> String {
    match normalize_host(host).as_str() {
        "docker.io" => DOCKER_HUB_KEY.to_string(),
        h => h.to_string(),
    }
}

/// Reads `path`; `None` when it does not exist.
pub(crate) fn load(path: &Path) -> Result<Option<ConfigFile>, AuthError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AuthError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(ConfigFile::default()));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| AuthError::Parse {
            path: path.to_path_buf(),
            // Never `e.to_string()`: serde quotes the offending value, maybe a secret.
            detail: format!(
                "{:?} error at line {}, column {}",
                e.classify(),
                e.line(),
                e.column()
            ),
        })
}

impl ConfigFile {
    /// The `credHelpers` entry for `host`.
    pub(crate) fn helper_for(&self, host: &str) -> Option<&str> {
        let want = normalize_host(host);
        self.cred_helpers
            .iter()
            .find(|(k, _)| normalize_host(k) == want)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Credentials from the `auths` entry for `host`; `None` when there is no entry or it
    /// holds nothing (an empty entry is a placeholder next to a `credsStore`).
    pub(crate) fn auths_for(
        &self,
        path: &Path,
        host: &str,
    ) -> Result<Option<Credentials>, AuthError> {
        let want = normalize_host(host);
        // An exact host key wins over a per-repository key (podman's `host/namespace`).
        let mut entries: Vec<(&String, &AuthEntry)> = self
            .auths
            .iter()
            .filter(|(k, _)| normalize_host(k) == want)
            .collect();
        entries.sort_by_key(|(k, _)| k.trim_end_matches('/').contains('/') && !k.contains("://"));
        for (_, entry) in entries {
            if let Some(c) = entry.credentials(path, host)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }
}

impl AuthEntry {
    fn credentials(&self, path: &Path, host: &str) -> Result<Option<Credentials>, AuthError> {
        let bad = |detail: &str| AuthError::BadEntry {
            path: PathBuf::from(path),
            host: host.to_string(),
            detail: detail.to_string(),
        };
        let decoded = match self.auth.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(a.trim())
                    .map_err(|_| bad("`auth` is not base64"))?;
                let text = String::from_utf8(raw).map_err(|_| bad("`auth` is not UTF-8"))?;
                let (u, p) = text
                    .split_once(':')
                    .ok_or_else(|| bad("`auth` does not decode to user:password"))?;
                Some((u.to_string(), p.to_string()))
            }
            None => None,
        };
        let username = self
            .username
            .clone()
            .filter(|u| !u.is_empty())
            .or_else(|| decoded.as_ref().map(|(u, _)| u.clone()));
        if let Some(t) = self.identitytoken.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credentials::IdentityToken {
                username: username.filter(|u| u != "<token>"),
                token: Secret::new(t),
            }));
        }
        if let Some(t) = self.registrytoken.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credentials::RegistryToken(Secret::new(t))));
        }
        if let (Some(u), Some(p)) = (&self.username, &self.password) {
            if !u.is_empty() {
                return Ok(Some(Credentials::basic(u, p)));
            }
        }
        Ok(decoded
            .filter(|(u, _)| !u.is_empty())
            .map(|(u, p)| Credentials::basic(&u, &p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_table() {
        let cases = [
            ("https://index.docker.io/v1/", "docker.io"),
            ("index.docker.io", "docker.io"),
            ("docker.io", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("http://Reg.Example.com:5000/v2/", "reg.example.com:5000"),
            ("reg.example.com", "reg.example.com"),
            ("quay.io/org/repo", "quay.io"),
            ("127.0.0.1:5000", "127.0.0.1:5000"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_host(input), want, "{input}");
        }
        assert_eq!(helper_server_url("registry-1.docker.io"), DOCKER_HUB_KEY);
        assert_eq!(helper_server_url("ghcr.io"), "ghcr.io");
    }

    fn parse(json: &str) -> ConfigFile {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn auths_entries_table() {
        let p = Path::new("/x/config.json");
        // (file, host, expected Debug of the credentials; secrets are redacted in it)
        let cases = [
            (
                r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}}}"#,
                "registry-1.docker.io",
                Some(r#"Basic { username: "u", password: <redacted> }"#),
            ),
            (
                r#"{"auths":{"reg:5000":{"username":"a","password":"b"}}}"#,
                "reg:5000",
                Some(r#"Basic { username: "a", password: <redacted> }"#),
            ),
            (
                r#"{"auths":{"reg":{"auth":"PHRva2VuPjo=","identitytoken":"rt"}}}"#,
                "reg",
                Some("IdentityToken { username: None, token: <redacted> }"),
            ),
            (
                r#"{"auths":{"reg":{"registrytoken":"bt"}}}"#,
                "reg",
                Some("RegistryToken(<redacted>)"),
            ),
            (r#"{"auths":{"reg":{}}}"#, "reg", None),
            (r#"{"auths":{"other":{"auth":"dTpw"}}}"#, "reg", None),
            (
                r#"{"auths":{"quay.io/org":{"auth":"bzpw"},"quay.io":{"auth":"dTpw"}}}"#,
                "quay.io",
                Some(r#"Basic { username: "u", password: <redacted> }"#),
            ),
        ];
        for (json, host, want) in cases {
            let got = parse(json).auths_for(p, host).unwrap();
            assert_eq!(got.map(|c| format!("{c:?}")).as_deref(), want, "{json}");
        }
    }

    #[test]
    fn bad_entries_name_the_file_not_the_secret() {
        let p = Path::new("/x/config.json");
        for json in [
            r#"{"auths":{"reg":{"auth":"not base64!!"}}}"#,
            r#"{"auths":{"reg":{"auth":"bm9jb2xvbg=="}}}"#,
        ] {
            let e = parse(json).auths_for(p, "reg").unwrap_err().to_string();
            assert!(e.contains("/x/config.json") && e.contains("reg"), "{e}");
            assert!(!e.contains("nocolon") && !e.contains("not base64!!"), "{e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("config.json");
        std::fs::write(&f, r#"{"auths":{"reg":"hunter2"}}"#).unwrap();
        let e = load(&f).unwrap_err().to_string();
        assert!(e.contains("line 1") && !e.contains("hunter2"), "{e}");
        assert!(load(&dir.path().join("missing.json")).unwrap().is_none());
    }

    #[test]
    fn helpers_by_host() {
        let c = parse(
            r#"{"credHelpers":{"https://index.docker.io/v1/":"hub","ecr.aws":"ecr-login"},"credsStore":"pass"}"#,
        );
        assert_eq!(c.helper_for("docker.io"), Some("hub"));
        assert_eq!(c.helper_for("ecr.aws"), Some("ecr-login"));
        assert_eq!(c.helper_for("ghcr.io"), None);
        assert_eq!(c.creds_store.as_deref(), Some("pass"));
    }
}
