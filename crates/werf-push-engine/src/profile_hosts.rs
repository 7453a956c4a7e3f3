//! Which registry profile a host name says: the public services by their API hosts
//! (`ghcr.io`, ECR and ECR Public, Google Artifact Registry, ACR, Docker Hub, Quay, GitLab,
//! JFrog's cloud), Harbor by its demo host or a `harbor.` name. Pure; port ignored.

use super::profile::RegistryProfile;

/// The profile of a registry by its host name (port ignored).
pub(crate) fn detect(registry: &str) -> RegistryProfile {
    let host = registry.to_ascii_lowercase();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h.to_string(),
        _ => host,
    };
    let h = host.as_str();
    if h == "ghcr.io" {
        RegistryProfile::Ghcr
    } else if h.contains(".dkr.ecr.") && h.ends_with(".amazonaws.com") {
        RegistryProfile::Ecr
    } else if h == "public.ecr.aws" {
        RegistryProfile::EcrPublic
    } else if h.ends_with("-docker.pkg.dev") || h == "gcr.io" || h.ends_with(".gcr.io") {
        RegistryProfile::Gar
    } else if h.ends_with(".azurecr.io") {
        RegistryProfile::Acr
    } else if werf_push_spec::reference::is_docker_hub(h) {
        RegistryProfile::DockerHub
    } else if h == "quay.io" || h.ends_with(".quay.io") {
        RegistryProfile::Quay
    } else if h == "registry.gitlab.com" {
        RegistryProfile::Gitlab
    } else if h.ends_with(".jfrog.io") {
        RegistryProfile::Artifactory
    } else if h == "demo.goharbor.io" || h.starts_with("harbor.") {
        RegistryProfile::Harbor
    } else {
        RegistryProfile::Generic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_table() {
        use RegistryProfile as P;
        let cases = [
            ("ghcr.io", P::Ghcr),
            ("GHCR.io:443", P::Ghcr),
            ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", P::Ecr),
            ("s3.amazonaws.com", P::Generic),
            ("public.ecr.aws", P::EcrPublic),
            ("public.ecr.aws:443", P::EcrPublic),
            ("notpublic.ecr.aws", P::Generic),
            ("europe-west3-docker.pkg.dev", P::Gar),
            ("gcr.io", P::Gar),
            ("eu.gcr.io", P::Gar),
            ("myreg.azurecr.io", P::Acr),
            ("docker.io", P::DockerHub),
            ("registry-1.docker.io", P::DockerHub),
            ("registry.hub.docker.com", P::DockerHub),
            ("quay.io", P::Quay),
            ("Quay.IO", P::Quay),
            ("registry.gitlab.com", P::Gitlab),
            ("gitlab.example.com", P::Generic),
            ("acme.jfrog.io", P::Artifactory),
            ("jfrog.io.example.com", P::Generic),
            ("demo.goharbor.io", P::Harbor),
            ("harbor.example.com:8443", P::Harbor),
            ("localhost:5000", P::Generic),
            ("127.0.0.1:41234", P::Generic),
            ("registry.example.com", P::Generic),
            ("notghcr.io", P::Generic),
        ];
        for (host, want) in cases {
            assert_eq!(detect(host), want, "{host}");
        }
    }
}
