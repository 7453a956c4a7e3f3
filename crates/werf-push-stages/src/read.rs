//! Reading the stages storage (docs/stages-format.md): an OCI layout whose `index.json`
//! entries carry `io.werf.*` annotations. Validates every rule of `format`, groups stages
//! by image in werf's stage order; the last stage of an image is the image. Also the one
//! [`Stage`] type, read from an entry here and by the writer. Knows nothing of registries.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::error::StoreError;
use super::format::{
    check_signature, check_stage_name, dockerfile_clash, stage_position, ImageName, ANN_IMAGE,
    ANN_SIGNATURE, ANN_STAGE, DOCKERFILE_RULE,
};
use werf_push_layout::{Layout, REF_NAME};
use werf_push_spec::text::printable;
use werf_push_spec::Descriptor;

/// One stage: an `index.json` entry with its image, stage name and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stage {
    /// The werf image it is a stage of (`io.werf.image`).
    pub image: ImageName,
    /// The stage's name, one of werf's stage names (`io.werf.stage`).
    pub stage: String,
    /// The stage's signature (`io.werf.signature`).
    pub signature: String,
    /// The entry's descriptor: the stage's manifest or index, with its annotations.
    pub descriptor: Descriptor,
}

/// A validated stages storage.
#[derive(Debug)]
#[non_exhaustive]
pub struct StagesStorage {
    /// The storage as an OCI layout, for reading its blobs.
    pub layout: Layout,
    /// Stages per image, in stage order; the last one is the image.
    pub images: BTreeMap<ImageName, Vec<Stage>>,
}

impl StagesStorage {
    /// Opens and validates the storage at `dir`: every rule of the format, every blob of
    /// every stage present with its size, manifests verified.
    pub fn open(dir: &Path) -> Result<StagesStorage, StoreError> {
        let layout = Layout::open(dir)?;
        let index_path = dir.join("index.json");
        let mut images = check_entries(layout.entries(), &index_path)?;
        for list in images.values_mut() {
            for s in list.iter() {
                // Every blob of every stage present with its size, manifests verified.
                layout.image(&s.descriptor)?;
            }
        }
        Ok(StagesStorage { layout, images })
    }

    /// The stages of `image`, empty when it has none.
    pub fn stages(&self, image: &ImageName) -> &[Stage] {
        self.images.get(image).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The image's last stage: the image itself.
    pub fn last_stage(&self, image: &ImageName) -> Option<&Stage> {
        self.stages(image).last()
    }
}

/// Every rule of an entry set of `index.json` (at `index_path`), checked for reading and
/// before a writer commits alike: each entry a stage ([`Stage::parse`]), each signature
/// listed once, one entry per image and stage, no Dockerfile stage beside werf.yaml ones.
/// The stages per image, in stage order.
pub(super) fn check_entries<'a>(
    entries: impl IntoIterator<Item = &'a Descriptor>,
    index_path: &Path,
) -> Result<BTreeMap<ImageName, Vec<Stage>>, StoreError> {
    let mut images: BTreeMap<ImageName, Vec<Stage>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for d in entries {
        let stage = Stage::parse(d).map_err(|rule| StoreError::Rule {
            path: index_path.to_path_buf(),
            entry: d
                .annotations
                .get(REF_NAME)
                .map(|n| printable(n).into_owned())
                .unwrap_or_else(|| d.digest.to_string()),
            rule,
        })?;
        let err = |entry: String, rule: String| StoreError::Rule {
            path: index_path.to_path_buf(),
            entry,
            rule,
        };
        if !seen.insert(stage.signature.clone()) {
            return Err(err(
                stage.signature,
                "duplicate signature: each stage must be listed once".into(),
            ));
        }
        let list = images.entry(stage.image.clone()).or_default();
        if list.iter().any(|s| s.stage == stage.stage) {
            return Err(err(
                stage.signature.clone(),
                format!(
                    "{} has two '{}' stages",
                    stage.image.describe(),
                    stage.stage
                ),
            ));
        }
        if dockerfile_clash(list.iter().map(|s| s.stage.as_str()), &stage.stage).is_some() {
            return Err(err(stage.image.describe(), DOCKERFILE_RULE.into()));
        }
        list.push(stage);
    }
    for list in images.values_mut() {
        list.sort_by_key(|s| stage_position(&s.stage));
    }
    Ok(images)
}

