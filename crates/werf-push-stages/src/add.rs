//! `stages add`: one stage from a directory, on top of a parent stage or of nothing. The
//! layer is a reproducible tar (see `layer.rs`), gzip or zstd on every core, the config is
//! the parent's config (or a minimal one) plus the new `rootfs.diff_ids` entry, a history
//! entry and the `io.werf.*` labels; the manifest is OCI with the parent's layers then the
//! new one. Same directory, same parent, same names and same `SOURCE_DATE_EPOCH` give the
//! same bytes. Knows nothing of registries or of the CLI.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::error::StoreError;
use super::format::{set_labels, ImageName, LABEL_IMAGE, LABEL_STAGE};
use super::layer::{tar_dir, LayerOptions, LayerOut};
use super::signature::default_signature;
use super::write::StoreWriter;
use werf_push_layout::Layout;
use werf_push_spec::{media_type, Descriptor, ManifestKind};

/// What `stages add` stores: a directory as one layer on top of a parent stage (or of
/// nothing), as stage `stage` of `image`. Built with [`AddRequest::new`]; the optional
/// fields are set after it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AddRequest {
    /// The stages storage (created when missing).
    pub stages_dir: PathBuf,
    /// The werf image the stage belongs to.
    pub image: ImageName,
    /// The stage's name, one of werf's stage names (`format::STAGE_ORDER`).
    pub stage: String,
    /// The directory packed into the new layer; must not hold the stages storage.
    pub from_dir: PathBuf,
    /// Signature of the parent stage, which must be in the storage.
    pub parent: Option<String>,
    /// The new stage's signature; `None`: the documented default from the manifest digest
    /// and the parent's signature.
    pub signature: Option<String>,
    /// mtime of every entry and `created` of the config; 0 when `SOURCE_DATE_EPOCH` is unset.
    pub epoch: u64,
    /// Compression and threads of the new layer.
    pub layer: LayerOptions,
}

impl AddRequest {
    /// A stage of `image` named `stage` from `from_dir` into the storage at `stages_dir`:
    /// no parent, the default signature, epoch 0, gzip on every core.
    pub fn new(
        stages_dir: impl Into<PathBuf>,
        image: ImageName,
        stage: impl Into<String>,
        from_dir: impl Into<PathBuf>,
    ) -> AddRequest {
        AddRequest {
            stages_dir: stages_dir.into(),
            image,
            stage: stage.into(),
            from_dir: from_dir.into(),
            parent: None,
            signature: None,
            epoch: 0,
            layer: LayerOptions::default(),
        }
    }
}

/// The stage `stages add` stored, as its report shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Added {
    /// The image's name as annotations hold it (empty for the nameless image).
    pub image: String,
    /// The stage's name in werf's stage order (`from`, `install`, ..., `dockerfile`).
    pub stage: String,
    /// The stage's signature (given or computed).
    pub signature: String,
    /// Digest of the stage's manifest.
    pub digest: String,
    /// Digest of the new (compressed) layer blob.
    pub layer_digest: String,
    /// sha256 of the new layer's uncompressed tar (its `rootfs.diff_ids` entry).
    pub diff_id: String,
    /// The signature of the stage this one replaced (same image and stage).
    pub replaced: Option<String>,
}

/// Packs `req.from_dir` into a layer, writes the stage's config and manifest and adds the
/// stage to the storage's index, under the writer lock; the storage is left as it was on
/// failure.
pub fn add(req: &AddRequest) -> Result<Added, StoreError> {
    let mut w = StoreWriter::open(&req.stages_dir)?;
    let parent_sig = match &req.parent {
        Some(p) => Some(w.parent(p)?.signature),
        None => None,
    };
    let (parent_config, parent_layers) = match &parent_sig {
        None => (None, Vec::new()),
        Some(sig) => parent(&w, sig)?,
    };
    refuse_storage_inside(w.root(), &req.from_dir)?;
    let layer = tar_dir(w.root(), &req.from_dir, req.epoch, &req.layer)?;
    let cfg = config(parent_config, &layer, req).map_err(|rule| StoreError::Rule {
        path: w.root().to_path_buf(),
        entry: parent_sig.clone().unwrap_or_default(),
        rule,
    })?;
    let m_desc = write_image(&w, &cfg, parent_layers, &layer)?;
    let sig = match &req.signature {
        Some(s) => s.clone(),
        None => default_signature(&m_desc.digest, parent_sig.as_deref()),
    };
    let replaced = w.add_stage(&m_desc, &req.image, &req.stage, &sig)?;
    w.commit()?;
    Ok(Added {
        image: req.image.annotation().to_string(),
        stage: req.stage.clone(),
        signature: sig,
        digest: m_desc.digest.to_string(),
        layer_digest: layer.descriptor.digest.to_string(),
        diff_id: layer.diff_id.to_string(),
        replaced,
    })
}

