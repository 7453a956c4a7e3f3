//! `werf-push push SRC DEST...`: one image of an OCI layout to one or more references.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use werf_push_engine::{PushImage, Target};
use werf_push_layout::Layout;
use werf_push_spec::Reference;

use super::flags::{parse_source, GlobalArgs, RegistryArgs, UploadArgs};
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
    let src = parse_source(&a.src)?;
    let dests = a
        .dest
        .iter()
        .map(|d| Reference::parse(d).with_context(|| format!("destination '{d}'")))
        .map(|r| {
            // No tag, no digest: `latest`, as docker push does; said so in the results.
            r.map(|mut r| {
                if r.tag.is_none() && r.digest.is_none() {
                    r.tag = Some("latest".into());
                }
                r
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let layout = Layout::open(&src.path)?;
    let entry = layout.select(src.selector.as_deref())?.clone();
    let image = layout.image(&entry)?;
    let image = Arc::new(PushImage::from_layout(&layout, &image)?);
    if let Some(dest) = dests
        .iter()
        .find(|d| d.digest.as_ref().is_some_and(|d| *d != image.root().digest))
    {
        bail!(
            "destination '{dest}' names a digest, but the image's manifest digest is {}: drop '@...' or name the right image",
            image.root().digest
        );
    }
    let targets = dests
        .into_iter()
        .map(|dest| Target {
            image: image.clone(),
            dest,
        })
        .collect();
    let (pusher, progress) = settings::pusher(&a.upload, &a.registry, a.dry_run, true, g)?;
    let (summary, errors) = pusher.push(targets).await;
    output::finish(&summary, errors, a.json, a.dry_run, &progress, &[])?;
    Ok(exit::SUCCESS)
}
