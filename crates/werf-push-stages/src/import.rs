//! `stages import`: one image written by another tool becomes a stage. Sources: `oci:DIR`
//! (an OCI layout: umoci, buildah, skopeo, kaniko, buildx after extraction),
//! `docker-archive:FILE` (a `docker save` tarball, see `archive.rs`) and
//! `oci-archive:FILE` (a tar of an OCI layout), each with an optional `:REF` (parsed by
//! `layout::Source`: the path is what exists, the reference the rest). Layers are
//! copied as they are, streamed and verified; each config gets the `io.werf.image` and
//! `io.werf.stage` labels, so manifests are rewritten (children of an index too). The
//! signature is `--signature` or the documented default (`signature.rs`).
//! Knows nothing of registries or of the CLI.

use std::path::{Path, PathBuf};

use super::archive::{docker_archive, Archive};
use super::error::StoreError;
use super::format::{ImageName, LABEL_IMAGE, LABEL_STAGE};
use super::layer::LayerOptions;
use super::relabel::{relabel_config, with_children, with_config};
use super::signature::default_signature;
use super::write::StoreWriter;
use werf_push_layout::{BlobWriter, Layout, Source, Transport};
use werf_push_spec::{Descriptor, Manifest, ManifestKind};

/// The source of `stages import`: `oci:DIR[:REF]`, `oci:DIR@DIGEST`,
/// `docker-archive:FILE[:REF]` (REF: one of the archive's `RepoTags`, or `@N`) or
/// `oci-archive:FILE[:REF]`, parsed by the one parser of sources ([`Source`]).
pub fn parse_source(s: &str) -> Result<Source, StoreError> {
    Source::parse(s).ok_or_else(|| usage(s))
}

fn usage(s: &str) -> StoreError {
    StoreError::Arg {
        arg: format!("source '{s}'"),
        reason:
            "this kind of source is not supported: use oci:DIR[:REF], docker-archive:FILE[:REF] or \
                 oci-archive:FILE[:REF]"
                .into(),
    }
}

/// What `stages import` stores: the image of `source` as stage `stage` of `image`. Built
/// with [`ImportRequest::new`]; the optional fields are set after it.
#[non_exhaustive]
pub struct ImportRequest {
    /// The stages storage (created when missing).
    pub stages_dir: PathBuf,
    /// The image to import ([`parse_source`] reads one from its command-line form).
    pub source: Source,
    /// The werf image the stage belongs to.
    pub image: ImageName,
    /// The stage's name, one of werf's stage names (`format::STAGE_ORDER`).
    pub stage: String,
    /// The new stage's signature; `None`: the documented default from the manifest digest
    /// and the parent's signature.
    pub signature: Option<String>,
    /// The parent stage's signature (enters the default signature; must exist).
    pub parent: Option<String>,
    /// How a docker archive's plain layer tars are compressed.
    pub layer: LayerOptions,
}

impl ImportRequest {
    /// The image of `source` as stage `stage` of `image` in the storage at `stages_dir`:
    /// no parent, the default signature, plain layers compressed with gzip on every core.
    pub fn new(
        stages_dir: impl Into<PathBuf>,
        source: Source,
        image: ImageName,
        stage: impl Into<String>,
    ) -> ImportRequest {
        ImportRequest {
            stages_dir: stages_dir.into(),
            source,
            image,
            stage: stage.into(),
            signature: None,
            parent: None,
            layer: LayerOptions::default(),
        }
    }
}

/// The stage `stages import` stored, as its report shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Imported {
    /// The image's name as annotations hold it (empty for the nameless image).
    pub image: String,
    /// The stage's name in werf's stage order (`from`, `install`, ..., `dockerfile`).
    pub stage: String,
    /// The stage's signature (given or computed).
    pub signature: String,
    /// Digest of the stage's (relabelled) manifest or index.
    pub digest: String,
    /// The signature of the stage this one replaced (same image and stage).
    pub replaced: Option<String>,
}

