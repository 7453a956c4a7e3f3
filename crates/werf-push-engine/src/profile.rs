//! Registry profiles: what is known of a registry's upload limits before the first byte is
//! sent, detected from its host name (or forced with `--registry-profile`), and the upload
//! plan of one blob that starts from them and adapts to what the registry answers (smaller
//! chunks after 413/416, bigger after a "chunk too small", monolithic when chunked uploads
//! are refused). Which way of deleting a tag works on each is in `profile_delete.rs`.
//! Pure code: knows nothing of HTTP, only of sizes and strategies.

use std::fmt;
use std::str::FromStr;

use super::{PushOptions, UploadStrategy};
use werf_push_spec::Vendor;

const MIB: u64 = 1 << 20;

/// GHCR refuses a PATCH body over 4 MiB with 416.
pub(crate) const GHCR_MAX_PATCH: u64 = 4 * MIB;
/// ECR (S3 multipart underneath) needs every chunk but the last to be at least 5 MiB,
/// and does not advertise it in `OCI-Chunk-Min-Length`.
pub(crate) const ECR_MIN_CHUNK: u64 = 5 * MIB;
/// ACR answers 413 (or resets the connection) to a monolithic PUT over about 20 MB.
pub(crate) const ACR_MONOLITHIC_MAX: u64 = 20_000_000;
/// Chunks of ACR uploads: the closing PUT carries the last one, so it stays under the cap.
pub(crate) const ACR_MAX_CHUNK: u64 = 16 * MIB;
/// Chunks are never made smaller than this when adapting to a body cap.
pub(crate) const CHUNK_FLOOR: u64 = 64 << 10;

/// A registry's known upload limits and deletion path, by product (`--registry-profile`);
/// grows with the registries werf-push knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RegistryProfile {
    /// distribution, Harbor, GitLab, Quay, Artifactory...: the protocol as written.
    #[default]
    Generic,
    /// GitHub Container Registry (`ghcr.io`).
    Ghcr,
    /// Amazon ECR (`<account>.dkr.ecr.<region>.amazonaws.com`).
    Ecr,
    /// Google Artifact Registry (`<region>-docker.pkg.dev`) and Container Registry (`gcr.io`).
    Gar,
    /// Azure Container Registry (`<name>.azurecr.io`).
    Acr,
    /// Docker Hub (`docker.io`, API host `registry-1.docker.io`).
    DockerHub,
    /// Amazon ECR Public (`public.ecr.aws`): no cross-repository mounts, one-request uploads.
    EcrPublic,
    /// Harbor: the protocol as written (its 412 HEAD and refused mounts are handled for any
    /// registry); named for `--registry-profile`.
    Harbor,
    /// JFrog Artifactory (`*.jfrog.io`): POST, one PATCH, empty PUT.
    Artifactory,
    /// Quay (`quay.io`): the protocol as written; named for `--registry-profile`.
    Quay,
    /// GitLab (`registry.gitlab.com`): the protocol as written; named for `--registry-profile`.
    Gitlab,
    /// distribution (docker-registry, `registry:2`): the protocol as written; named for
    /// `--registry-profile` (its deletion differs from an unknown registry's).
    Distribution,
    /// Zot: the protocol as written; named for `--registry-profile`.
    Zot,
}

/// What a profile says about uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The registry accepts chunked (PATCH) uploads.
    pub chunked: bool,
    /// Largest blob sent in one PUT under `--upload-strategy auto`.
    pub monolithic_max: Option<u64>,
    /// Largest PATCH body (and closing PUT body) of a chunked upload.
    pub max_chunk: Option<u64>,
    /// Smallest chunk but the last.
    pub min_chunk: Option<u64>,
    /// Cross-repository mounts are worth trying.
    pub mounts: bool,
    /// The data goes in one PATCH and the closing PUT carries none.
    pub one_patch: bool,
}

impl RegistryProfile {
    /// Every profile, in the order `--registry-profile` lists them.
    pub const ALL: [RegistryProfile; 13] = [
        RegistryProfile::Generic,
        RegistryProfile::Ghcr,
        RegistryProfile::Ecr,
        RegistryProfile::Gar,
        RegistryProfile::Acr,
        RegistryProfile::DockerHub,
        RegistryProfile::EcrPublic,
        RegistryProfile::Harbor,
        RegistryProfile::Artifactory,
        RegistryProfile::Quay,
        RegistryProfile::Gitlab,
        RegistryProfile::Distribution,
        RegistryProfile::Zot,
    ];

