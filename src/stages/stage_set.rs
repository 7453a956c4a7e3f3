//! The stages of a storage being written, indexed by signature and by image, so that the
//! rules of adding a stage (a known stage name, a hex signature, unique signatures, one
//! stage per image and stage name, a Dockerfile image's one stage) are checked in constant
//! time: `StoreWriter` adds one stage or a whole `stages pull` (thousands) in time linear
//! in the storage and the batch. Pure: no I/O.

use std::collections::HashMap;

use super::format::{check_signature, check_stage_name, dockerfile_clash, DOCKERFILE_RULE};
use super::read::Stage;
use super::ImageName;

#[derive(Default)]
pub(super) struct StageSet {
    /// signature -> (image, stage)
    by_signature: HashMap<String, (ImageName, String)>,
    /// image -> its (stage, signature)s (at most one per stage name: 14)
    by_image: HashMap<ImageName, Vec<(String, String)>>,
}

impl StageSet {
    pub fn new(stages: impl IntoIterator<Item = Stage>) -> StageSet {
        let mut set = StageSet::default();
        for s in stages {
            set.put(&s.image, &s.stage, &s.signature);
        }
        set
    }

    /// Admits `image`/`stage`/`signature` under the rules, replacing the stage of the same
    /// image and name (its signature is returned when it differs); `Err` says which rule it
    /// breaks, and nothing changes.
    pub fn admit(
        &mut self,
        image: &ImageName,
        stage: &str,
        signature: &str,
    ) -> Result<Option<String>, String> {
        check_stage_name(stage)?;
        check_signature(signature)?;
        if let Some((other_image, other_stage)) = self.by_signature.get(signature) {
            if other_image != image || other_stage != stage {
                return Err(format!(
                    "signature {signature} is already the '{other_stage}' stage of image '{}': \
                     signatures are unique in the stages storage; give another --signature",
                    other_image.annotation()
                ));
            }
        }
        let mine = self.by_image.get(image).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(c) = dockerfile_clash(mine.iter().map(|(s, _)| s.as_str()), stage) {
            return Err(format!(
                "image '{}' already has stage '{c}': {DOCKERFILE_RULE}",
                image.annotation()
            ));
        }
        let replaced = mine
            .iter()
            .find(|(s, _)| s == stage)
            .map(|(_, sig)| sig.clone());
        if let Some(old) = &replaced {
            self.by_signature.remove(old);
            if let Some(list) = self.by_image.get_mut(image) {
                list.retain(|(s, _)| s != stage);
            }
        }
        self.put(image, stage, signature);
        Ok(replaced.filter(|r| r != signature))
    }

    fn put(&mut self, image: &ImageName, stage: &str, signature: &str) {
        self.by_signature
            .insert(signature.to_string(), (image.clone(), stage.to_string()));
        self.by_image
            .entry(image.clone())
            .or_default()
            .push((stage.to_string(), signature.to_string()));
    }
}
