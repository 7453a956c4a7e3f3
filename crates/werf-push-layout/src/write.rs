//! Writing a layout: blobs first (temporary file, then rename into place), `index.json`
//! last by atomic rename and a sync of the directory, so a reader never sees an entry whose
//! blobs are missing and a committed write survives a power loss. `index.json` is compact
//! JSON and never larger than readers accept. An `index.json` that
//! exists but cannot be read stops the write: rewriting it would drop its entries.

use std::path::{Path, PathBuf};

use super::safe_fs::{real_dirs, replace_file};
use super::{LayoutError, MAX_MANIFEST};
use werf_push_spec::{media_type, Descriptor, Digest};

/// Writes a layout: blobs, then `index.json` in one atomic step ([`LayoutWriter::create`]
/// opens or creates it).
pub struct LayoutWriter {
    root: PathBuf,
    entries: Vec<IndexEntry>,
}

/// One `index.json` entry as the writer keeps it: its descriptor, typed (`None` for an
/// entry that does not read as one: it is kept as it is), and the JSON it came from, so
/// fields no type here models (`urls`, `artifactType`, a platform's `os.version`) survive
/// a rewrite.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    /// The entry read as a descriptor; `None` when it does not read as one.
    pub descriptor: Option<Descriptor>,
    json: serde_json::Value,
}

impl IndexEntry {
    fn new(json: serde_json::Value) -> IndexEntry {
        IndexEntry {
            descriptor: Descriptor::from_json(&json),
            json,
        }
    }
}

impl LayoutWriter {
    /// Creates `dir` as an empty layout (or opens an existing one, keeping its entries).
    pub fn create(dir: &Path) -> Result<LayoutWriter, LayoutError> {
        real_dirs(dir, &["blobs", "sha256"]).map_err(LayoutError::io(dir.join("blobs/sha256")))?;
        let marker = dir.join("oci-layout");
        if std::fs::symlink_metadata(&marker).is_err() {
            atomic_write(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let index = dir.join("index.json");
        let entries = match read_index(dir, &index)? {
            None => Vec::new(),
            Some(bytes) => {
                let not = |reason: String| LayoutError::NotALayout {
                    path: index.clone(),
                    reason,
                };
                let v: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|e| not(format!("index.json is not JSON: {e}")))?;
                match v.get("manifests") {
                    None | Some(serde_json::Value::Null) => Vec::new(),
                    Some(serde_json::Value::Array(a)) => {
                        a.iter().cloned().map(IndexEntry::new).collect()
                    }
                    Some(_) => return Err(not("index.json: manifests is not a list".into())),
                }
            }
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
        Ok(Descriptor::new(media_type, digest, bytes.len() as u64))
    }

    /// The entries `index.json` will hold.
    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// Keeps only the entries for which `keep` is true.
    pub fn retain_entries(&mut self, keep: impl FnMut(&IndexEntry) -> bool) {
        self.entries.retain(keep);
    }

    /// Adds an entry to `index.json` (written by `commit`). `extra` holds further
    /// descriptor fields such as `annotations` or `platform`.
    pub fn add_entry(&mut self, d: &Descriptor, extra: serde_json::Value) {
        let mut v = d.to_json();
        if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
            for (k, val) in more {
                obj.insert(k.clone(), val.clone());
            }
        }
        self.entries.push(IndexEntry::new(v));
    }

    /// Writes `index.json` (compact JSON) by atomic rename; refused, with nothing written,
    /// when it would be larger than readers accept ([`MAX_MANIFEST`]).
    pub fn commit(self) -> Result<(), LayoutError> {
        let manifests: Vec<&serde_json::Value> = self.entries.iter().map(|e| &e.json).collect();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_INDEX,
            "manifests": manifests,
        });
        let bytes = serde_json::to_vec(&index).expect("JSON values serialise");
        let path = self.root.join("index.json");
        if bytes.len() as u64 > MAX_MANIFEST {
            return Err(LayoutError::IndexTooLarge {
                path,
                size: bytes.len() as u64,
                limit: MAX_MANIFEST,
            });
        }
        atomic_write(&path, &bytes)
    }
}

