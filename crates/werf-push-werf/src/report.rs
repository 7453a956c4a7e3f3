//! The publish report: werf's format (`Images` -> name -> `WerfImageName`, `DockerRepo`,
//! `DockerTag`, `DockerImageID`, `DockerImageDigest`; the last tag of an image wins there,
//! as in werf) plus `References`, every published reference with its digest and status.

use std::collections::BTreeMap;

use serde::Serialize;

use super::publish::Planned;
use werf_push_engine::{Summary, TagStatus};

/// The publish report (`--publish-report-path`), serialised as werf writes it.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// werf's part: per image name (empty: the nameless image), its last reference.
    #[serde(rename = "Images")]
    pub images: BTreeMap<String, ImageEntry>,
    /// Every planned reference, with how its push went.
    #[serde(rename = "References")]
    pub references: Vec<ReferenceEntry>,
}

/// One image of werf's report.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct ImageEntry {
    /// The werf image name (empty: the nameless image).
    #[serde(rename = "WerfImageName")]
    pub werf_image_name: String,
    /// The repository it was published to, without tag.
    #[serde(rename = "DockerRepo")]
    pub docker_repo: String,
    /// The docker tag (`IMAGE_NAME-TAG` in monorepo mode).
    #[serde(rename = "DockerTag")]
    pub docker_tag: String,
    /// The config digest (empty for a multi-platform image).
    #[serde(rename = "DockerImageID")]
    pub docker_image_id: String,
    /// The manifest (or index) digest.
    #[serde(rename = "DockerImageDigest")]
    pub docker_image_digest: String,
}

/// One published reference.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct ReferenceEntry {
    /// The werf image name (empty: the nameless image).
    #[serde(rename = "WerfImageName")]
    pub werf_image_name: String,
    /// `registry/repository:tag`, as pushed.
    #[serde(rename = "Reference")]
    pub reference: String,
    /// The value of label `werf-tag-strategy` (`custom`, `git-branch`, ...).
    #[serde(rename = "TagStrategy")]
    pub tag_strategy: String,
    /// The manifest (or index) digest.
    #[serde(rename = "DockerImageDigest")]
    pub docker_image_digest: String,
    /// `pushed`, `up-to-date`, `would-push`, or `failed`.
    #[serde(rename = "Status")]
    pub status: String,
}

/// The report of a publish: its plan's lines, each with the status `summary` gives its
/// reference (`failed` when the push did not reach the tag).
pub fn build(planned: &[Planned], summary: &Summary) -> Report {
    let mut images = BTreeMap::new();
    let mut references = Vec::new();
    for p in planned {
        let name = p.image.clone().unwrap_or_default();
        let status = summary
            .tags
            .iter()
            .find(|t| t.reference == p.reference.to_string())
            .map(|t| match t.status {
                TagStatus::Pushed => "pushed",
                TagStatus::UpToDate => "up-to-date",
                TagStatus::WouldPush => "would-push",
            })
            .unwrap_or("failed");
        references.push(ReferenceEntry {
            werf_image_name: name.clone(),
            reference: p.reference.to_string(),
            tag_strategy: p.strategy.as_label().to_string(),
            docker_image_digest: p.manifest_digest.clone(),
            status: status.to_string(),
        });
        images.insert(
            name.clone(),
            ImageEntry {
                werf_image_name: name,
                docker_repo: p.image_ref.repository.clone(),
                docker_tag: p.image_ref.tag.clone(),
                docker_image_id: p.config_digest.clone(),
                docker_image_digest: p.manifest_digest.clone(),
            },
        );
    }
    Report { images, references }
}