/// Copies the image of `req.source` into the storage with werf's labels added to its
/// config(s), and adds it as a stage, under the writer lock; the storage is left as it was
/// on failure.
pub fn import(req: &ImportRequest) -> Result<Imported, StoreError> {
    let mut w = StoreWriter::open(&req.stages_dir)?;
    let parent = match &req.parent {
        Some(p) => Some(w.parent(p)?.signature),
        None => None,
    };
    let labels = [
        (LABEL_IMAGE, req.image.annotation()),
        (LABEL_STAGE, req.stage.as_str()),
    ];
    let (path, selector) = (&req.source.path, &req.source.selector);
    let d = match req.source.transport {
        Transport::Oci => import_layout(&w, path, selector, &labels)?,
        Transport::OciArchive => {
            let mut a = Archive::open(path, w.root())?;
            a.fetch_layout(selector.as_deref())?;
            import_layout(&w, a.path(), selector, &labels)?
        }
        Transport::DockerArchive => {
            let mut a = Archive::open(path, w.root())?;
            a.fetch(["manifest.json", "oci-layout", "index.json"])?;
            if a.path().join("manifest.json").exists() {
                docker_archive(&w, path, &mut a, selector, &labels, &req.layer)?
            } else {
                a.fetch_layout(selector.as_deref())?;
                import_layout(&w, a.path(), selector, &labels)?
            }
        }
    };
    let sig = match &req.signature {
        Some(s) => s.clone(),
        None => default_signature(&d.digest, parent.as_deref()),
    };
    let replaced = w.add_stage(&d, &req.image, &req.stage, &sig)?;
    w.commit()?;
    Ok(Imported {
        image: req.image.annotation().to_string(),
        stage: req.stage.clone(),
        signature: sig,
        digest: d.digest.to_string(),
        replaced,
    })
}

/// Imports the selected image of the layout at `dir`; returns the new root descriptor.
fn import_layout(
    w: &StoreWriter,
    dir: &Path,
    selector: &Option<String>,
    labels: &[(&str, &str)],
) -> Result<Descriptor, StoreError> {
    let layout = Layout::open(dir)?;
    let d = layout.select(selector.as_deref())?.clone();
    let m = layout.read_manifest(&d)?;
    match &m.kind() {
        ManifestKind::Image { .. } => import_image(w, &layout, &m, labels),
        ManifestKind::Index { manifests } => {
            let mut children = Vec::new();
            for child in manifests {
                let cm = layout.read_manifest(child)?;
                if !matches!(cm.kind(), ManifestKind::Image { .. }) {
                    return Err(StoreError::Source {
                        path: dir.to_path_buf(),
                        reason: format!(
                            "index {} holds another index: nested indexes cannot be a stage",
                            m.digest()
                        ),
                    });
                }
                let new = import_image(w, &layout, &cm, labels)?;
                children.push((new.digest, new.size));
            }
            let bytes = with_children(m.bytes(), &children).map_err(|e| invalid(&layout, &m, e))?;
            w.write_blob(&bytes, m.media_type())
        }
    }
}

/// Copies the layers of image manifest `m`, relabels its config, writes a new manifest.
fn import_image(
    w: &StoreWriter,
    layout: &Layout,
    m: &Manifest,
    labels: &[(&str, &str)],
) -> Result<Descriptor, StoreError> {
    let ManifestKind::Image { config, layers } = &m.kind() else {
        unreachable!("called for image manifests only");
    };
    for l in layers {
        copy_blob(w.root(), layout, l)?;
    }
    let raw = layout.read_blob(config)?;
    let (cfg_desc, cfg_bytes) =
        relabel_config(config, &raw, labels).map_err(|reason| StoreError::Source {
            path: layout.blob_path(&config.digest),
            reason,
        })?;
    w.write_blob(&cfg_bytes, &config.media_type)?;
    let bytes = with_config(m.bytes(), &cfg_desc).map_err(|e| invalid(layout, m, e))?;
    w.write_blob(&bytes, m.media_type())
}

/// Copies blob `d` of `layout` into the storage at `root`, streamed and verified; a blob
/// already there is kept.
fn copy_blob(root: &Path, layout: &Layout, d: &Descriptor) -> Result<(), StoreError> {
    let target = root
        .join("blobs")
        .join(d.digest.algorithm())
        .join(d.digest.hex());
    if std::fs::metadata(&target)
        .map(|m| m.len() == d.size)
        .unwrap_or(false)
    {
        return Ok(());
    }
    let src = layout.check_blob(d)?;
    let mut f = werf_push_layout::safe_fs::open_regular(&src).map_err(StoreError::io(&src))?;
    let mut out = BlobWriter::create_like(root, &d.digest)?;
    std::io::copy(&mut f, &mut out).map_err(StoreError::io(&src))?;
    out.finish(Some((&d.digest, d.size)))?;
    Ok(())
}

fn invalid(layout: &Layout, m: &Manifest, reason: String) -> StoreError {
    StoreError::Source {
        path: layout.root().to_path_buf(),
        reason: format!("manifest {}: {reason}", m.digest()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_source_table() {
        let cases = [
            (
                "dir:/x",
                "source 'dir:/x': this kind of source is not supported",
            ),
            (
                "oci:",
                "source 'oci:': this kind of source is not supported",
            ),
            (
                "/plain/path",
                "source '/plain/path': this kind of source is not supported",
            ),
        ];
        for (input, want) in cases {
            let e = parse_source(input).unwrap_err().to_string();
            assert!(e.starts_with(want), "{input}: {e}");
        }
    }
}
