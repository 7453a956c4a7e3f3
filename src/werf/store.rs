//! Writing the stages storage: the writer lock, stale temporary files removed first, stage
//! entries added (or replacing the entry of the same image and stage) with the `io.werf.*`
//! annotations, `index.json` committed last by atomic rename. Also the error type of the
//! storage-writing commands (import, add, pull, gc) and the config labels that carry a
//! stage's image and stage names (docs/stages-format.md, "Writing stages").
//! Knows nothing of HTTP or of the CLI.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

use super::error::WerfError;
use super::signature;
use super::stages::{ANN_IMAGE, ANN_SIGNATURE, ANN_STAGE, STAGE_ORDER};
use crate::layout::{
    remove_temp, stale_temps, Layout, LayoutError, LayoutLock, LayoutWriter, REF_NAME, TMP_PREFIX,
};
use crate::push::PushError;
use crate::registry::RegistryError;
use crate::spec::Descriptor;

/// Config label holding the werf image name of a stage (empty for the nameless image).
pub const LABEL_IMAGE: &str = "io.werf.image";
/// Config label holding the stage name.
pub const LABEL_STAGE: &str = "io.werf.stage";

/// Failures of `stages import`, `add`, `pull` and `gc`.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Another process holds the storage's lock.
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Layout(#[from] LayoutError),
    #[error("{0}")]
    Werf(#[source] Box<WerfError>),
    /// Bad input: what, where and how to fix it.
    #[error("{0}")]
    Invalid(String),
    #[error("{}: {reason}", .path.display())]
    Source { path: PathBuf, reason: String },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Connecting to the registry failed.
    #[error("{0}")]
    Push(#[source] Box<PushError>),
    #[error("{context}: {source}")]
    Registry {
        context: String,
        #[source]
        source: RegistryError,
    },
    /// `stages pull IMAGE_NAME...` could not restore every named image whole (what it
    /// could restore is stored).
    #[error("{}", super::pull::not_restored(.repo, .images, .unidentified))]
    NotRestored {
        repo: String,
        /// Image names as given (`~` for the nameless image).
        images: Vec<String>,
        /// Stage tags whose bytes name no image and stage.
        unidentified: Vec<String>,
    },
}

impl From<WerfError> for StoreError {
    fn from(e: WerfError) -> StoreError {
        StoreError::Werf(Box::new(e))
    }
}

impl From<PushError> for StoreError {
    fn from(e: PushError) -> StoreError {
        StoreError::Push(Box::new(e))
    }
}

impl StoreError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.to_path_buf();
        // A write into the storage that failed inside a copy from `path` is the storage's
        // failure (a full disk, say), not the source's.
        move |source| match LayoutError::carried(source) {
            Ok(inner) => StoreError::Layout(inner),
            Err(source) if crate::layout::safe_fs::is_no_space(&source) => {
                StoreError::Layout(LayoutError::from_io(path, source))
            }
            Err(source) => StoreError::Io { path, source },
        }
    }
}

/// One stage entry of `index.json`, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub image: String,
    pub stage: String,
    pub signature: String,
    pub digest: String,
}

/// The storage opened for writing: locked until committed or dropped. Dropped without
/// a commit, it removes the blobs placed since it was opened, so a failed write leaves the
/// storage as it was.
pub struct StoreWriter {
    root: PathBuf,
    writer: Option<LayoutWriter>,
    /// Blob files present when opened.
    before: HashSet<OsString>,
    committed: bool,
    _lock: LayoutLock,
}

