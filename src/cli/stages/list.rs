//! `werf-push stages list`: image, stage, signature, size and digest of every stage.

use std::fmt::Write;

use anyhow::Result;
use clap::Args;
use werf_push_spec::ManifestKind;
use werf_push_stages::StagesStorage;

use crate::cli::flags::StorageArgs;
use crate::cli::size::human;
use crate::cli::{exit, output};

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Manifest digests whole (signatures are always whole).
    #[arg(long)]
    pub wide: bool,
}

#[derive(serde::Serialize)]
struct Row {
    image: String,
    stage: String,
    signature: String,
    size: u64,
    digest: String,
    /// The config digest of each image manifest (one per platform): the image IDs.
    configs: Vec<String>,
}

pub fn run(a: ListArgs) -> Result<i32> {
    let dir = a.storage.path()?;
    let storage = StagesStorage::open(&dir)?;
    let mut rows = Vec::new();
    for stages in storage.images.values() {
        for s in stages {
            let image = storage.layout.image(&s.descriptor)?;
            rows.push(Row {
                image: s.image.to_string(),
                stage: s.stage.clone(),
                signature: s.signature.clone(),
                size: image.blobs.iter().map(|b| b.size).sum(),
                digest: s.descriptor.digest.to_string(),
                configs: image
                    .manifests
                    .iter()
                    .filter_map(|m| match &m.kind() {
                        ManifestKind::Image { config, .. } => Some(config.digest.to_string()),
                        ManifestKind::Index { .. } => None,
                    })
                    .collect(),
            });
        }
    }
    // Written whole through `output::stdout`: a reader that goes (`| head -1`) ends it quietly.
    let mut out = String::new();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
    } else {
        // Signatures whole (`--parent` takes them, or a unique prefix); digests short
        // unless --wide (--json has everything).
        let w = |f: fn(&Row) -> usize, min: usize| rows.iter().map(f).max().unwrap_or(0).max(min);
        let (wi, ws, wg) = (
            w(|r| r.image.len(), 5),
            w(|r| r.stage.len(), 5),
            w(|r| r.signature.len(), 9),
        );
        writeln!(
            out,
            "{:<wi$}  {:<ws$}  {:<wg$}  {:>10}  DIGEST",
            "IMAGE", "STAGE", "SIGNATURE", "SIZE"
        )?;
        for r in rows {
            let digest = if a.wide {
                r.digest.clone()
            } else {
                r.digest.chars().take("sha256:".len() + 12).collect()
            };
            writeln!(
                out,
                "{:<wi$}  {:<ws$}  {:<wg$}  {:>10}  {digest}",
                r.image,
                r.stage,
                r.signature,
                human(r.size),
            )?;
        }
    }
    output::stdout(&out)?;
    Ok(exit::SUCCESS)
}
