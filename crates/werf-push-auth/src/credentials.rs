//! Where credentials for a registry host come from, in this order (docs/auth.md):
//! 1. `--registry-username` with `--registry-password[-stdin]` (every registry of the run);
//! 2. Docker's `config.json` (`--docker-config`/`WERF_DOCKER_CONFIG`, `DOCKER_CONFIG`,
//!    `~/.docker`): the host's `credHelpers` entry, else `credsStore`, else `auths`;
//! 3. podman/skopeo `auth.json` (`REGISTRY_AUTH_FILE`, else
//!    `$XDG_RUNTIME_DIR/containers/auth.json` or, without `XDG_RUNTIME_DIR`,
//!    `/run/containers/<uid>/auth.json`, then `$XDG_CONFIG_HOME` or `~/.config`
//!    `/containers/auth.json`);
//! 4. GitLab CI: `gitlab-ci-token` / `$CI_JOB_TOKEN` for `$CI_REGISTRY`;
//! 5. none: anonymous.
//!
//! The environment (given by the caller as a lookup function) is read once, when the
//! store is built. Each answer says which source it
//! came from, for error messages. Knows nothing of HTTP.

use std::fmt;
use std::path::{Path, PathBuf};

use super::docker_config::{self, normalize_host};
use super::{helper, AuthError, Secret};
use werf_push_spec::text::printable;

/// Credentials for one registry.
///
/// Exhaustive on purpose: the auth handshake sends each kind its own way, and a new kind
/// must be given its way there rather than fall into a wildcard arm (which could send a
/// secret where it does not belong).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    /// None: requests go without `Authorization`, tokens are asked for anonymously.
    #[default]
    Anonymous,
    /// User name and password: HTTP Basic, or Basic to a token realm.
    Basic {
        /// The account's name, sent with the password.
        username: String,
        /// The password (or a personal access token used as one).
        password: Secret,
    },
    /// An OAuth2 refresh token (Docker's `identitytoken`, a helper's `<token>` user),
    /// exchanged for access tokens by a POST to the token realm.
    IdentityToken {
        /// The user name stored beside the token, if any (not sent).
        username: Option<String>,
        /// The refresh token.
        token: Secret,
    },
    /// A bearer token sent as it is (Docker's `registrytoken`).
    RegistryToken(Secret),
}

impl Credentials {
    /// [`Credentials::Basic`] of `username` and `password`.
    pub fn basic(username: &str, password: &str) -> Credentials {
        Credentials::Basic {
            username: username.to_string(),
            password: Secret::new(password),
        }
    }
}

/// Where a host's credentials came from (its `Display` is for messages).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// No source had any: anonymous.
    None,
    /// `--registry-username` with `--registry-password[-stdin]`.
    Flags,
    /// An `auths` entry of Docker's `config.json`.
    DockerConfig {
        /// The `config.json` read.
        path: PathBuf,
    },
    /// A Docker credential helper (`credHelpers` or `credsStore`).
    Helper {
        /// The helper's name (`docker-credential-<helper>` is run).
        helper: String,
        /// The `config.json` that names it.
        config: PathBuf,
    },
    /// A podman/skopeo `auth.json`.
    AuthFile {
        /// The `auth.json` read.
        path: PathBuf,
    },
    /// GitLab CI's job token (`CI_REGISTRY`, `CI_JOB_TOKEN`).
    GitlabCi,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::None => f.write_str("no credentials (anonymous)"),
            Source::Flags => f.write_str("--registry-username/--registry-password"),
            Source::DockerConfig { path } => write!(f, "docker config {}", path.display()),
            Source::Helper { helper, config } => write!(
                f,
                "credential helper docker-credential-{helper} (named in {})",
                config.display()
            ),
            Source::AuthFile { path } => write!(f, "auth file {}", path.display()),
            Source::GitlabCi => f.write_str("GitLab CI job token (CI_REGISTRY, CI_JOB_TOKEN)"),
        }
    }
}

/// Credentials for a host and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Found {
    /// The credentials ([`Credentials::Anonymous`] when no source had any).
    pub credentials: Credentials,
    /// The source they came from.
    pub source: Source,
}

/// Every configured source, looked up per host by [`CredentialStore::resolve`].
///
/// Built by [`CredentialStore::from_lookup`] (or `Default`: anonymous); fields may be
/// changed after.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CredentialStore {
    /// `--registry-username` / `--registry-password`.
    pub flags: Option<(String, Secret)>,
    /// Docker's `config.json`.
    pub docker_config: Option<PathBuf>,
    /// podman/skopeo `auth.json` files, first match wins.
    pub auth_files: Vec<PathBuf>,
    /// `CI_REGISTRY` and `CI_JOB_TOKEN`.
    pub gitlab: Option<(String, Secret)>,
}

impl CredentialStore {
    /// Sources from the flags and an environment given as a lookup function (the library
    /// reads no environment variable: a program passes `|k| std::env::var(k).ok()`).
    /// `docker_config_dir` is `--docker-config` (or `WERF_DOCKER_CONFIG`), a directory
    /// holding `config.json`. Without `XDG_RUNTIME_DIR`, podman's login is looked for in
    /// `/run/containers/<uid>`.
    pub fn from_lookup(
        flags: Option<(String, Secret)>,
        docker_config_dir: Option<PathBuf>,
        env: impl Fn(&str) -> Option<String>,
    ) -> CredentialStore {
        Self::with_env(flags, docker_config_dir, env, &per_uid_dir())
    }

