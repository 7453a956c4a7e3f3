//! `werf-push push SRC DEST...`: one image of an OCI layout to one or more references.

use anyhow::Result;
use clap::Args;

use super::flags::{GlobalArgs, RegistryArgs, UploadArgs};
use super::{exit, output, settings};

#[derive(Args, Debug)]
pub struct PushArgs {
    /// Source: oci:DIR, oci:DIR:REF (org.opencontainers.image.ref.name) or oci:DIR@DIGEST.
    pub src: String,
    /// Destination references (REGISTRY/REPOSITORY[:TAG]); one image, many tags or repositories.
    #[arg(required = true)]
    pub dest: Vec<String>,
    /// Print a machine-readable summary (JSON) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Show what would be pushed, using read requests only.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub upload: UploadArgs,
}

pub async fn run(a: PushArgs, g: &GlobalArgs) -> Result<i32> {
    let targets = werf_push_api::push::targets(&a.src, &a.dest)?;
    let (pusher, progress) = settings::pusher(&a.upload, &a.registry, a.dry_run, true, g)?;
    let (summary, errors) = pusher.push(targets).await;
    output::finish(&summary, errors, a.json, a.dry_run, &progress, &[])?;
    Ok(exit::SUCCESS)
}