/// `index.json` of the layout at `dir`: `None` when there is none; any other failure to
/// read it (a FIFO, a link out, no permission, too big) is an error.
fn read_index(dir: &Path, index: &Path) -> Result<Option<Vec<u8>>, LayoutError> {
    let base = dir.canonicalize().map_err(LayoutError::io(dir))?;
    match super::read::read_capped(&base, index, None) {
        Ok(bytes) => Ok(Some(bytes.to_vec())),
        Err(LayoutError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Writes `bytes` as `path` through a new temporary file beside it
/// ([`super::safe_fs::replace_file`]).
pub(crate) fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), LayoutError> {
    replace_file(path, bytes).map_err(LayoutError::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries already in `index.json` come back typed where they read as descriptors and
    /// are written back exactly, fields no type models included; new ones are added.
    #[test]
    fn entries_typed_and_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let d = Digest::sha256_of(b"x");
        let good = serde_json::json!({"mediaType": media_type::OCI_MANIFEST, "digest": d.to_string(),
            "size": 1, "urls": ["https://example.com/x"], "annotations": {"a": "b"}});
        let broken = serde_json::json!({"mediaType": media_type::OCI_MANIFEST, "size": "one"});
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        std::fs::write(
            dir.path().join("index.json"),
            serde_json::to_vec(
                &serde_json::json!({"schemaVersion": 2, "manifests": [good, broken]}),
            )
            .unwrap(),
        )
        .unwrap();
        let mut w = LayoutWriter::create(dir.path()).unwrap();
        // (entry, its digest when it reads as a descriptor, its annotation "a")
        let want = [(Some(d.clone()), Some("b")), (None, None)];
        assert_eq!(w.entries().len(), want.len());
        for (e, (digest, a)) in w.entries().iter().zip(want) {
            assert_eq!(e.descriptor.as_ref().map(|x| x.digest.clone()), digest);
            let got = e
                .descriptor
                .as_ref()
                .and_then(|x| x.annotations.get("a").cloned());
            assert_eq!(got.as_deref(), a);
        }
        let added = w.write_blob(b"{}", media_type::OCI_MANIFEST).unwrap();
        w.add_entry(&added, serde_json::json!({"annotations": {"k": "v"}}));
        w.commit().unwrap();
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
        let m = index["manifests"].as_array().unwrap();
        assert_eq!(m.len(), 3, "{index}");
        assert_eq!((&m[0], &m[1]), (&good, &broken), "kept exactly: {index}");
        assert_eq!(m[2]["annotations"]["k"], "v", "{index}");
    }

    /// `index.json` is written compact, so an index a reader accepts stays one after a
    /// write, and one over the readers' cap is refused with the file left as it was.
    #[test]
    fn index_stays_within_what_readers_accept() {
        let entry = |i: usize| {
            serde_json::json!({"mediaType": media_type::OCI_MANIFEST,
                "digest": Digest::sha256_of(i.to_string().as_bytes()).to_string(), "size": 1000 + i,
                "annotations": {"org.opencontainers.image.ref.name": format!("image-{i}"),
                    "io.werf.stage": "from"}})
        };
        let one = serde_json::to_vec(&entry(0)).unwrap().len() as u64;
        // (entries already there, as a share of the cap; entries added; commit succeeds)
        let cases = [(0.85, 1, true), (0.98, 2_000, false)];
        for (share, added, ok) in cases {
            let n = (MAX_MANIFEST as f64 * share) as u64 / (one + 1);
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
            std::fs::write(
                dir.path().join("oci-layout"),
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            )
            .unwrap();
            let all: Vec<_> = (0..n as usize).map(entry).collect();
            let before = serde_json::to_vec(
                &serde_json::json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX,
                    "manifests": all}),
            )
            .unwrap();
            std::fs::write(dir.path().join("index.json"), &before).unwrap();
            crate::Layout::open(dir.path()).expect("the index before is readable");
            let mut w = LayoutWriter::create(dir.path()).unwrap();
            for i in 0..added {
                w.add_entry(
                    &Descriptor::from_json(&entry(n as usize + i)).unwrap(),
                    serde_json::json!({}),
                );
            }
            let got = w.commit();
            assert_eq!(got.is_ok(), ok, "{share}: {got:?}");
            if ok {
                crate::Layout::open(dir.path()).expect("the index after is readable");
            } else {
                assert!(
                    matches!(got, Err(LayoutError::IndexTooLarge { .. })),
                    "{got:?}"
                );
                let after = std::fs::read(dir.path().join("index.json")).unwrap();
                assert!(after == before, "index.json changed");
            }
        }
    }
}
