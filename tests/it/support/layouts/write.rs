//! Images written into a layout with the crate's own `LayoutWriter`: [`image`] (one layer
//! per requested size, OCI or Docker schema 2), [`child_image`] (a werf stage on its
//! parent's layers) and [`index_image`] (a two-platform OCI index). Layers are declared
//! `application/vnd.oci.image.layer.v1.tar+gzip` (OCI) or
//! `application/vnd.docker.image.rootfs.diff.tar.gzip` (Docker schema 2), and the config's
//! diff IDs are the digests of the tars. Configs are valid image configs (`architecture`,
//! `os`, `rootfs.diff_ids`). Manifests are stored pretty-printed, exactly as written: a
//! client that re-serialised them would push other bytes, hence another digest.

use std::path::Path;

use serde_json::{json, Value};
use werf_push_layout::{LayoutWriter, REF_NAME};
use werf_push_spec::media_type;

use super::bytes::gzip_layer;

/// Which manifest flavour [`image`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OCI image manifest, OCI config and OCI gzip layers.
    Oci,
    /// Docker schema 2 manifest, Docker config and Docker gzip layers.
    Docker,
}

impl Format {
    pub fn manifest_type(self) -> &'static str {
        match self {
            Format::Oci => media_type::OCI_MANIFEST,
            Format::Docker => media_type::DOCKER_MANIFEST,
        }
    }

    pub fn config_type(self) -> &'static str {
        match self {
            Format::Oci => media_type::OCI_CONFIG,
            Format::Docker => media_type::DOCKER_CONFIG,
        }
    }

    pub fn layer_type(self) -> &'static str {
        match self {
            Format::Oci => media_type::OCI_LAYER_GZIP,
            Format::Docker => media_type::DOCKER_LAYER_GZIP,
        }
    }
}

/// An image config (valid JSON: architecture, os, rootfs diff IDs). `seed` goes into a
/// label so that images of different seeds have different configs.
fn config_json(arch: &str, diff_ids: &[String], seed: u64) -> Vec<u8> {
    let v = json!({
        "created": "2024-01-01T00:00:00Z",
        "architecture": arch,
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Labels": { "werf-push.test.seed": seed.to_string() },
        },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": diff_ids.iter().map(|_| json!({
            "created": "2024-01-01T00:00:00Z",
            "created_by": "werf-push test layout",
        })).collect::<Vec<_>>(),
    });
    serde_json::to_vec(&v).expect("config serialises")
}

fn descriptor_json(d: &werf_push_spec::Descriptor) -> Value {
    json!({
        "mediaType": d.media_type,
        "digest": d.digest.to_string(),
        "size": d.size,
    })
}

/// Writes one image manifest's blobs (layers, config, manifest) and returns the manifest
/// descriptor.
fn write_manifest(
    w: &LayoutWriter,
    layers: &[(Vec<u8>, String)],
    format: Format,
    arch: &str,
    seed: u64,
) -> werf_push_spec::Descriptor {
    let layer_descs: Vec<_> = layers
        .iter()
        .map(|(l, _)| w.write_blob(l, format.layer_type()).expect("write layer"))
        .collect();
    let diff_ids: Vec<String> = layers.iter().map(|(_, d)| d.clone()).collect();
    let config = w
        .write_blob(&config_json(arch, &diff_ids, seed), format.config_type())
        .expect("write config");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": format.manifest_type(),
        "config": descriptor_json(&config),
        "layers": layer_descs.iter().map(descriptor_json).collect::<Vec<_>>(),
    });
    // Pretty-printed with a trailing newline: not what a re-serialiser would produce.
    let mut bytes = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    bytes.push(b'\n');
    w.write_blob(&bytes, format.manifest_type())
        .expect("write manifest")
}

/// Writes an image with one layer per entry of `layer_sizes` (each a gzip of a tar of
/// [`tar_size`]`(size)` bytes, so a blob of [`layer_blob_size`]`(size)` bytes; content from
/// `seed`) into the layout `dir` (created if missing; existing entries are kept) and adds
/// it to `index.json`, named `ref_name` when given. Returns the manifest digest
/// (`sha256:...`).
pub fn image(
    dir: &Path,
    layer_sizes: &[usize],
    seed: u64,
    format: Format,
    ref_name: Option<&str>,
) -> String {
    child_image(dir, (&[], 0), layer_sizes, seed, format, ref_name)
}

/// The layers [`image`] makes of `layer_sizes` and `seed`, named from `layer-<first>.bin`.
fn seeded_layers(layer_sizes: &[usize], seed: u64, first: usize) -> Vec<(Vec<u8>, String)> {
    layer_sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            gzip_layer(
                &format!("layer-{}.bin", first + i),
                size,
                seed.wrapping_mul(1000).wrapping_add(i as u64),
            )
        })
        .collect()
}

/// As [`image`], built on the image [`image`] makes of `parent` (layer sizes, seed): its
/// layers first, then those of `layer_sizes` and `seed` (a werf stage and its parent).
pub fn child_image(
    dir: &Path,
    parent: (&[usize], u64),
    layer_sizes: &[usize],
    seed: u64,
    format: Format,
    ref_name: Option<&str>,
) -> String {
    let mut w = LayoutWriter::create(dir).expect("create layout");
    let mut layers = seeded_layers(parent.0, parent.1, 0);
    layers.extend(seeded_layers(layer_sizes, seed, parent.0.len()));
    let desc = write_manifest(&w, &layers, format, "amd64", seed);
    let extra = match ref_name {
        Some(name) => json!({ "annotations": { REF_NAME: name } }),
        None => json!({}),
    };
    w.add_entry(&desc, extra);
    w.commit().expect("commit index.json");
    desc.digest.to_string()
}

/// Writes an OCI image index with two platform manifests (linux/amd64, linux/arm64) that
/// share one layer (each also has a small layer of its own and its own config) into `dir`,
/// and adds the index to `index.json`. Returns the index digest.
pub fn index_image(dir: &Path, seed: u64) -> String {
    let mut w = LayoutWriter::create(dir).expect("create layout");
    let shared = gzip_layer("shared.bin", 96 << 10, seed.wrapping_mul(1000));
    let mut children = Vec::new();
    for (i, arch) in ["amd64", "arm64"].into_iter().enumerate() {
        let own = gzip_layer(
            &format!("{arch}.bin"),
            (8 << 10) * (i + 1),
            seed.wrapping_mul(1000).wrapping_add(1 + i as u64),
        );
        let d = write_manifest(
            &w,
            &[shared.clone(), own],
            Format::Oci,
            arch,
            seed.wrapping_add(i as u64),
        );
        let mut v = descriptor_json(&d);
        v["platform"] = json!({ "architecture": arch, "os": "linux" });
        children.push(v);
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": children,
    });
    let mut bytes = serde_json::to_vec_pretty(&index).expect("index serialises");
    bytes.push(b'\n');
    let desc = w
        .write_blob(&bytes, media_type::OCI_INDEX)
        .expect("write index");
    w.add_entry(&desc, json!({}));
    w.commit().expect("commit index.json");
    desc.digest.to_string()
}