/// The new stage's config: the parent's (or a minimal one) with `created`, the new
/// layer's `rootfs.diff_ids` entry, a history entry and werf's labels. `Err` says what is
/// wrong with the parent's config.
fn config(parent: Option<Value>, layer: &LayerOut, req: &AddRequest) -> Result<Value, String> {
    let created = rfc3339(req.epoch);
    let mut cfg = parent.unwrap_or_else(|| {
        json!({
            "architecture": go_arch(),
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": []},
        })
    });
    let obj = cfg
        .as_object_mut()
        .ok_or("the parent's config is not a JSON object")?;
    obj.insert("created".into(), Value::from(created.clone()));
    let rootfs = obj
        .entry("rootfs")
        .or_insert_with(|| json!({"type": "layers", "diff_ids": []}));
    match rootfs.get_mut("diff_ids").and_then(Value::as_array_mut) {
        Some(ids) => ids.push(Value::from(layer.diff_id.to_string())),
        None => *rootfs = json!({"type": "layers", "diff_ids": [layer.diff_id.to_string()]}),
    }
    let history = obj.entry("history").or_insert_with(|| json!([]));
    if !history.is_array() {
        *history = json!([]);
    }
    history.as_array_mut().expect("an array").push(json!({
        "created": created,
        "created_by": format!("werf-push stages add --stage {}", req.stage),
    }));
    set_labels(
        &mut cfg,
        &[
            (LABEL_IMAGE, req.image.annotation()),
            (LABEL_STAGE, &req.stage),
        ],
    )?;
    Ok(cfg)
}

/// Writes `cfg` and an OCI manifest of it with `parent_layers` then `layer` into the
/// storage; returns the manifest's descriptor.
fn write_image(
    w: &StoreWriter,
    cfg: &Value,
    parent_layers: Vec<Value>,
    layer: &LayerOut,
) -> Result<Descriptor, StoreError> {
    let cfg_bytes = serde_json::to_vec(cfg).expect("JSON values serialise");
    let cfg_desc = w.write_blob(&cfg_bytes, media_type::OCI_CONFIG)?;
    let mut layers = parent_layers;
    layers.push(layer.descriptor.to_json());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": cfg_desc.to_json(),
        "layers": layers,
    });
    let m_bytes = serde_json::to_vec(&manifest).expect("JSON values serialise");
    w.write_blob(&m_bytes, media_type::OCI_MANIFEST)
}

/// `--from-dir` must not hold the stages storage: the layer would pack the storage itself
/// (its LOCK, the layer's own temporary file).
fn refuse_storage_inside(root: &Path, from: &Path) -> Result<(), StoreError> {
    let (Ok(root), Ok(from)) = (root.canonicalize(), from.canonicalize()) else {
        return Ok(()); // a missing --from-dir is reported by the walk, naming it
    };
    if root.starts_with(&from) {
        return Err(StoreError::Arg {
            arg: format!("--from-dir {}", from.display()),
            reason: format!(
                "it holds the stages storage {}, which cannot be packed into one              of its own layers; pass a directory that does not contain the storage (or a              --stages-dir outside it)",
                root.display()
            ),
        });
    }
    Ok(())
}

/// The parent's config and its layers (as OCI descriptors).
fn parent(w: &StoreWriter, sig: &str) -> Result<(Option<Value>, Vec<Value>), StoreError> {
    let missing = || StoreError::Arg {
        arg: format!("--parent {sig}"),
        reason: format!(
            "no stage with this signature in the stages storage {}; see `werf-push stages \
                 list`",
            w.root().display()
        ),
    };
    let entry = w.find(sig).ok_or_else(missing)?;
    let layout: Layout = w.layout()?.ok_or_else(missing)?;
    let d = layout
        .entries()
        .iter()
        .find(|d| d.digest == entry.descriptor.digest)
        .ok_or_else(missing)?;
    let m = layout.read_manifest(d)?;
    let ManifestKind::Image { config, layers } = &m.kind() else {
        return Err(StoreError::Arg {
            arg: format!("--parent {sig}"),
            reason: "the stage is a multi-platform index; `stages add` builds on one image \
                     manifest only"
                .into(),
        });
    };
    let cfg: Value =
        serde_json::from_slice(&layout.read_blob(config)?).map_err(|e| StoreError::Rule {
            path: w.root().to_path_buf(),
            entry: sig.to_string(),
            rule: format!("its config is not JSON: {e}"),
        })?;
    let layers = layers
        .iter()
        .map(|l| {
            let mut l = l.clone();
            // The new manifest is OCI: Docker layer types get their OCI names.
            if l.media_type == media_type::DOCKER_LAYER_GZIP {
                l.media_type = media_type::OCI_LAYER_GZIP.into();
            }
            l.to_json()
        })
        .collect();
    Ok((Some(cfg), layers))
}

/// The architecture of this machine, in Go's (and OCI's) names.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// `secs` since the epoch as RFC 3339 in UTC.
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_table() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(rfc3339(secs), want, "{secs}");
        }
    }
}
