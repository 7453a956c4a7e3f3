//! Writing a layout: blobs first (temporary file, then rename into place), `index.json`
//! last by atomic rename, so a reader never sees an entry whose blobs are missing.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::LayoutError;
use crate::spec::{media_type, Descriptor, Digest};

pub struct LayoutWriter {
    root: PathBuf,
    entries: Vec<serde_json::Value>,
}

impl LayoutWriter {
    /// Creates `dir` as an empty layout (or opens an existing one, keeping its entries).
    pub fn create(dir: &Path) -> Result<LayoutWriter, LayoutError> {
        std::fs::create_dir_all(dir.join("blobs").join("sha256")).map_err(LayoutError::io(dir))?;
        let marker = dir.join("oci-layout");
        if !marker.exists() {
            atomic_write(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let index = dir.join("index.json");
        let entries = match std::fs::read(&index) {
            Ok(bytes) => {
                let v: serde_json::Value =
                    serde_json::from_slice(&bytes).map_err(|e| LayoutError::NotALayout {
                        path: index.clone(),
                        reason: format!("index.json is not JSON: {e}"),
                    })?;
                v.get("manifests")
                    .and_then(|m| m.as_array())
                    .cloned()
                    .unwrap_or_default()
            }
            Err(_) => Vec::new(),
        };
        Ok(LayoutWriter {
            root: dir.to_path_buf(),
            entries,
        })
    }

    /// Stores `bytes` as a blob (once: an existing blob is left as it is).
    pub fn write_blob(&self, bytes: &[u8], media_type: &str) -> Result<Descriptor, LayoutError> {
        let digest = Digest::sha256_of(bytes);
        let path = self.root.join("blobs").join("sha256").join(digest.hex());
        if !path.exists() {
            atomic_write(&path, bytes)?;
        }
        Ok(Descriptor {
            media_type: media_type.to_string(),
            digest,
            size: bytes.len() as u64,
            platform: None,
            annotations: Default::default(),
        })
    }

    /// The entries `index.json` will hold, as JSON descriptors.
    pub fn entries(&self) -> &[serde_json::Value] {
        &self.entries
    }

    /// Keeps only the entries for which `keep` is true.
    pub fn retain_entries(&mut self, keep: impl FnMut(&serde_json::Value) -> bool) {
        self.entries.retain(keep);
    }

    /// Adds an entry to `index.json` (written by `commit`). `extra` holds further
    /// descriptor fields such as `annotations` or `platform`.
    pub fn add_entry(&mut self, d: &Descriptor, extra: serde_json::Value) {
        let mut v = serde_json::json!({
            "mediaType": d.media_type,
            "digest": d.digest.to_string(),
            "size": d.size,
        });
        if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
            for (k, val) in more {
                obj.insert(k.clone(), val.clone());
            }
        }
        self.entries.push(v);
    }

    /// Writes `index.json` by atomic rename.
    pub fn commit(self) -> Result<(), LayoutError> {
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_INDEX,
            "manifests": self.entries,
        });
        let bytes = serde_json::to_vec_pretty(&index).expect("JSON values serialise");
        atomic_write(&self.root.join("index.json"), &bytes)
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it into place.
pub(crate) fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), LayoutError> {
    let tmp = path.with_file_name(format!(
        ".tmp-{}-{}",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("blob")
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(LayoutError::io(path))
}
