//! Repository addresses (`--images-repo`): split into registry host and path, validated
//! against the docker reference grammar of `spec::reference` (its host and path-component
//! rules, the one source of them), and classified by registry (Docker Hub, Quay, GitHub
//! Packages, other) from the host's vendor (`spec::Vendor`, the one reading of host names).
//!
//! Knows nothing of HTTP, registry APIs or credentials, nor of image names or tags.

use super::error::WerfError;
use werf_push_spec::reference::{component_problem, is_host, is_path_component};
use werf_push_spec::Vendor;

/// The registries whose nesting limits matter; every other registry is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Registry {
    DockerHub,
    Quay,
    GitHubPackages,
    Other,
}

/// How a registry that cannot nest repositories reads a repo's path.
pub(crate) struct Shape {
    /// Path depth of a bare account; a repository is one deeper.
    pub(crate) base: usize,
    pub(crate) bare: &'static str,
    pub(crate) repository: &'static str,
    /// What a bare account lacks to be a repository.
    pub(crate) missing: &'static str,
    pub(crate) expected: &'static str,
}

impl Registry {
    /// `None` for registries that nest repositories freely.
    pub(crate) fn shape(self) -> Option<Shape> {
        match self {
            Registry::DockerHub | Registry::Quay => Some(Shape {
                base: 1,
                bare: "a bare account (ACCOUNT)",
                repository: "ACCOUNT/REPOSITORY",
                missing: "REPOSITORY",
                expected: "ACCOUNT (multirepo) or ACCOUNT/REPOSITORY (monorepo)",
            }),
            Registry::GitHubPackages => Some(Shape {
                base: 2,
                bare: "OWNER/REPOSITORY without a package",
                repository: "OWNER/REPOSITORY/PACKAGE",
                missing: "PACKAGE",
                expected: "OWNER/REPOSITORY (multirepo) or OWNER/REPOSITORY/PACKAGE (monorepo)",
            }),
            Registry::Other => None,
        }
    }
}

/// A repo split into its registry host (if any) and path components.
pub(crate) struct Repo<'a> {
    /// Trailing `/` trimmed.
    pub(crate) text: &'a str,
    pub(crate) host: Option<&'a str>,
    pub(crate) path: Vec<&'a str>,
}

impl Repo<'_> {
    pub(crate) fn registry(&self) -> Registry {
        let Some(host) = self.host else {
            return Registry::DockerHub;
        };
        match Vendor::of_host(host) {
            Vendor::DockerHub => Registry::DockerHub,
            Vendor::Quay => Registry::Quay,
            Vendor::GitHubPackages => Registry::GitHubPackages,
            _ => Registry::Other,
        }
    }

    pub(crate) fn registry_name(&self) -> &str {
        self.host.unwrap_or("docker.io")
    }
}

pub(crate) fn parse_repo(repo: &str) -> Result<Repo<'_>, WerfError> {
    let text = repo.trim_end_matches('/');
    let bad = |reason: String| WerfError::InvalidRepo {
        repo: repo.to_string(),
        reason,
    };
    if text.is_empty() {
        return Err(bad("it is empty: give REGISTRY/PROJECT, e.g. \
                        registry.example.com/project"
            .into()));
    }
    if text.contains("://") {
        return Err(bad(
            "a repo has no URL scheme: drop the 'scheme://' part".into()
        ));
    }
    if text.contains('@') {
        return Err(bad("a repo has no digest: drop the '@...' part".into()));
    }
    let mut parts: Vec<&str> = text.split('/').collect();
    let first = parts.first().copied().unwrap_or_default();
    let host = if first.contains('.') || first.contains(':') || first == "localhost" {
        if !is_host(first) {
            return Err(bad(format!(
                "'{first}' is not a registry host[:port]: letters, digits, '.' and '-', \
                 then an optional ':' and port number"
            )));
        }
        parts.remove(0);
        Some(first)
    } else {
        None
    };
    for c in &parts {
        if !is_path_component(c) {
            return Err(bad(format!(
                "{}{}",
                component_problem(c),
                last_part_hint(c)
            )));
        }
    }
    Ok(Repo {
        text,
        host,
        path: parts,
    })
}