    /// The profile's name, as `--registry-profile` takes it (`ghcr`, `ecr-public`).
    pub fn name(self) -> &'static str {
        match self {
            RegistryProfile::Generic => "generic",
            RegistryProfile::Ghcr => "ghcr",
            RegistryProfile::Ecr => "ecr",
            RegistryProfile::Gar => "gar",
            RegistryProfile::Acr => "acr",
            RegistryProfile::DockerHub => "dockerhub",
            RegistryProfile::EcrPublic => "ecr-public",
            RegistryProfile::Harbor => "harbor",
            RegistryProfile::Artifactory => "artifactory",
            RegistryProfile::Quay => "quay",
            RegistryProfile::Gitlab => "gitlab",
            RegistryProfile::Distribution => "distribution",
            RegistryProfile::Zot => "zot",
        }
    }

    /// The profile of a registry by its host name (port ignored), from the host's vendor
    /// (`spec::Vendor`, the one reading of host names).
    pub fn detect(registry: &str) -> RegistryProfile {
        match Vendor::of_host(registry) {
            Vendor::Ghcr => RegistryProfile::Ghcr,
            Vendor::Ecr => RegistryProfile::Ecr,
            Vendor::EcrPublic => RegistryProfile::EcrPublic,
            Vendor::Gar => RegistryProfile::Gar,
            Vendor::Acr => RegistryProfile::Acr,
            Vendor::DockerHub => RegistryProfile::DockerHub,
            Vendor::Quay => RegistryProfile::Quay,
            Vendor::Gitlab => RegistryProfile::Gitlab,
            Vendor::Artifactory => RegistryProfile::Artifactory,
            Vendor::Harbor => RegistryProfile::Harbor,
            Vendor::GitHubPackages | Vendor::Generic => RegistryProfile::Generic,
        }
    }

    pub(crate) fn limits(self) -> Limits {
        let none = Limits {
            chunked: true,
            monolithic_max: None,
            max_chunk: None,
            min_chunk: None,
            mounts: true,
            one_patch: false,
        };
        match self {
            RegistryProfile::Generic
            | RegistryProfile::DockerHub
            | RegistryProfile::Harbor
            | RegistryProfile::Quay
            | RegistryProfile::Gitlab
            | RegistryProfile::Distribution
            | RegistryProfile::Zot => none,
            // ECR Public: mounts fail, and the closing PUT of a chunked upload gets 400
            // BLOB_UPLOAD_INVALID: every blob in one PUT, no mount tried.
            RegistryProfile::EcrPublic => Limits {
                chunked: false,
                mounts: false,
                ..none
            },
            // Artifactory: a PUT carrying data gets 404 BLOB_UNKNOWN, and chunks with
            // Content-Range were stored as their last one only: POST, one PATCH, empty PUT.
            RegistryProfile::Artifactory => Limits {
                one_patch: true,
                ..none
            },
            RegistryProfile::Ghcr => Limits {
                max_chunk: Some(GHCR_MAX_PATCH),
                ..none
            },
            RegistryProfile::Ecr => Limits {
                min_chunk: Some(ECR_MIN_CHUNK),
                ..none
            },
            // Google Artifact Registry / GCR: no chunked uploads at all.
            RegistryProfile::Gar => Limits {
                chunked: false,
                ..none
            },
            RegistryProfile::Acr => Limits {
                monolithic_max: Some(ACR_MONOLITHIC_MAX),
                max_chunk: Some(ACR_MAX_CHUNK),
                ..none
            },
        }
    }
}