    /// [`CredentialStore::from_lookup`] with the directory of podman's login when
    /// `XDG_RUNTIME_DIR` is unset given too (`per_uid_dir`: `/run/containers/<uid>` from
    /// [`CredentialStore::from_lookup`], a temporary directory in tests).
    pub fn with_env(
        flags: Option<(String, Secret)>,
        docker_config_dir: Option<PathBuf>,
        env: impl Fn(&str) -> Option<String>,
        per_uid_dir: &Path,
    ) -> CredentialStore {
        let var = |k: &str| env(k).filter(|v| !v.is_empty());
        let dir = docker_config_dir
            .or_else(|| var("DOCKER_CONFIG").map(PathBuf::from))
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".docker")));
        // containers-auth.json(5), as containers/image reads it: REGISTRY_AUTH_FILE alone
        // when set; else the runtime file ($XDG_RUNTIME_DIR/containers/auth.json, or
        // /run/containers/<uid>/auth.json without XDG_RUNTIME_DIR: root, CI runners), then
        // $XDG_CONFIG_HOME (default ~/.config)/containers/auth.json.
        let auth_files = match var("REGISTRY_AUTH_FILE") {
            Some(f) => vec![PathBuf::from(f)],
            None => {
                let runtime = match var("XDG_RUNTIME_DIR") {
                    Some(d) => PathBuf::from(d).join("containers"),
                    None => per_uid_dir.to_path_buf(),
                };
                let config_home = var("XDG_CONFIG_HOME")
                    .map(PathBuf::from)
                    .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".config")))
                    .map(|d| d.join("containers"));
                std::iter::once(runtime)
                    .chain(config_home)
                    .map(|d| d.join("auth.json"))
                    .collect()
            }
        };
        let gitlab = match (var("CI_REGISTRY"), var("CI_JOB_TOKEN")) {
            (Some(r), Some(t)) => Some((r, Secret::new(t))),
            _ => None,
        };
        CredentialStore {
            flags,
            docker_config: dir.map(|d| d.join("config.json")),
            auth_files,
            gitlab,
        }
    }

    /// Every place looked at, in order, for an error that found nothing (paths printable).
    pub fn places(&self) -> String {
        let path = |p: &Path| printable(&p.display().to_string()).into_owned();
        let mut places = vec!["--registry-username/--registry-password".to_string()];
        if let Some(d) = &self.docker_config {
            places.push(format!("{} (credHelpers, credsStore, auths)", path(d)));
        }
        places.extend(self.auth_files.iter().map(|f| path(f)));
        places.push("CI_REGISTRY/CI_JOB_TOKEN".into());
        places.join(", ")
    }

    /// The credentials for `host` (`reg.example.com:5000`, `registry-1.docker.io`...) from
    /// the first source that has some. May run a credential helper.
    pub fn resolve(&self, host: &str) -> Result<Found, AuthError> {
        let found = |credentials, source| {
            Ok(Found {
                credentials,
                source,
            })
        };
        if let Some((user, password)) = &self.flags {
            return found(
                super::Credentials::Basic {
                    username: user.clone(),
                    password: password.clone(),
                },
                Source::Flags,
            );
        }
        if let Some(path) = &self.docker_config {
            if let Some(cfg) = docker_config::load(path)? {
                let helper_name = cfg
                    .helper_for(host)
                    .map(str::to_string)
                    .or_else(|| cfg.creds_store.clone().filter(|s| !s.is_empty()));
                if let Some(name) = helper_name {
                    if let Some(c) = helper::get(&name, host, path)? {
                        return found(
                            c,
                            Source::Helper {
                                helper: name,
                                config: path.clone(),
                            },
                        );
                    }
                }
                if let Some(c) = cfg.auths_for(path, host)? {
                    return found(c, Source::DockerConfig { path: path.clone() });
                }
            }
        }
        for path in &self.auth_files {
            if let Some(cfg) = docker_config::load(path)? {
                if let Some(c) = cfg.auths_for(path, host)? {
                    return found(c, Source::AuthFile { path: path.clone() });
                }
            }
        }
        if let Some((registry, token)) = &self.gitlab {
            if normalize_host(registry) == normalize_host(host) {
                return found(
                    Credentials::Basic {
                        username: "gitlab-ci-token".into(),
                        password: token.clone(),
                    },
                    Source::GitlabCi,
                );
            }
        }
        found(Credentials::Anonymous, Source::None)
    }
}

/// Where podman, buildah and skopeo keep a login when `XDG_RUNTIME_DIR` is unset:
/// `/run/containers/<uid>` (containers-auth.json(5)).
pub(crate) fn per_uid_dir() -> PathBuf {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    PathBuf::from(format!("/run/containers/{uid}"))
}

#[cfg(test)]
#[path = "credentials_tests.rs"]
mod tests;
