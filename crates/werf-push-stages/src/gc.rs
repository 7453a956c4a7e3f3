//! `stages gc`: under the writer lock, removes every blob that no entry of `index.json`
//! references (through manifests, indexes, configs and layers) and every temporary file an
//! interrupted writer left (`.tmp-*`); `--dry-run` only lists them. A manifest that cannot
//! be read stops it before anything is removed: what it references is unknown. Only
//! regular files named by a valid hex digest, directly inside the storage's real
//! `blobs/<algorithm>` directories, are ever removed: a `blobs` or `blobs/sha256` that is a
//! symlink stops gc, and anything else found there is left alone.
//! Knows nothing of registries or of the CLI.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::error::StoreError;
use super::write::lock;
use werf_push_layout::safe_fs::is_real_dir;
use werf_push_layout::{remove_temp, stale_temps, Layout, TMP_PREFIX};
use werf_push_spec::{Descriptor, Digest, ManifestKind};

/// A file `stages gc` removed (or, with `--dry-run`, would remove).
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct GcItem {
    /// The file, inside the stages storage.
    pub path: PathBuf,
    /// `blob` or `temporary`.
    pub kind: &'static str,
    /// Its size in bytes (0 when it could not be read).
    pub size: u64,
}

/// What `stages gc` did.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct GcReport {
    /// Nothing was removed: `removed` lists what would be.
    pub dry_run: bool,
    /// The files removed, in path order.
    pub removed: Vec<GcItem>,
    /// The sum of their sizes, in bytes.
    pub bytes: u64,
    /// Blobs kept: referenced by a stage.
    pub kept: usize,
}

/// Removes (with `dry_run`, only lists) the blobs of the storage at `root` no stage
/// references and the temporary files interrupted writers left, under the writer lock.
pub fn gc(root: &Path, dry_run: bool) -> Result<GcReport, StoreError> {
    if !root.join("oci-layout").exists() {
        return Err(StoreError::NotStorage {
            path: root.to_path_buf(),
            reason: "not a stages storage (no oci-layout file)".into(),
        });
    }
    let _lock = lock(root)?;
    let dirs = blob_dirs(root)?;
    let referenced = referenced(root)?;
    let (mut items, kept) = unreferenced_blobs(&dirs, &referenced)?;
    items.extend(temporaries(root)?);
    items.sort_by(|a, b| a.path.cmp(&b.path));
    if !dry_run {
        remove(&items)?;
    }
    Ok(GcReport {
        dry_run,
        bytes: items.iter().map(|i| i.size).sum(),
        removed: items,
        kept,
    })
}

/// The storage's real `blobs/<algorithm>` directories (each with its algorithm), checked
/// before anything is read: a linked blob directory is refused as such.
fn blob_dirs(root: &Path) -> Result<Vec<(&'static str, PathBuf)>, StoreError> {
    let mut real = Vec::new();
    for alg in ["sha256", "sha512"] {
        let dir = root.join("blobs").join(alg);
        if is_real_dir(root, &["blobs", alg]).map_err(|e| StoreError::NotStorage {
            path: dir.clone(),
            reason: format!(
                "{e}; nothing was removed: gc removes files only inside the stages storage"
            ),
        })? {
            real.push((alg, dir));
        }
    }
    Ok(real)
}

/// Every digest an entry of the storage's `index.json` references, through manifests,
/// indexes, configs and layers (none without an `index.json`).
fn referenced(root: &Path) -> Result<BTreeSet<Digest>, StoreError> {
    let mut referenced = BTreeSet::new();
    if root.join("index.json").exists() {
        let layout = Layout::open(root)?;
        for d in layout.entries() {
            walk(&layout, d, 0, &mut referenced)?;
        }
    }
    Ok(referenced)
}

/// The blob files of `dirs` not `referenced`, and how many blobs are kept. Only regular
/// files named by a valid digest count: anything else there is not ours to remove.
fn unreferenced_blobs(
    dirs: &[(&str, PathBuf)],
    referenced: &BTreeSet<Digest>,
) -> Result<(Vec<GcItem>, usize), StoreError> {
    let mut items = Vec::new();
    let mut kept = 0;
    for (alg, dir) in dirs {
        let it = match std::fs::read_dir(dir) {
            Ok(it) => it,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(dir)(e)),
        };
        for e in it {
            let e = e.map_err(StoreError::io(dir))?;
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(TMP_PREFIX) {
                continue; // listed by `temporaries`
            }
            let Ok(digest) = Digest::parse(&format!("{alg}:{name}")) else {
                continue; // not a blob name: not ours to remove
            };
            // The entry's own type: a symlink is not followed, and only files go.
            if !e.file_type().map(|t| t.is_file()).unwrap_or(false) {
                continue;
            }
            if referenced.contains(&digest) {
                kept += 1;
            } else {
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                items.push(GcItem {
                    path: e.path(),
                    kind: "blob",
                    size,
                });
            }
        }
    }
    Ok((items, kept))
}

/// The temporary files interrupted writers left in the storage.
fn temporaries(root: &Path) -> Result<Vec<GcItem>, StoreError> {
    Ok(stale_temps(root)?
        .into_iter()
        .map(|t| {
            let size = std::fs::symlink_metadata(&t).map(|m| m.len()).unwrap_or(0);
            GcItem {
                path: t,
                kind: "temporary",
                size,
            }
        })
        .collect())
}

/// Removes `items`: blobs as files, temporaries as a writer's leftovers.
fn remove(items: &[GcItem]) -> Result<(), StoreError> {
    for i in items {
        match i.kind {
            "blob" => std::fs::remove_file(&i.path).map_err(StoreError::io(&i.path))?,
            _ => remove_temp(&i.path)?,
        }
    }
    Ok(())
}

/// Adds `d` and everything it references to `out`.
fn walk(
    layout: &Layout,
    d: &Descriptor,
    depth: usize,
    out: &mut BTreeSet<Digest>,
) -> Result<(), StoreError> {
    if !out.insert(d.digest.clone()) || depth > 8 {
        return Ok(());
    }
    let m = layout.read_manifest(d).map_err(|e| StoreError::Rule {
        path: layout.root().to_path_buf(),
        entry: d.digest.to_string(),
        rule: format!("{e}; nothing was removed: fix or remove that stage first"),
    })?;
    match &m.kind() {
        ManifestKind::Image { config, layers } => {
            out.insert(config.digest.clone());
            out.extend(layers.iter().map(|l| l.digest.clone()));
        }
        ManifestKind::Index { manifests } => {
            for c in manifests {
                walk(layout, c, depth + 1, out)?;
            }
        }
    }
    Ok(())
}