impl StoreWriter {
    /// Locks the storage at `root` (created when missing) and removes temporary files an
    /// interrupted writer left behind.
    pub fn open(root: &Path) -> Result<StoreWriter, StoreError> {
        let lock = lock(root)?;
        for t in stale_temps(root)? {
            remove_temp(&t)?;
        }
        let writer = LayoutWriter::create(root)?;
        Ok(StoreWriter {
            root: root.to_path_buf(),
            before: blob_names(root)?,
            writer: Some(writer),
            committed: false,
            _lock: lock,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stores a small blob (config, manifest) from memory.
    pub fn write_blob(&self, bytes: &[u8], media_type: &str) -> Result<Descriptor, StoreError> {
        Ok(self.w().write_blob(bytes, media_type)?)
    }

    /// The committed layout, for reading blobs; `None` before the first commit.
    pub fn layout(&self) -> Result<Option<Layout>, StoreError> {
        if !self.root.join("index.json").exists() {
            return Ok(None);
        }
        Ok(Some(Layout::open(&self.root)?))
    }

    /// Every entry that carries the werf annotations.
    pub fn entries(&self) -> Vec<Entry> {
        self.w().entries().iter().filter_map(entry).collect()
    }

    /// The stage `--parent GIVEN` names: its full signature or a unique prefix of it (as
    /// `stages list` shows them, whole).
    pub fn parent(&self, given: &str) -> Result<Entry, StoreError> {
        let shown = crate::spec::text::printable(given);
        if let Some(e) = self.find(given) {
            return Ok(e);
        }
        let matches: Vec<Entry> = self
            .entries()
            .into_iter()
            .filter(|e| !given.is_empty() && e.signature.starts_with(given))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(StoreError::Invalid(format!(
                "--parent {shown}: no stage with this signature (or prefix) in the stages \
                 storage {}; `werf-push stages list` shows the signatures",
                self.root.display()
            ))),
            many => Err(StoreError::Invalid(format!(
                "--parent {shown}: {} stages have signatures starting so ({}): give more of it",
                many.len(),
                many.iter()
                    .map(|e| e.signature.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    pub fn find(&self, signature: &str) -> Option<Entry> {
        self.entries()
            .into_iter()
            .find(|e| e.signature == signature)
    }

    /// Adds the stage `d` (blobs already written) as `image`/`stage`/`signature`. An entry
    /// of the same image and stage is replaced (its signature is returned); the same
    /// signature for another image or stage is an error.
    pub fn add_stage(
        &mut self,
        d: &Descriptor,
        image: &str,
        stage: &str,
        sig: &str,
    ) -> Result<Option<String>, StoreError> {
        check_names(stage, sig)?;
        if !image.is_empty() {
            super::naming::check_image_name(image).map_err(StoreError::Invalid)?;
        }
        let all = self.entries();
        if let Some(other) = all
            .iter()
            .find(|e| e.signature == sig && (e.image != image || e.stage != stage))
        {
            return Err(StoreError::Invalid(format!(
                "signature {sig} is already the '{}' stage of image '{}': signatures are \
                 unique in the stages storage; give another --signature",
                other.stage, other.image
            )));
        }
        let mine: Vec<&Entry> = all.iter().filter(|e| e.image == image).collect();
        let clash = if stage == "dockerfile" {
            mine.iter().find(|e| e.stage != "dockerfile")
        } else {
            mine.iter().find(|e| e.stage == "dockerfile")
        };
        if let Some(c) = clash {
            return Err(StoreError::Invalid(format!(
                "image '{image}' already has stage '{}': a Dockerfile image has the one stage \
                 'dockerfile' and no other",
                c.stage
            )));
        }
        let replaced = mine
            .iter()
            .find(|e| e.stage == stage)
            .map(|e| e.signature.clone());
        self.w_mut().retain_entries(|v| match entry(v) {
            Some(e) => !(e.image == image && e.stage == stage),
            None => true,
        });
        let mut extra = serde_json::json!({
            "annotations": {
                REF_NAME: sig,
                ANN_IMAGE: image,
                ANN_STAGE: stage,
                ANN_SIGNATURE: sig,
            }
        });
        if let Some(p) = &d.platform {
            let (os, arch) = p.split_once('/').unwrap_or((p.as_str(), ""));
            extra["platform"] = serde_json::json!({"os": os, "architecture": arch});
        }
        self.w_mut().add_entry(d, extra);
        Ok(replaced.filter(|r| r != sig))
    }

    fn w(&self) -> &LayoutWriter {
        self.writer.as_ref().expect("present until committed")
    }

    fn w_mut(&mut self) -> &mut LayoutWriter {
        self.writer.as_mut().expect("present until committed")
    }

    /// Writes `index.json` by atomic rename and releases the lock.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let w = self.writer.take().expect("present until committed");
        // On failure index.json is unchanged, and the drop removes the new blobs too.
        w.commit()?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let dir = self.root.join("blobs").join("sha256");
        let Ok(now) = blob_names(&self.root) else {
            return;
        };
        for name in now.difference(&self.before) {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
}

/// The names of the blob files (temporary files aside) in `blobs/sha256`.
fn blob_names(root: &Path) -> Result<HashSet<OsString>, StoreError> {
    let dir = root.join("blobs").join("sha256");
    let mut out = HashSet::new();
    let it = match std::fs::read_dir(&dir) {
        Ok(it) => it,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(StoreError::io(&dir)(e)),
    };
    for e in it {
        let name = e.map_err(StoreError::io(&dir))?.file_name();
        if !name.to_string_lossy().starts_with(TMP_PREFIX) {
            out.insert(name);
        }
    }
    Ok(out)
}

/// Takes the storage's writer lock.
pub fn lock(root: &Path) -> Result<LayoutLock, StoreError> {
    LayoutLock::acquire(root).map_err(|e| match e {
        e @ LayoutError::Locked { .. } => StoreError::Locked(e.to_string()),
        e => e.into(),
    })
}

fn entry(v: &Value) -> Option<Entry> {
    let a = v.get("annotations")?;
    let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_string);
    Some(Entry {
        image: s(ANN_IMAGE)?,
        stage: s(ANN_STAGE)?,
        signature: s(ANN_SIGNATURE)?,
        digest: v.get("digest")?.as_str()?.to_string(),
    })
}

/// A stage name werf knows and a hex signature.
pub fn check_names(stage: &str, sig: &str) -> Result<(), StoreError> {
    if !STAGE_ORDER.contains(&stage) {
        return Err(StoreError::Invalid(format!(
            "unknown stage name '{}': use one of {}",
            crate::spec::text::printable(stage),
            STAGE_ORDER.join(", ")
        )));
    }
    signature::check(sig).map_err(StoreError::Invalid)
}

/// Sets `labels` in an image config (`config.Labels`), creating the objects as needed.
pub fn set_labels(cfg: &mut Value, labels: &[(&str, &str)]) -> Result<(), String> {
    let obj = cfg
        .as_object_mut()
        .ok_or("the image config is not a JSON object")?;
    let inner = obj
        .entry("config")
        .or_insert_with(|| Value::Object(Default::default()));
    if !inner.is_object() {
        *inner = Value::Object(Default::default());
    }
    let lbl = inner
        .as_object_mut()
        .expect("an object")
        .entry("Labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if !lbl.is_object() {
        *lbl = Value::Object(Default::default());
    }
    let lbl = lbl.as_object_mut().expect("an object");
    for (k, v) in labels {
        lbl.insert(k.to_string(), Value::from(*v));
    }
    Ok(())
}

/// A label of an image config, if set.
pub fn label<'a>(cfg: &'a Value, key: &str) -> Option<&'a str> {
    cfg.get("config")?.get("Labels")?.get(key)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Digest;

    fn desc(n: u8) -> Descriptor {
        Descriptor {
            media_type: crate::spec::media_type::OCI_MANIFEST.into(),
            digest: Digest::sha256_of(&[n]),
            size: 1,
            platform: None,
            annotations: Default::default(),
        }
    }

    #[test]
    fn add_stage_rules_table() {
        // (image, stage, signature, Ok(replaced) or Err(start of message)), applied in order.
        type Case = (
            &'static str,
            &'static str,
            &'static str,
            Result<Option<&'static str>, &'static str>,
        );
        let cases: [Case; 7] = [
            ("a", "from", "aa", Ok(None)),
            ("a", "install", "bb", Ok(None)),
            ("a", "from", "cc", Ok(Some("aa"))),
            ("b", "from", "bb", Err("signature bb is already")),
            (
                "a",
                "dockerfile",
                "dd",
                Err("image 'a' already has stage '"),
            ),
            ("a", "nope", "ee", Err("unknown stage name 'nope'")),
            ("", "from", "ff", Ok(None)),
        ];
        let dir = tempfile::tempdir().unwrap();
        let mut w = StoreWriter::open(dir.path()).unwrap();
        for (i, (image, stage, sig, want)) in cases.into_iter().enumerate() {
            let got = w.add_stage(&desc(i as u8), image, stage, sig);
            match (got, want) {
                (Ok(r), Ok(w)) => assert_eq!(r.as_deref(), w, "case {i}"),
                (Err(e), Err(w)) => assert!(e.to_string().starts_with(w), "case {i}: {e}"),
                (got, want) => panic!("case {i}: got {got:?}, want {want:?}"),
            }
        }
        let sigs: Vec<String> = w.entries().into_iter().map(|e| e.signature).collect();
        assert_eq!(sigs, ["bb", "cc", "ff"]);
    }

    #[test]
    fn labels_set_and_read() {
        let cases = [
            (r#"{}"#, r#"{"config":{"Labels":{"k":"v"}}}"#),
            (r#"{"config":null}"#, r#"{"config":{"Labels":{"k":"v"}}}"#),
            (
                r#"{"config":{"Env":["A=1"],"Labels":{"x":"y"}}}"#,
                r#"{"config":{"Env":["A=1"],"Labels":{"k":"v","x":"y"}}}"#,
            ),
        ];
        for (input, want) in cases {
            let mut v: Value = serde_json::from_str(input).unwrap();
            set_labels(&mut v, &[("k", "v")]).unwrap();
            assert_eq!(v.to_string(), want, "{input}");
            assert_eq!(label(&v, "k"), Some("v"));
        }
        assert!(set_labels(&mut Value::from(1), &[]).is_err());
    }
}
