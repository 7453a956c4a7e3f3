//! The stages storage (docs/stages-format.md): an OCI layout whose `index.json` entries carry
//! `io.werf.*` annotations. Validates every rule, groups stages by image in werf's stage
//! order; the last stage of an image is the image. Knows nothing of registries.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::error::WerfError;
use crate::layout::{Layout, REF_NAME};
use crate::spec::text::printable;
use crate::spec::Descriptor;

pub const ANN_IMAGE: &str = "io.werf.image";
pub const ANN_STAGE: &str = "io.werf.stage";
pub const ANN_SIGNATURE: &str = "io.werf.signature";

/// werf's stage names in build order; a Dockerfile image has the one stage `dockerfile`.
pub const STAGE_ORDER: [&str; 14] = [
    "from",
    "beforeInstall",
    "importsBeforeInstall",
    "gitArchive",
    "install",
    "importsAfterInstall",
    "beforeSetup",
    "importsBeforeSetup",
    "setup",
    "importsAfterSetup",
    "gitCache",
    "gitLatestPatch",
    "dockerInstructions",
    "dockerfile",
];

#[derive(Debug, Clone)]
pub struct Stage {
    /// `None` for the nameless image.
    pub image: Option<String>,
    pub stage: String,
    pub signature: String,
    pub descriptor: Descriptor,
}

/// A validated stages storage.
#[derive(Debug)]
pub struct StagesStorage {
    pub layout: Layout,
    /// Stages per image, in stage order; the last one is the image.
    pub images: BTreeMap<Option<String>, Vec<Stage>>,
}

impl StagesStorage {
    pub fn open(dir: &Path) -> Result<StagesStorage, WerfError> {
        let layout = Layout::open(dir)?;
        let index_path = dir.join("index.json");
        let mut images: BTreeMap<Option<String>, Vec<Stage>> = BTreeMap::new();
        let mut seen = HashSet::new();
        for d in layout.entries() {
            let stage = parse_entry(d).map_err(|rule| WerfError::Stages {
                path: index_path.clone(),
                entry: d
                    .annotations
                    .get(REF_NAME)
                    .map(|n| printable(n).into_owned())
                    .unwrap_or_else(|| d.digest.to_string()),
                rule,
            })?;
            let err = |rule: String| WerfError::Stages {
                path: index_path.clone(),
                entry: stage.signature.clone(),
                rule,
            };
            if !seen.insert(stage.signature.clone()) {
                return Err(err(
                    "duplicate signature: each stage must be listed once".into()
                ));
            }
            let list = images.entry(stage.image.clone()).or_default();
            if list.iter().any(|s| s.stage == stage.stage) {
                return Err(err(format!(
                    "image {} has two '{}' stages",
                    display(&stage.image),
                    stage.stage
                )));
            }
            list.push(stage);
        }
        for (image, list) in images.iter_mut() {
            list.sort_by_key(|s| STAGE_ORDER.iter().position(|n| *n == s.stage));
            if list.len() > 1 && list.iter().any(|s| s.stage == "dockerfile") {
                return Err(WerfError::Stages {
                    path: index_path.clone(),
                    entry: display(image),
                    rule: "a Dockerfile image has the one stage 'dockerfile' and no other".into(),
                });
            }
            for s in list.iter() {
                // Every blob of every stage present with its size, manifests verified.
                layout.image(&s.descriptor)?;
            }
        }
        Ok(StagesStorage { layout, images })
    }

    /// The stages of `image`, empty when it has none.
    pub fn stages(&self, image: &Option<String>) -> &[Stage] {
        self.images.get(image).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The image's last stage: the image itself.
    pub fn last_stage(&self, image: &Option<String>) -> Option<&Stage> {
        self.stages(image).last()
    }
}

fn parse_entry(d: &Descriptor) -> Result<Stage, String> {
    let get = |k: &str| d.annotations.get(k).cloned();
    let image = get(ANN_IMAGE).ok_or_else(|| {
        format!("annotation {ANN_IMAGE} is missing (empty string for the nameless image)")
    })?;
    let stage = get(ANN_STAGE).ok_or_else(|| format!("annotation {ANN_STAGE} is missing"))?;
    let signature =
        get(ANN_SIGNATURE).ok_or_else(|| format!("annotation {ANN_SIGNATURE} is missing"))?;
    if !STAGE_ORDER.contains(&stage.as_str()) {
        return Err(format!(
            "unknown stage name '{}' (known: {})",
            printable(&stage),
            STAGE_ORDER.join(", ")
        ));
    }
    if signature.is_empty()
        || signature.len() > 128
        || !signature.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(format!(
            "signature '{}' is not a hex digest",
            printable(&signature)
        ));
    }
    if !image.is_empty() {
        super::naming::check_image_name(&image)?;
    }
    if get(REF_NAME).as_deref() != Some(signature.as_str()) {
        return Err(format!(
            "annotation {REF_NAME} must equal the signature '{signature}'"
        ));
    }
    Ok(Stage {
        image: (!image.is_empty()).then_some(image),
        stage,
        signature,
        descriptor: d.clone(),
    })
}

pub fn display(image: &Option<String>) -> String {
    match image {
        Some(name) => format!("image '{name}'"),
        None => "the nameless image".into(),
    }
}
