//! `werf-push stages add --from-dir DIR`: one reproducible layer from a directory becomes a
//! stage, on top of a parent stage.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use werf_push_stages::add::{add, AddRequest};

use crate::cli::flags::{StageArgs, StorageArgs};
use crate::cli::{exit, output};

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The directory whose content becomes the layer.
    #[arg(long, value_name = "DIR")]
    pub from_dir: PathBuf,
    #[command(flatten)]
    pub stage: StageArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// mtime of every entry and the config's `created` (seconds since 1970; default 0).
    #[arg(long, env = "SOURCE_DATE_EPOCH", value_name = "SECONDS")]
    pub source_date_epoch: Option<u64>,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: AddArgs) -> Result<i32> {
    let mut req = AddRequest::new(
        a.storage.path()?,
        a.stage.image()?,
        a.stage.stage.clone(),
        a.from_dir.clone(),
    );
    req.parent = a.stage.parent.clone();
    req.signature = a.stage.signature.clone();
    req.epoch = a.source_date_epoch.unwrap_or(0);
    req.layer = a.stage.layer();
    let done = add(&req)?;
    if let Some(r) = &done.replaced {
        eprintln!("replaced stage {r} (its blobs go with `werf-push stages gc`)");
    }
    output::print(a.json, &done, || {
        format!(
            "added {} (layer {}) as image '{}' stage '{}' signature {}",
            done.digest, done.layer_digest, done.image, done.stage, done.signature
        )
    })?;
    Ok(exit::SUCCESS)
}