impl fmt::Display for RegistryProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--registry-profile` that names no profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown registry profile '{0}': use one of {names}", names = RegistryProfile::names())]
pub struct UnknownProfile(pub String);

impl RegistryProfile {
    /// Every profile's name, comma-separated.
    fn names() -> String {
        let names: Vec<_> = RegistryProfile::ALL.iter().map(|p| p.name()).collect();
        names.join(", ")
    }
}

impl FromStr for RegistryProfile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, UnknownProfile> {
        RegistryProfile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownProfile(s.to_string()))
    }
}

/// How one blob is being uploaded; starts from the options and the profile, then adapts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UploadPlan {
    /// The whole blob in the closing PUT, no PATCH.
    pub monolithic: bool,
    /// PATCH body size (and at most the closing PUT's).
    pub chunk: u64,
    /// Smallest allowed chunk (profile, `OCI-Chunk-Min-Length`, or learnt).
    pub min_chunk: u64,
    /// Largest allowed body (profile, or learnt from a 413/416).
    pub max_chunk: Option<u64>,
    /// Every byte goes in PATCHes, the closing PUT carries none (Artifactory).
    pub empty_put: bool,
}

impl UploadPlan {
    /// The first plan for a blob of `size` bytes. `--upload-strategy` wins over the profile.
    pub(crate) fn new(profile: RegistryProfile, opts: &PushOptions, size: u64) -> UploadPlan {
        let l = profile.limits();
        let monolithic = match opts.strategy {
            UploadStrategy::Monolithic => true,
            UploadStrategy::Chunked => false,
            UploadStrategy::Auto => {
                !l.chunked
                    || size
                        <= opts
                            .monolithic_max
                            .min(l.monolithic_max.unwrap_or(u64::MAX))
            }
        };
        let min_chunk = l.min_chunk.unwrap_or(1);
        let mut chunk = opts.chunk_size.max(1);
        if let Some(max) = l.max_chunk {
            chunk = chunk.min(max);
        }
        let empty_put = l.one_patch && opts.strategy != UploadStrategy::Monolithic;
        if empty_put {
            if opts.strategy == UploadStrategy::Auto {
                chunk = size.max(1);
            }
            return UploadPlan {
                monolithic: false,
                chunk,
                min_chunk,
                max_chunk: l.max_chunk,
                empty_put,
            };
        }
        UploadPlan {
            monolithic,
            chunk: chunk.max(min_chunk),
            min_chunk,
            max_chunk: l.max_chunk,
            empty_put,
        }
    }

    /// The registry refused a PUT carrying data (Artifactory's 404 BLOB_UNKNOWN), or said a
    /// chunked upload was done without holding the blob whole (Artifactory kept the last
    /// chunk only): the data in one PATCH (or chunks up to the known cap), then an empty
    /// PUT. False when that is the plan already.
    pub(crate) fn one_patch(&mut self, size: u64) -> bool {
        let chunk = self.max_chunk.map_or(size, |m| m.min(size)).max(1);
        if self.empty_put && !self.monolithic && self.chunk == chunk {
            return false;
        }
        self.monolithic = false;
        self.empty_put = true;
        self.chunk = chunk;
        true
    }

    /// The registry advertised `OCI-Chunk-Min-Length`.
    pub(crate) fn server_min(&mut self, min: u64) {
        self.min_chunk = self.min_chunk.max(min);
        self.chunk = self.chunk.max(min);
    }

    /// A body of `len` bytes was refused as too large (413, or GHCR's 416 on PATCH): go
    /// chunked with chunks of at most half of it. False when no smaller chunk is allowed.
    pub(crate) fn too_large(&mut self, len: u64) -> bool {
        let cap = len.saturating_sub(1);
        let next = (len / 2).min(self.chunk).max(CHUNK_FLOOR);
        if next > cap || next < self.min_chunk {
            return false;
        }
        self.monolithic = false;
        self.chunk = next;
        self.max_chunk = Some(self.max_chunk.map_or(cap, |m| m.min(cap)));
        true
    }

    /// A non-final chunk of `len` bytes was refused (ECR's unadvertised 5 MiB minimum):
    /// raise chunks to that minimum. False when they are that big already or cannot be.
    pub(crate) fn too_small(&mut self, len: u64) -> bool {
        if len >= ECR_MIN_CHUNK || self.chunk >= ECR_MIN_CHUNK {
            return false;
        }
        if self.max_chunk.is_some_and(|m| m < ECR_MIN_CHUNK) {
            return false;
        }
        self.chunk = ECR_MIN_CHUNK;
        self.min_chunk = self.min_chunk.max(ECR_MIN_CHUNK);
        true
    }

    /// PATCH was refused as unsupported (Google Artifact Registry): one PUT instead.
    pub(crate) fn chunked_refused(&mut self) -> bool {
        if self.monolithic || self.max_chunk.is_some() {
            return false;
        }
        self.monolithic = true;
        true
    }
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