impl Stage {
    /// The stage an `index.json` entry is, every rule of the format checked; `Err` says
    /// which rule it breaks.
    pub fn parse(d: &Descriptor) -> Result<Stage, String> {
        let get = |k: &str| d.annotations.get(k).cloned();
        let image = get(ANN_IMAGE).ok_or_else(|| {
            format!("annotation {ANN_IMAGE} is missing (empty string for the nameless image)")
        })?;
        let stage = get(ANN_STAGE).ok_or_else(|| format!("annotation {ANN_STAGE} is missing"))?;
        let signature =
            get(ANN_SIGNATURE).ok_or_else(|| format!("annotation {ANN_SIGNATURE} is missing"))?;
        check_stage_name(&stage)?;
        check_signature(&signature)?;
        let image = ImageName::from_annotation(&image)?;
        if get(REF_NAME).as_deref() != Some(signature.as_str()) {
            return Err(format!(
                "annotation {REF_NAME} must equal the signature '{signature}'"
            ));
        }
        Ok(Stage {
            image,
            stage,
            signature,
            descriptor: d.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use werf_push_spec::Digest;

    fn entry(pairs: &[(&str, &str)]) -> Descriptor {
        let mut d = Descriptor::new(
            werf_push_spec::media_type::OCI_MANIFEST,
            Digest::sha256_of(b"m"),
            1,
        );
        d.annotations = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        d
    }

    #[test]
    fn stage_parse_rules_table() {
        let sig = "ab12";
        // (image, stage, signature, ref name; None leaves the annotation out) and
        // Ok(image as written on the command line) or Err(start of the rule broken)
        type Case = (
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            Result<&'static str, &'static str>,
        );
        let cases: [Case; 9] = [
            (Some("app"), Some("from"), Some(sig), Some(sig), Ok("app")),
            (Some(""), Some("dockerfile"), Some(sig), Some(sig), Ok("~")),
            (
                None,
                Some("from"),
                Some(sig),
                Some(sig),
                Err("annotation io.werf.image is missing"),
            ),
            (
                Some("app"),
                None,
                Some(sig),
                Some(sig),
                Err("annotation io.werf.stage is missing"),
            ),
            (
                Some("app"),
                Some("from"),
                None,
                Some(sig),
                Err("annotation io.werf.signature"),
            ),
            (
                Some("app"),
                Some("nope"),
                Some(sig),
                Some(sig),
                Err("unknown stage name 'nope'"),
            ),
            (
                Some("app"),
                Some("from"),
                Some("xyz"),
                Some("xyz"),
                Err("signature 'xyz' is not hex"),
            ),
            (
                Some("Bad"),
                Some("from"),
                Some(sig),
                Some(sig),
                Err("image name 'Bad' is not valid"),
            ),
            (
                Some("app"),
                Some("from"),
                Some(sig),
                Some("other"),
                Err("annotation org.opencontainers.image.ref.name must equal"),
            ),
        ];
        for (i, (image, stage, signature, name, want)) in cases.into_iter().enumerate() {
            let pairs: Vec<(&str, &str)> = [
                (ANN_IMAGE, image),
                (ANN_STAGE, stage),
                (ANN_SIGNATURE, signature),
                (REF_NAME, name),
            ]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect();
            match (Stage::parse(&entry(&pairs)), want) {
                (Ok(s), Ok(shown)) => assert_eq!(s.image.to_string(), shown, "case {i}"),
                (Err(e), Err(w)) => assert!(e.starts_with(w), "case {i}: {e}"),
                (got, want) => panic!("case {i}: got {got:?}, want {want:?}"),
            }
        }
    }
}
