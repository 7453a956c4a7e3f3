//! Writing the stages storage: the writer lock, stale temporary files removed first, stage
//! entries added (or replacing the entry of the same image and stage) with the `io.werf.*`
//! annotations under the rules of `format` (checked through `stage_set`, one stage or a
//! batch in linear time), `index.json` committed last by atomic rename
//! (docs/stages-format.md, "Writing stages"). Knows nothing of HTTP or of the CLI.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::error::StoreError;
use super::format::{ImageName, ANN_IMAGE, ANN_SIGNATURE, ANN_STAGE};
use super::read::Stage;
use super::stage_set::StageSet;
use werf_push_layout::{
    remove_temp, stale_temps, IndexEntry, Layout, LayoutLock, LayoutWriter, REF_NAME, TMP_PREFIX,
};
use werf_push_spec::Descriptor;

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

    /// The storage's directory.
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

    /// Every entry that is a stage (entries that break a rule of the format are not).
    pub fn entries(&self) -> Vec<Stage> {
        self.w().entries().iter().filter_map(stage_of).collect()
    }

    /// The stage `--parent GIVEN` names: its full signature or a unique prefix of it (as
    /// `stages list` shows them, whole).
    pub fn parent(&self, given: &str) -> Result<Stage, StoreError> {
        let shown = werf_push_spec::text::printable(given);
        if let Some(e) = self.find(given) {
            return Ok(e);
        }
        let matches: Vec<Stage> = self
            .entries()
            .into_iter()
            .filter(|e| !given.is_empty() && e.signature.starts_with(given))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(StoreError::Arg {
                arg: format!("--parent {shown}"),
                reason: format!(
                    "no stage with this signature (or prefix) in the stages storage {}; \
                     `werf-push stages list` shows the signatures",
                    self.root.display()
                ),
            }),
            many => Err(StoreError::Arg {
                arg: format!("--parent {shown}"),
                reason: format!(
                    "{} stages have signatures starting so ({}): give more of it",
                    many.len(),
                    many.iter()
                        .map(|e| e.signature.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    /// The stage whose signature is `signature` exactly, if the storage holds it.
    pub fn find(&self, signature: &str) -> Option<Stage> {
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
        image: &ImageName,
        stage: &str,
        sig: &str,
    ) -> Result<Option<String>, StoreError> {
        let new = NewStage {
            descriptor: d.clone(),
            image: image.clone(),
            stage: stage.to_string(),
            signature: sig.to_string(),
        };
        let mut results = self.add_stages(std::slice::from_ref(&new));
        results
            .pop()
            .expect("one result")
            .map_err(|rule| StoreError::Refused {
                signature: sig.to_string(),
                rule,
            })
    }

    /// What [`add_stages`](Self::add_stages) would answer for `batch`, nothing added.
    pub fn check_stages(&self, batch: &[NewStage]) -> Vec<Result<Option<String>, String>> {
        let mut set = StageSet::new(self.entries());
        batch
            .iter()
            .map(|n| set.admit(&n.image, &n.stage, &n.signature))
            .collect()
    }

    /// Adds the stages of `batch` (blobs already written) in order, as `add_stage` does one
    /// by one, in time linear in the storage and the batch. Each result is that of
    /// `add_stage`: the signature it replaced, or the rule it breaks (then it is not added).
    pub fn add_stages(&mut self, batch: &[NewStage]) -> Vec<Result<Option<String>, String>> {
        let results = self.check_stages(batch);
        // The last admitted stage of each (image, stage) is the entry; the entries it
        // replaces go in one pass.
        let mut last: HashMap<(&ImageName, &str), usize> = HashMap::new();
        for (i, (n, r)) in batch.iter().zip(&results).enumerate() {
            if r.is_ok() {
                last.insert((&n.image, n.stage.as_str()), i);
            }
        }
        self.w_mut().retain_entries(|v| match stage_of(v) {
            Some(e) => !last.contains_key(&(&e.image, e.stage.as_str())),
            None => true,
        });
        for (i, n) in batch.iter().enumerate() {
            if last.get(&(&n.image, n.stage.as_str())) == Some(&i) {
                let extra = entry_fields(&n.descriptor, &n.image, &n.stage, &n.signature);
                self.w_mut().add_entry(&n.descriptor, extra);
            }
        }
        results
    }

    fn w(&self) -> &LayoutWriter {
        self.writer.as_ref().expect("present until committed")
    }

    fn w_mut(&mut self) -> &mut LayoutWriter {
        self.writer.as_mut().expect("present until committed")
    }

    /// Writes `index.json` by atomic rename and releases the lock. Refused, with nothing
    /// written, when the entries break a rule readers check (`read::check_entries`: an
    /// entry that is no stage, a signature listed twice, as a hostile checkout may hold):
    /// a writer never leaves a storage no reader accepts.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let index_path = self.root.join("index.json");
        let mut stages = Vec::new();
        for (i, e) in self.w().entries().iter().enumerate() {
            match &e.descriptor {
                Some(d) => stages.push(d),
                None => {
                    return Err(StoreError::Rule {
                        path: index_path,
                        entry: format!("entry {}", i + 1),
                        rule: "not a descriptor (mediaType, digest, size)".into(),
                    })
                }
            }
        }
        super::read::check_entries(stages, &index_path)?;
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

/// Takes the storage's writer lock (every writer takes it first), after refusing a storage
/// reached through a symlink (`refuse_linked`). Held by another process, it fails with
/// the one lock error, `LayoutError::Locked`.
pub fn lock(root: &Path) -> Result<LayoutLock, StoreError> {
    refuse_linked(root)?;
    Ok(LayoutLock::acquire(root)?)
}

/// The name of the project directory holding the default stages storage (`.werf/stages`).
const WERF_DIR: &str = ".werf";

/// A stages storage that is a symlink, or whose `.werf` directory is one, is never written
/// to: a checkout holding `.werf -> /etc` would have the storage created at the link's
/// target. A storage kept elsewhere on purpose is named by its real path (`--stages-dir`).
fn refuse_linked(root: &Path) -> Result<(), StoreError> {
    let mut check = vec![root];
    if let Some(parent) = root
        .parent()
        .filter(|p| p.file_name() == Some(WERF_DIR.as_ref()))
    {
        check.push(parent);
    }
    for p in check {
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(p)
                .map(|t| werf_push_spec::text::shown(&t.to_string_lossy()))
                .unwrap_or_else(|_| "?".into());
            return Err(StoreError::NotStorage {
                path: PathBuf::from(werf_push_spec::text::shown(&p.to_string_lossy())),
                reason: format!(
                    "is a symbolic link (to {target}): the stages storage is never written \
                     through a link (a checkout could point it anywhere); nothing was \
                     changed: replace the link with a directory, or pass --stages-dir with \
                     the storage's real path"
                ),
            });
        }
    }
    Ok(())
}

/// A stage to add: its root manifest (blobs already written), image, stage and signature.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewStage {
    /// The stage's root manifest or index, its blobs already in the storage.
    pub descriptor: Descriptor,
    /// The werf image it is a stage of.
    pub image: ImageName,
    /// The stage's name, one of werf's stage names.
    pub stage: String,
    /// The signature its entry records (`io.werf.signature`); unique in the storage.
    pub signature: String,
}

impl NewStage {
    /// The stage `descriptor` (blobs already written) as `image`/`stage`/`signature`.
    pub fn new(
        descriptor: Descriptor,
        image: ImageName,
        stage: impl Into<String>,
        signature: impl Into<String>,
    ) -> NewStage {
        NewStage {
            descriptor,
            image,
            stage: stage.into(),
            signature: signature.into(),
        }
    }
}

/// The fields of a stage's `index.json` entry besides its descriptor: the `io.werf.*`
/// annotations, the ref name and the platform.
fn entry_fields(d: &Descriptor, image: &ImageName, stage: &str, sig: &str) -> serde_json::Value {
    let mut extra = serde_json::json!({
        "annotations": {
            REF_NAME: sig,
            ANN_IMAGE: image.annotation(),
            ANN_STAGE: stage,
            ANN_SIGNATURE: sig,
        }
    });
    if let Some(p) = &d.platform {
        let (os, arch) = p.split_once('/').unwrap_or((p.as_str(), ""));
        extra["platform"] = serde_json::json!({"os": os, "architecture": arch});
    }
    extra
}

/// The stage an `index.json` entry being written is, if it is one.
fn stage_of(e: &IndexEntry) -> Option<Stage> {
    Stage::parse(e.descriptor.as_ref()?).ok()
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
