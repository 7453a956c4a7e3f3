//! `werf-push stages list`: what the stages storage holds.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use werf_push::werf::stages::StagesStorage;

use super::exit;
use super::output::human;

#[derive(Subcommand, Debug)]
pub enum StagesCommand {
    /// List stages: image, stage, signature, size, digest.
    #[command(
        after_help = "Examples:\n  werf-push stages list\n  werf-push stages list --dir ./project --json"
    )]
    List(ListArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Project directory.
    #[arg(long, env = "WERF_DIR", default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Stages storage (default DIR/.werf/stages).
    #[arg(long, env = "WERF_STAGES_DIR", value_name = "DIR")]
    pub stages_dir: Option<PathBuf>,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct Row {
    image: String,
    stage: String,
    signature: String,
    size: u64,
    digest: String,
}

pub fn run(cmd: StagesCommand) -> Result<i32> {
    let StagesCommand::List(a) = cmd;
    let dir = a
        .stages_dir
        .unwrap_or_else(|| a.dir.join(".werf").join("stages"));
    let storage = StagesStorage::open(&dir)?;
    let mut rows = Vec::new();
    for stages in storage.images.values() {
        for s in stages {
            let image = storage.layout.image(&s.descriptor)?;
            rows.push(Row {
                image: s.image.clone().unwrap_or_else(|| "~".into()),
                stage: s.stage.clone(),
                signature: s.signature.clone(),
                size: image.blobs.iter().map(|b| b.size).sum(),
                digest: s.descriptor.digest.to_string(),
            });
        }
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
    } else {
        writeln!(
            out,
            "{:<16} {:<20} {:<20} {:>10}  DIGEST",
            "IMAGE", "STAGE", "SIGNATURE", "SIZE"
        )?;
        for r in rows {
            let sig: String = r.signature.chars().take(20).collect();
            writeln!(
                out,
                "{:<16} {:<20} {:<20} {:>10}  {}",
                r.image,
                r.stage,
                sig,
                human(r.size),
                r.digest
            )?;
        }
    }
    Ok(exit::SUCCESS)
}
