//! Which way of deleting one tag works on a registry, by its profile (`cleanup` and `purge`
//! choose their path with it): the OCI 1.1 tag `DELETE`, only `DELETE` by digest (with a
//! unique placeholder for a tag that shares its digest with a kept one), or nothing of the
//! distribution API (the registry deletes through its own API, named here with the
//! permission it wants, so that the run stops before it changes anything). From each
//! registry's documentation and werf v1.1's per-registry implementations; docs/cleanup.md
//! has the table. Pure.

use super::profile::RegistryProfile;

/// How tags are deleted on a registry; grows with the ways registries offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeletePath {
    /// `DELETE /v2/NAME/manifests/TAG` deletes that tag alone (`202`).
    ByTag,
    /// Not known: the run's first deletion tries the tag `DELETE`; when the registry does
    /// not do it, every deletion goes by digest.
    Probe,
    /// The tag `DELETE` is not done (never tried): by digest, or through a placeholder.
    ByDigest,
    /// The distribution API deletes nothing here.
    OwnApi {
        /// The API that deletes (what to run instead).
        api: &'static str,
        /// The permission it needs.
        permission: &'static str,
    },
}

impl RegistryProfile {
    /// The way tags are deleted on registries of this profile.
    pub fn delete_path(self) -> DeletePath {
        use RegistryProfile as P;
        match self {
            // Google Artifact Registry / GCR delete a tag with the registry API (werf v1.1
            // does so); Quay and Zot implement the OCI 1.1 tag DELETE.
            P::Gar | P::Quay | P::Zot => DeletePath::ByTag,
            // distribution 2.x answers a tag DELETE with 400 DIGEST_INVALID (checked on
            // 2.8: tests/it/cleanup_paths.rs); ACR deletes tags only through its own
            // `/acr/v1/` API (`az acr repository untag`), manifests by digest through the
            // registry API with the delete role.
            P::Distribution | P::Acr => DeletePath::ByDigest,
            P::Ghcr => DeletePath::OwnApi {
                api: "GitHub's REST API (DELETE /orgs/ORG/packages/container/NAME/versions/ID, \
                      or /user/packages/...; `gh api`), the distribution API deletes nothing \
                      on ghcr.io",
                permission: "a token with the delete:packages scope, admin of the package",
            },
            P::Ecr => DeletePath::OwnApi {
                api: "the AWS API BatchDeleteImage (`aws ecr batch-delete-image`), the \
                      distribution API deletes nothing on ECR",
                permission: "the IAM permission ecr:BatchDeleteImage",
            },
            P::EcrPublic => DeletePath::OwnApi {
                api: "the AWS API BatchDeleteImage (`aws ecr-public batch-delete-image`), the \
                      distribution API deletes nothing on ECR Public",
                permission: "the IAM permission ecr-public:BatchDeleteImage",
            },
            P::DockerHub => DeletePath::OwnApi {
                api: "Docker Hub's API (DELETE https://hub.docker.com/v2/repositories/\
                      NAMESPACE/REPO/tags/TAG/), the distribution API deletes nothing on \
                      Docker Hub",
                permission: "a personal access token with the Read, Write, Delete scope",
            },
            // Harbor (by version), GitLab, Artifactory and unknown registries: the first
            // deletion asks.
            P::Generic | P::Harbor | P::Gitlab | P::Artifactory => DeletePath::Probe,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_path_table() {
        use RegistryProfile as P;
        let own = |p: P| matches!(p.delete_path(), DeletePath::OwnApi { .. });
        let cases = [
            (P::Generic, Some(DeletePath::Probe)),
            (P::Distribution, Some(DeletePath::ByDigest)),
            (P::Harbor, Some(DeletePath::Probe)),
            (P::Gitlab, Some(DeletePath::Probe)),
            (P::Artifactory, Some(DeletePath::Probe)),
            (P::Gar, Some(DeletePath::ByTag)),
            (P::Quay, Some(DeletePath::ByTag)),
            (P::Zot, Some(DeletePath::ByTag)),
            (P::Acr, Some(DeletePath::ByDigest)),
            (P::Ghcr, None),
            (P::Ecr, None),
            (P::EcrPublic, None),
            (P::DockerHub, None),
        ];
        assert_eq!(cases.len(), P::ALL.len(), "every profile says its path");
        for (p, want) in cases {
            match want {
                Some(w) => assert_eq!(p.delete_path(), w, "{p}"),
                None => assert!(own(p), "{p}: its own API"),
            }
        }
        // Each own API names the permission it needs.
        for p in P::ALL {
            if let DeletePath::OwnApi { api, permission } = p.delete_path() {
                assert!(!api.is_empty() && !permission.is_empty(), "{p}");
            }
        }
    }
}
