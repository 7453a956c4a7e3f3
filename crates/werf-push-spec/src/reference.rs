//! Docker-style image references: parsing, normalisation (`nginx` ->
//! `docker.io/library/nginx:latest`), Docker Hub's API host, validation errors that name the
//! bad part. Knows nothing of how a registry is reached.

use std::fmt;
use std::str::FromStr;

use super::{Digest, SpecError};

/// The registry name of Docker Hub, which a reference without a host means.
pub const DOCKER_HUB: &str = "docker.io";
/// The host Docker Hub's registry API actually answers on.
pub(crate) const DOCKER_HUB_API: &str = "registry-1.docker.io";
const MAX_NAME: usize = 255;
/// The longest tag (and werf image name) a registry takes.
pub const MAX_TAG: usize = 128;

/// `registry/repository[:tag][@digest]`, normalised.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The registry host, with its port if given (`docker.io` when none, and for Docker
    /// Hub's other names).
    pub registry: String,
    /// The repository path (`library/nginx` for Docker Hub's official images).
    pub repository: String,
    /// The tag, if the reference has one (validated: at most 128 characters).
    pub tag: Option<String>,
    /// The digest, if the reference has one (`@sha256:...`).
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises `[registry/]repository[:tag][@digest]`; an error names the bad
    /// part.
    pub fn parse(input: &str) -> Result<Reference, SpecError> {
        let err = |part: &'static str, reason: String| SpecError::Reference {
            input: input.chars().take(300).collect(),
            part,
            reason,
        };
        if input.is_empty() {
            return Err(err("reference", "is empty".into()));
        }
        if let Some(bad) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("reference", format!("contains the character {bad:?}")));
        }
        if let Some((scheme, rest)) = input.split_once("://") {
            return Err(err(
                "scheme",
                format!(
                    "'{scheme}://' is not part of a reference: drop it and write {rest} \
                     (plain HTTP is --insecure-registry)"
                ),
            ));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, d)) => (
                rest,
                Some(Digest::parse(d).map_err(|e| err("digest", e.to_string()))?),
            ),
            None => (input, None),
        };
        // A ':' after the last '/' starts the tag (an earlier one is a port).
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].find(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            validate_tag(tag).map_err(|reason| err("tag", reason))?;
        }
        let (registry, path) = split_registry(name);
        let registry = match registry {
            Some(host) => {
                validate_host(host).map_err(|reason| err("registry host", reason))?;
                normalise_host(host)
            }
            None => DOCKER_HUB.to_string(),
        };
        if path.is_empty() {
            return Err(err("repository", "is empty".into()));
        }
        for component in path.split('/') {
            validate_component(component)
                .map_err(|reason| err("repository", format!("component '{component}' {reason}")))?;
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        if registry.len() + 1 + repository.len() > MAX_NAME {
            return Err(err("name", format!("is longer than {MAX_NAME} characters")));
        }
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The host (and port) to send API requests to.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// What to put after `/manifests/`: the digest if any, else the tag, else `latest`.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

/// Whether a registry host is on this machine: Docker talks plain HTTP to these when HTTPS
/// fails, and so do we.
pub fn is_local_host(registry: &str) -> bool {
    let host = host_without_port(registry);
    host == "localhost" || host == "::1" || host.starts_with("127.") && host.split('.').count() == 4
}

fn host_without_port(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(registry)
}

fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.starts_with('[') =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

/// Every name Docker Hub goes by (the one list of them).
pub(crate) const DOCKER_HUB_HOSTS: [&str; 4] = [
    DOCKER_HUB,
    "index.docker.io",
    DOCKER_HUB_API,
    "registry.hub.docker.com",
];

/// Is `host` one of Docker Hub's names?
pub fn is_docker_hub(host: &str) -> bool {
    DOCKER_HUB_HOSTS.contains(&host)
}

fn normalise_host(host: &str) -> String {
    if is_docker_hub(host) {
        DOCKER_HUB.into()
    } else {
        host.to_string()
    }
}

/// Whether `host` is a registry host with an optional port: domain labels of letters,
/// digits and inner dashes separated by '.', or `[IPv6]`; the port a number 1..=65535.
pub fn is_host(host: &str) -> bool {
    validate_host(host).is_ok()
}

fn validate_host(host: &str) -> Result<(), String> {
    let bad = || format!("'{host}' is not a valid host[:port]");
    let (name_ok, port) = if let Some(rest) = host.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or("has an unclosed '['")?;
        let ip_ok = !ip.is_empty() && ip.bytes().all(|x| x.is_ascii_hexdigit() || x == b':');
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(bad)?),
        };
        (ip_ok, port)
    } else {
        let (name, port) = match host.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|x| x.is_ascii_alphanumeric() || x == b'-')
        };
        (name.split('.').all(label_ok), port)
    };
    if let Some(port) = port {
        let digits = !port.is_empty() && port.bytes().all(|x| x.is_ascii_digit());
        if !digits || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("has an invalid port '{port}'"));
        }
    }
    if !name_ok {
        return Err(bad());
    }
    Ok(())
}

/// Whether `c` is one component of a repository path:
/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`.
pub fn is_path_component(c: &str) -> bool {
    validate_component(c).is_ok()
}

/// What is wrong with the repository path component `c` (one that
/// [`is_path_component`] refuses), said for a user who typed a repo or an image name.
pub fn component_problem(c: &str) -> String {
    if c.is_empty() {
        "it has an empty path component ('//')".to_string()
    } else {
        format!(
            "path component '{}' is not valid: lowercase letters and digits, separated by \
             '.', '_', '__' or dashes{}",
            super::text::shown(c),
            lower_case_of(c)
        )
    }
}

/// ` (lower case: 'app')` for a component that only its upper case makes invalid.
fn lower_case_of(c: &str) -> String {
    let lower = c.to_ascii_lowercase();
    match lower != c && validate_component(&lower).is_ok() {
        true => format!(" (lower case: '{lower}')"),
        false => String::new(),
    }
}

fn validate_component(c: &str) -> Result<(), String> {
    if c.is_empty() {
        return Err("is empty (double or trailing '/')".into());
    }
    if let Some(bad) = c
        .chars()
        .find(|ch| !matches!(ch, 'a'..='z' | '0'..='9' | '.' | '_' | '-'))
    {
        return Err(format!(
            "has '{bad}': only lower-case letters, digits and separators '.', '_', '__', '-' are allowed{}",
            lower_case_of(c)
        ));
    }
    let b = c.as_bytes();
    if !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return Err("must start and end with a letter or digit".into());
    }
    // Separators: one '.', one or two '_', or any number of '-'.
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            let start = i;
            while i < b.len() && !b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let sep = &c[start..i];
            if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
                return Err(format!("has the separator '{sep}'"));
            }
        }
        i += 1;
    }
    Ok(())
}

/// Docker tag rule: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), String> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || tag.len() > MAX_TAG {
        return Err(format!(
            "'{tag}' must match [A-Za-z0-9_][A-Za-z0-9_.-]* and be at most {MAX_TAG} characters"
        ));
    }
    Ok(())
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Reference {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

#[cfg(test)]
#[path = "reference_tests.rs"]
mod tests;
