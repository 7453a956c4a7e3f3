//! Archives for `stages import`: a tarball (plain or gzip) unpacked into a temporary
//! directory inside the stages storage (`.tmp-*`, removed afterwards, or by `stages gc`
//! after a crash), and the `docker save` format converted to an OCI image: `manifest.json`
//! names the config and the layer tars (legacy `<id>/layer.tar`, or `blobs/sha256/<hex>` in
//! the OCI-layout-inside form of Docker 25+); each plain layer becomes a gzip or zstd blob
//! (a compressed one is kept as it is) whose diff_id is checked against the config's `rootfs.diff_ids`. Knows nothing of registries.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::add::descriptor_json;
use super::layer::{layer_stream, LayerOptions};
use super::store::{set_labels, StoreError, StoreWriter};
use crate::layout::{tmp_name, MAX_MANIFEST};
use crate::spec::{media_type, Descriptor};

/// A temporary directory in the stages storage, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(root: &Path) -> Result<TempDir, StoreError> {
        let p = root.join(tmp_name("import"));
        std::fs::create_dir(&p).map_err(StoreError::io(&p))?;
        Ok(TempDir(p))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Unpacks the tarball `file` (plain or gzip) into `dest`. Entries leading out of `dest`
/// (`..`, absolute paths) are skipped by the `tar` crate; permissions are not restored.
pub fn extract(file: &Path, dest: &Path) -> Result<(), StoreError> {
    let f = std::fs::File::open(file).map_err(StoreError::io(file))?;
    let mut r = BufReader::new(f);
    let gz = r
        .fill_buf()
        .map_err(StoreError::io(file))?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn std::io::Read> = if gz {
        Box::new(flate2::bufread::MultiGzDecoder::new(r))
    } else {
        Box::new(r)
    };
    let mut a = tar::Archive::new(reader);
    a.set_preserve_permissions(false);
    a.set_preserve_mtime(false);
    a.set_unpack_xattrs(false);
    a.set_overwrite(true);
    a.unpack(dest).map_err(|e| StoreError::Source {
        path: file.to_path_buf(),
        reason: format!("cannot unpack the archive: {e}"),
    })
}

#[derive(serde::Deserialize)]
struct Entry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Converts the image of the unpacked `docker save` archive at `dir` (from `file`) to an
/// OCI image in the storage; returns its manifest descriptor.
pub fn docker_archive(
    w: &StoreWriter,
    file: &Path,
    dir: &Path,
    selector: &Option<String>,
    labels: &[(&str, &str)],
    opts: &LayerOptions,
) -> Result<Descriptor, StoreError> {
    let bad = |reason: String| StoreError::Source {
        path: file.to_path_buf(),
        reason,
    };
    let entries: Vec<Entry> = serde_json::from_slice(&read_small(dir, "manifest.json", file)?)
        .map_err(|e| bad(format!("manifest.json is not a docker save manifest: {e}")))?;
    let tags = |e: &Entry| e.repo_tags.clone().unwrap_or_default();
    let all: Vec<String> = entries.iter().flat_map(tags).collect();
    let entry = match selector {
        Some(sel) => entries
            .iter()
            .find(|e| {
                tags(e)
                    .iter()
                    .any(|t| t == sel || t == &format!("{sel}:latest"))
            })
            .ok_or_else(|| bad(format!("no image tagged '{sel}'; tags: {}", all.join(", "))))?,
        None => match entries.as_slice() {
            [one] => one,
            [] => return Err(bad("manifest.json lists no image".into())),
            _ => {
                return Err(bad(format!(
                    "the archive holds {} images: name one with docker-archive:FILE:REPO:TAG; \
                     tags: {}",
                    entries.len(),
                    all.join(", ")
                )))
            }
        },
    };
    let mut cfg: Value = serde_json::from_slice(&read_small(dir, &entry.config, file)?)
        .map_err(|e| bad(format!("config {} is not JSON: {e}", entry.config)))?;
    let diff_ids: Vec<String> = cfg["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if diff_ids.len() != entry.layers.len() {
        return Err(bad(format!(
            "the config lists {} diff_ids for {} layers",
            diff_ids.len(),
            entry.layers.len()
        )));
    }
    let mut layers = Vec::new();
    for (rel, want) in entry.layers.iter().zip(&diff_ids) {
        let path = inside(dir, rel, file)?;
        let f = std::fs::File::open(&path).map_err(StoreError::io(&path))?;
        let out = layer_stream(w.root(), f, Path::new(rel), opts)?;
        if out.diff_id.to_string() != *want {
            return Err(bad(format!(
                "layer {rel} has diff_id {}, the config says {want}: the archive is corrupted",
                out.diff_id
            )));
        }
        layers.push(descriptor_json(&out.descriptor));
    }
    set_labels(&mut cfg, labels).map_err(bad)?;
    let cfg_bytes = serde_json::to_vec(&cfg).expect("JSON values serialise");
    let cfg_desc = w.write_blob(&cfg_bytes, media_type::OCI_CONFIG)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": descriptor_json(&cfg_desc),
        "layers": layers,
    });
    let bytes = serde_json::to_vec(&manifest).expect("JSON values serialise");
    w.write_blob(&bytes, media_type::OCI_MANIFEST)
}

/// `rel` inside `dir`, symlinks resolved, refused when it leads out.
fn inside(dir: &Path, rel: &str, file: &Path) -> Result<PathBuf, StoreError> {
    let bad = |reason: String| StoreError::Source {
        path: file.to_path_buf(),
        reason,
    };
    let base = dir.canonicalize().map_err(StoreError::io(dir))?;
    let p = base
        .join(rel)
        .canonicalize()
        .map_err(|e| bad(format!("{rel}: {e}")))?;
    if !p.starts_with(&base) || !p.is_file() {
        return Err(bad(format!("{rel} is not a file inside the archive")));
    }
    Ok(p)
}

fn read_small(dir: &Path, rel: &str, file: &Path) -> Result<Vec<u8>, StoreError> {
    let p = inside(dir, rel, file)?;
    let len = std::fs::metadata(&p).map_err(StoreError::io(&p))?.len();
    if len > MAX_MANIFEST {
        return Err(StoreError::Source {
            path: file.to_path_buf(),
            reason: format!("{rel} is larger than {MAX_MANIFEST} bytes"),
        });
    }
    std::fs::read(&p).map_err(StoreError::io(&p))
}
