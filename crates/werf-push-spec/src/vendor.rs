//! Which service a registry host name is (`ghcr.io`, ECR, Quay, Docker Hub...): the one
//! reading of a host's vendor, used by the push engine to choose its upload profile and by
//! werf's naming rules to know registries that cannot nest repositories. Pure; the port is
//! ignored and the name compared without regard to case.

use super::reference::is_docker_hub;

/// A registry service known by its host name; `Generic` for every other host.
///
/// Exhaustive on purpose: a new vendor must be placed by every `match` on it (the push's
/// upload profile, werf's naming rules), not fall silently into a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// GitHub Container Registry, `ghcr.io`.
    Ghcr,
    /// GitHub's former registry, `docker.pkg.github.com`.
    GitHubPackages,
    /// Amazon ECR, `<account>.dkr.ecr.<region>.amazonaws.com`.
    Ecr,
    /// Amazon ECR Public, `public.ecr.aws`.
    EcrPublic,
    /// Google Artifact Registry and Container Registry.
    Gar,
    /// Azure Container Registry, `*.azurecr.io`.
    Acr,
    /// Docker Hub (`docker.io` and its API hosts).
    DockerHub,
    /// `quay.io`, its subdomains and werf's self-hosted Quay names (`quay.<name>.com`).
    Quay,
    /// GitLab.com's registry, `registry.gitlab.com`.
    Gitlab,
    /// JFrog Artifactory cloud, `*.jfrog.io`.
    Artifactory,
    /// Harbor (`demo.goharbor.io`, hosts named `harbor.*`).
    Harbor,
    /// Any other host: a registry with no known quirks.
    Generic,
}

impl Vendor {
    /// The vendor of `registry` (`host` or `host:port`).
    pub fn of_host(registry: &str) -> Vendor {
        let host = registry.to_ascii_lowercase();
        let h = match host.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host.as_str(),
        };
        let self_hosted_quay =
            h.len() > "quay..com".len() && h.starts_with("quay.") && h.ends_with(".com");
        if h == "ghcr.io" {
            Vendor::Ghcr
        } else if h == "docker.pkg.github.com" {
            Vendor::GitHubPackages
        } else if h.contains(".dkr.ecr.") && h.ends_with(".amazonaws.com") {
            Vendor::Ecr
        } else if h == "public.ecr.aws" {
            Vendor::EcrPublic
        } else if h.ends_with("-docker.pkg.dev") || h == "gcr.io" || h.ends_with(".gcr.io") {
            Vendor::Gar
        } else if h.ends_with(".azurecr.io") {
            Vendor::Acr
        } else if is_docker_hub(h) {
            Vendor::DockerHub
        } else if h == "quay.io" || h.ends_with(".quay.io") || self_hosted_quay {
            Vendor::Quay
        } else if h == "registry.gitlab.com" {
            Vendor::Gitlab
        } else if h.ends_with(".jfrog.io") {
            Vendor::Artifactory
        } else if h == "demo.goharbor.io" || h.starts_with("harbor.") {
            Vendor::Harbor
        } else {
            Vendor::Generic
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_host_table() {
        use Vendor as V;
        let cases = [
            ("ghcr.io", V::Ghcr),
            ("GHCR.io:443", V::Ghcr),
            ("docker.pkg.github.com", V::GitHubPackages),
            ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", V::Ecr),
            ("s3.amazonaws.com", V::Generic),
            ("public.ecr.aws", V::EcrPublic),
            ("public.ecr.aws:443", V::EcrPublic),
            ("notpublic.ecr.aws", V::Generic),
            ("europe-west3-docker.pkg.dev", V::Gar),
            ("gcr.io", V::Gar),
            ("eu.gcr.io", V::Gar),
            ("myreg.azurecr.io", V::Acr),
            ("docker.io", V::DockerHub),
            ("index.docker.io", V::DockerHub),
            ("registry-1.docker.io", V::DockerHub),
            ("registry.hub.docker.com", V::DockerHub),
            ("quay.io", V::Quay),
            ("Quay.IO", V::Quay),
            ("quay.io:443", V::Quay),
            ("eu.quay.io", V::Quay),
            ("quay.corp.com", V::Quay),
            ("quay.corp.com:8443", V::Quay),
            ("quay.com", V::Generic),
            ("quay.corp.org", V::Generic),
            ("notquay.io", V::Generic),
            ("registry.gitlab.com", V::Gitlab),
            ("gitlab.example.com", V::Generic),
            ("acme.jfrog.io", V::Artifactory),
            ("jfrog.io.example.com", V::Generic),
            ("demo.goharbor.io", V::Harbor),
            ("harbor.example.com:8443", V::Harbor),
            ("localhost:5000", V::Generic),
            ("127.0.0.1:41234", V::Generic),
            ("registry.example.com", V::Generic),
            ("notghcr.io", V::Generic),
        ];
        for (host, want) in cases {
            assert_eq!(Vendor::of_host(host), want, "{host}");
        }
    }
}