fn last_part_hint(c: &str) -> &'static str {
    if c.contains(':') {
        ": a repo has no tag, the tags come from the --tag-* options"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (repo, Ok("host|path/parts|registry") or Err(start of the message))
    const CASES: &[(&str, Result<&str, &str>)] = &[
        ("account", Ok("-|account|DockerHub")),
        ("account/repo//", Ok("-|account/repo|DockerHub")),
        ("docker.io/a", Ok("docker.io|a|DockerHub")),
        ("Index.Docker.IO:443/a", Ok("Index.Docker.IO:443|a|DockerHub")),
        ("registry-1.docker.io/a/b", Ok("registry-1.docker.io|a/b|DockerHub")),
        ("quay.io/a", Ok("quay.io|a|Quay")),
        ("quay.corp.com/a", Ok("quay.corp.com|a|Quay")),
        ("quay.com/a", Ok("quay.com|a|Other")),
        // The host's vendor is read once, for naming and upload profiles alike: Quay's
        // subdomains and any port.
        ("eu.quay.io/a", Ok("eu.quay.io|a|Quay")),
        ("quay.corp.com:8443/a", Ok("quay.corp.com:8443|a|Quay")),
        ("quay.io:443/a", Ok("quay.io:443|a|Quay")),
        ("docker.pkg.github.com/o/r", Ok("docker.pkg.github.com|o/r|GitHubPackages")),
        ("ghcr.io/o", Ok("ghcr.io|o|Other")),
        ("localhost", Ok("localhost||Other")),
        ("localhost:5000/a.b/c__d/e---f", Ok("localhost:5000|a.b/c__d/e---f|Other")),
        ("[::1]:5000/a", Ok("[::1]:5000|a|Other")),
        ("[::1]x/a", Err("bad --images-repo '[::1]x/a' specified: '[::1]x' is not a registry host")),
        ("", Err("bad --images-repo '' specified: it is empty")),
        ("/", Err("bad --images-repo '/' specified: it is empty")),
        ("https://registry.example.com/x", Err("bad --images-repo 'https://registry.example.com/x' specified: a repo has no URL scheme")),
        ("registry.example.com/x:latest", Err("bad --images-repo 'registry.example.com/x:latest' specified: path component 'x:latest' is not valid: lowercase letters and digits, separated by '.', '_', '__' or dashes: a repo has no tag")),
        ("registry.example.com/X", Err("bad --images-repo 'registry.example.com/X' specified: path component 'X'")),
        ("registry.example.com//x", Err("bad --images-repo 'registry.example.com//x' specified: it has an empty path component")),
        ("reg istry.io/x", Err("bad --images-repo 'reg istry.io/x' specified: 'reg istry.io' is not a registry host")),
        ("registry.io:port/x", Err("bad --images-repo 'registry.io:port/x' specified: 'registry.io:port' is not a registry host")),
        ("r.io/a@sha256:00", Err("bad --images-repo 'r.io/a@sha256:00' specified: a repo has no digest")),
        ("a.io/-a", Err("bad --images-repo 'a.io/-a' specified: path component '-a' is not valid")),
        ("a.io/a..b", Err("bad --images-repo 'a.io/a..b' specified: path component 'a..b'")),
        ("a.io/a___b", Err("bad --images-repo 'a.io/a___b' specified: path component 'a___b'")),
        ("a.io/a_", Err("bad --images-repo 'a.io/a_' specified: path component 'a_'")),
    ];

    #[test]
    fn parse() {
        for (input, want) in CASES {
            let got = parse_repo(input).map(|r| {
                let host = r.host.unwrap_or("-");
                format!("{host}|{}|{:?}", r.path.join("/"), r.registry())
            });
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(got, *want, "{input}"),
                (Err(e), Err(want)) => {
                    let msg = e.to_string();
                    assert!(msg.starts_with(want), "{input}:\n got {msg}\nwant {want}");
                }
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }
}
