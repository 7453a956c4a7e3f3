//! Archives for `stages import`: a tarball (plain or gzip) of which only the members a
//! manifest references are unpacked, on demand, into a temporary directory inside the
//! stages storage (`.tmp-*`, removed afterwards, or by `stages gc` after a crash): first
//! `manifest.json`/`index.json`/`oci-layout`, then the manifests they name, then configs
//! and layers, so a member nothing names is never written (an 18 MB gzip of 4 GiB of
//! zeros writes nothing). The `docker save` format is converted to an OCI image:
//! `manifest.json` names the config and the layer tars (legacy `<id>/layer.tar`, or
//! `blobs/sha256/<hex>` in the OCI-layout-inside form of Docker 25+); each plain layer
//! becomes a gzip or zstd blob (a compressed one is kept as it is) whose diff_id is
//! checked against the config's `rootfs.diff_ids`. Knows nothing of registries.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::error::StoreError;
use super::format::set_labels;
use super::layer::{layer_stream, LayerOptions};
use super::write::StoreWriter;
use werf_push_layout::{safe_fs, tmp_name, Layout, LayoutError, MAX_MANIFEST};
use werf_push_spec::text::{shown, shown_list};
use werf_push_spec::{media_type, Descriptor, Manifest, ManifestKind, Reference};

/// Passes over the archive at most (each one reads it from the start).
const MAX_PASSES: usize = 8;

/// A temporary directory in the stages storage, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(root: &Path) -> Result<TempDir, StoreError> {
        let p = root.join(tmp_name("import"));
        std::fs::create_dir(&p).map_err(StoreError::io(&p))?;
        Ok(TempDir(p))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A tarball (plain or gzip) unpacked member by member, on demand, into a temporary
/// directory of the stages storage.
pub(crate) struct Archive {
    file: PathBuf,
    dir: TempDir,
    /// Members unpacked so far (normalised relative paths).
    have: BTreeSet<String>,
}

impl Archive {
    /// The archive `file`, unpacked (on demand) into a temporary directory under `root`.
    pub(crate) fn open(file: &Path, root: &Path) -> Result<Archive, StoreError> {
        safe_fs::open_regular(file).map_err(StoreError::io(file))?;
        Ok(Archive {
            file: file.to_path_buf(),
            dir: TempDir::new(root)?,
            have: BTreeSet::new(),
        })
    }

    /// Where members are unpacked.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Unpacks the members named in `want` (paths relative to the archive's root) not yet
    /// unpacked, and the members their links lead to. Names the archive lacks are ignored:
    /// the caller finds them missing and says so.
    pub(crate) fn fetch<I, S>(&mut self, want: I) -> Result<(), StoreError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut pending: BTreeSet<String> = want
            .into_iter()
            .filter_map(|w| normalise(Path::new(w.as_ref())))
            .filter(|w| !self.have.contains(w))
            .collect();
        for _ in 0..MAX_PASSES {
            if pending.is_empty() {
                return Ok(());
            }
            pending = self.pass(pending)?;
        }
        Ok(())
    }

    /// One read of the archive: unpacks the members in `pending`; returns what is still
    /// wanted (link targets found on the way, hard links whose target came too late).
    fn pass(&mut self, mut pending: BTreeSet<String>) -> Result<BTreeSet<String>, StoreError> {
        let f = safe_fs::open_regular(&self.file).map_err(StoreError::io(&self.file))?;
        let mut r = BufReader::new(f);
        let gz = r
            .fill_buf()
            .map_err(StoreError::io(&self.file))?
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
        let mut next = BTreeSet::new();
        let entries = a.entries().map_err(|e| self.unpack_error(e))?;
        for entry in entries {
            if pending.is_empty() {
                break; // nothing more wanted from this pass: stop reading
            }
            let mut entry = entry.map_err(|e| self.unpack_error(e))?;
            let Some(name) = entry.path().ok().and_then(|p| normalise(&p)) else {
                continue;
            };
            if !pending.contains(&name) {
                continue;
            }
            let link = entry.link_name().ok().flatten().map(|l| l.into_owned());
            match (entry.header().entry_type(), link) {
                (tar::EntryType::Link, Some(target)) => {
                    let Some(target) = normalise(&target) else {
                        pending.remove(&name);
                        continue;
                    };
                    if !self.have.contains(&target) {
                        // Its target comes first in the archive: take both next pass.
                        pending.remove(&name);
                        next.insert(target);
                        next.insert(name);
                        continue;
                    }
                }
                (tar::EntryType::Symlink, Some(target)) => {
                    let parent = Path::new(&name).parent().unwrap_or(Path::new(""));
                    if let Some(t) = normalise(&parent.join(&target)) {
                        if !self.have.contains(&t) {
                            next.insert(t);
                        }
                    }
                }
                _ => {}
            }
            entry
                .unpack_in(self.dir.path())
                .map_err(|e| self.unpack_error(e))?;
            pending.remove(&name);
            self.have.insert(name);
        }
        next.retain(|n| !self.have.contains(n));
        Ok(next)
    }

    fn unpack_error(&self, e: std::io::Error) -> StoreError {
        if safe_fs::is_no_space(&e) {
            return StoreError::Layout(LayoutError::from_io(self.dir.path().to_path_buf(), e));
        }
        let reason = format!(
            "cannot unpack the archive: {}",
            werf_push_spec::text::error_chain(&e)
        );
        StoreError::Source {
            path: self.file.clone(),
            reason,
        }
    }

    /// Unpacks the OCI layout inside the archive as far as the image `selector` picks
    /// needs it: `oci-layout`, `index.json`, the manifests of that image, their configs
    /// and layers.
    pub(crate) fn fetch_layout(&mut self, selector: Option<&str>) -> Result<(), StoreError> {
        self.fetch(["oci-layout", "index.json"])?;
        let layout = Layout::open(self.path())?;
        let mut frontier = vec![layout.select(selector)?.clone()];
        let mut blobs: Vec<String> = Vec::new();
        for _ in 0..MAX_PASSES {
            if frontier.is_empty() {
                break;
            }
            self.fetch(frontier.iter().map(blob_member))?;
            let mut next = Vec::new();
            for d in &frontier {
                match layout.read_manifest(d)?.kind() {
                    ManifestKind::Image { config, layers } => {
                        blobs.push(blob_member(config));
                        blobs.extend(layers.iter().map(blob_member));
                    }
                    ManifestKind::Index { manifests } => next.extend(manifests.iter().cloned()),
                }
            }
            frontier = next;
        }
        self.fetch(blobs)
    }
}

