//! The publish report: werf's format (`Images` -> name -> `WerfImageName`, `DockerRepo`,
//! `DockerTag`, `DockerImageID`, `DockerImageDigest`; the last tag of an image wins there,
//! as in werf) plus `References`, every published reference with its digest and status.

use std::collections::BTreeMap;

use serde::Serialize;

use super::publish::Planned;
use werf_push_engine::{Summary, TagStatus};

#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct Report {
    #[serde(rename = "Images")]
    pub images: BTreeMap<String, ImageEntry>,
    #[serde(rename = "References")]
    pub references: Vec<ReferenceEntry>,
}

#[derive(Debug, Serialize)]
pub struct ImageEntry {
    #[serde(rename = "WerfImageName")]
    pub werf_image_name: String,
    #[serde(rename = "DockerRepo")]
    pub docker_repo: String,
    #[serde(rename = "DockerTag")]
    pub docker_tag: String,
    #[serde(rename = "DockerImageID")]
    pub docker_image_id: String,
    #[serde(rename = "DockerImageDigest")]
    pub docker_image_digest: String,
}

#[derive(Debug, Serialize)]
pub struct ReferenceEntry {
    #[serde(rename = "WerfImageName")]
    pub werf_image_name: String,
    #[serde(rename = "Reference")]
    pub reference: String,
    #[serde(rename = "TagStrategy")]
    pub tag_strategy: String,
    #[serde(rename = "DockerImageDigest")]
    pub docker_image_digest: String,
    /// `pushed`, `up-to-date`, `would-push`, or `failed`.
    #[serde(rename = "Status")]
    pub status: String,
}

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
