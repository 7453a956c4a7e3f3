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
    pub(crate) fn new(stages: impl IntoIterator<Item = Stage>) -> StageSet {
        let mut set = StageSet::default();
        for s in stages {
            set.put(&s.image, &s.stage, &s.signature);
        }
        set
    }

    /// Admits `image`/`stage`/`signature` under the rules, replacing the stage of the same
    /// image and name (its signature is returned when it differs); `Err` says which rule it
    /// breaks, and nothing changes.
    pub(crate) fn admit(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::{NewStage, StoreWriter};
    use werf_push_spec::{Descriptor, Digest};

    fn new(n: u8, image: &str, stage: &str, sig: &str) -> NewStage {
        NewStage {
            descriptor: Descriptor::new(
                werf_push_spec::media_type::OCI_MANIFEST,
                Digest::sha256_of(&[n]),
                1,
            ),
            image: ImageName::from_annotation(image).unwrap(),
            stage: stage.into(),
            signature: sig.into(),
        }
    }

    /// (image, stage, signature, Ok(replaced) or Err(start of the rule)), admitted in order.
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Result<Option<&'static str>, &'static str>,
    );
    const CASES: [Case; 9] = [
        ("a", "from", "aa", Ok(None)),
        ("a", "install", "bb", Ok(None)),
        ("a", "from", "cc", Ok(Some("aa"))),
        // The replaced signature is free again.
        ("b", "from", "aa", Ok(None)),
        ("b", "from", "bb", Err("signature bb is already")),
        (
            "a",
            "dockerfile",
            "dd",
            Err("image 'a' already has stage '"),
        ),
        ("a", "nope", "ee", Err("unknown stage name 'nope'")),
        (
            "a",
            "from",
            "not hex",
            Err("signature 'not hex' is not hex"),
        ),
        ("", "from", "cc", Err("signature cc is already")),
    ];

    #[test]
    fn admit_table() {
        let mut set = StageSet::default();
        for (i, (image, stage, sig, want)) in CASES.into_iter().enumerate() {
            let got = set.admit(&ImageName::from_annotation(image).unwrap(), stage, sig);
            match (got, want) {
                (Ok(r), Ok(w)) => assert_eq!(r.as_deref(), w, "case {i}"),
                (Err(e), Err(w)) => assert!(e.starts_with(w), "case {i}: {e}"),
                (got, want) => panic!("case {i}: got {got:?}, want {want:?}"),
            }
        }
    }

    /// A batch gives the results and the entries of the same stages added one by one.
    #[test]
    fn a_batch_is_added_as_one_by_one() {
        let batch: Vec<NewStage> = CASES
            .iter()
            .enumerate()
            .map(|(i, (image, stage, sig, _))| new(i as u8, image, stage, sig))
            .collect();
        let (one, many) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut w1 = StoreWriter::open(one.path()).unwrap();
        let singly: Vec<Result<Option<String>, String>> = batch
            .iter()
            .map(|n| {
                w1.add_stage(&n.descriptor, &n.image, &n.stage, &n.signature)
                    .map_err(|e| e.to_string())
            })
            .collect();
        let mut w2 = StoreWriter::open(many.path()).unwrap();
        assert_eq!(w2.check_stages(&batch), singly, "checked, not added");
        assert!(w2.entries().is_empty());
        assert_eq!(w2.add_stages(&batch), singly);
        assert_eq!(w2.entries(), w1.entries());
        let sigs: Vec<String> = w2.entries().into_iter().map(|e| e.signature).collect();
        assert_eq!(sigs, ["bb", "cc", "aa"]);
    }
}