fn blob_member(d: &Descriptor) -> String {
    format!("blobs/{}/{}", d.digest.algorithm(), d.digest.hex())
}

/// A member's path relative to the archive's root (`./` and `..` resolved), or `None` for
/// one leading out of it.
fn normalise(p: &Path) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::Normal(n) => parts.push(n.to_str()?),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
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
pub(crate) fn docker_archive(
    w: &StoreWriter,
    file: &Path,
    archive: &mut Archive,
    selector: &Option<String>,
    labels: &[(&str, &str)],
    opts: &LayerOptions,
) -> Result<Descriptor, StoreError> {
    let bad = |reason: String| StoreError::Source {
        path: file.to_path_buf(),
        reason,
    };
    let dir = archive.path().to_path_buf();
    let dir = dir.as_path();
    let entries: Vec<Entry> = serde_json::from_slice(&read_small(dir, "manifest.json", file)?)
        .map_err(|e| bad(format!("manifest.json is not a docker save manifest: {e}")))?;
    let tags = |e: &Entry| e.repo_tags.clone().unwrap_or_default();
    let all: Vec<String> = entries.iter().flat_map(tags).collect();
    let entry = match selector {
        Some(sel) => select_entry(&entries, sel).ok_or_else(|| {
            bad(format!(
                "no image tagged '{}'; tags: {} (or @0..@{} by position)",
                shown(sel),
                shown_list(&all),
                entries.len().saturating_sub(1)
            ))
        })?,
        None => match entries.as_slice() {
            [one] => one,
            [] => return Err(bad("manifest.json lists no image".into())),
            _ => {
                return Err(bad(format!(
                    "the archive holds {} images: name one with docker-archive:FILE:REPO:TAG \
                     or docker-archive:FILE:@N; tags: {}",
                    entries.len(),
                    shown_list(&all)
                )))
            }
        },
    };
    archive.fetch(std::iter::once(&entry.config).chain(&entry.layers))?;
    let mut cfg: Value = serde_json::from_slice(&read_small(dir, &entry.config, file)?)
        .map_err(|e| bad(format!("config {} is not JSON: {e}", shown(&entry.config))))?;
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
        let f = safe_fs::open_regular(&path).map_err(StoreError::io(&path))?;
        let out = layer_stream(w.root(), f, Path::new(rel), opts)?;
        if out.diff_id.to_string() != *want {
            return Err(bad(format!(
                "layer {} has diff_id {}, the config says {}: the archive is corrupted",
                shown(rel),
                out.diff_id,
                shown(want)
            )));
        }
        layers.push(out.descriptor);
    }
    set_labels(&mut cfg, labels).map_err(bad)?;
    let cfg_bytes = serde_json::to_vec(&cfg).expect("JSON values serialise");
    let cfg_desc = w.write_blob(&cfg_bytes, media_type::OCI_CONFIG)?;
    let manifest = Manifest::oci_image(&cfg_desc, &layers)
        .map_err(|e| bad(format!("the manifest written for it: {e}")))?;
    w.write_blob(manifest.bytes(), media_type::OCI_MANIFEST)
}

/// The entry `sel` names: `@N`, the N-th image of `manifest.json`, else one of its
/// `RepoTags`, compared as containers/image does, by the normalised name (`app` is
/// `docker.io/library/app:latest`; `localhost/app:1`, as `podman save` writes, stays
/// itself).
fn select_entry<'a>(entries: &'a [Entry], sel: &str) -> Option<&'a Entry> {
    if let Some(n) = sel.strip_prefix('@') {
        return n.parse::<usize>().ok().and_then(|n| entries.get(n));
    }
    let key = |s: &str| {
        Reference::parse(s)
            .ok()
            .filter(|r| r.digest.is_none())
            .map(|r| (r.name(), r.manifest_reference()))
    };
    let want = key(sel);
    entries.iter().find(|e| {
        e.repo_tags.iter().flatten().any(|t| {
            t == sel
                || match (&want, key(t)) {
                    (Some(w), Some(k)) => *w == k,
                    _ => false,
                }
        })
    })
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
        .map_err(|e| bad(format!("{}: {e}", shown(rel))))?;
    if !p.starts_with(&base) || !p.is_file() {
        return Err(bad(format!(
            "{} is not a file inside the archive",
            shown(rel)
        )));
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
    let mut buf = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            safe_fs::open_regular(&p).map_err(StoreError::io(&p))?,
            MAX_MANIFEST,
        ),
        &mut buf,
    )
    .map_err(StoreError::io(&p))?;
    Ok(buf)
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
