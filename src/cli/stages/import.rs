//! `werf-push stages import SRC`: an image written by another tool becomes a stage.

use anyhow::Result;
use clap::Args;
use werf_push_stages::import::{import, parse_source, ImportRequest};

use crate::cli::flags::{StageArgs, StorageArgs};
use crate::cli::{exit, output};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// oci:DIR[:REF], oci:DIR@DIGEST, docker-archive:FILE[:REPO:TAG|:@N] or
    /// oci-archive:FILE[:REF]; the path is the part up to the first ':' that exists, so REF
    /// may be `localhost:5000/group/app:1`.
    pub src: String,
    #[command(flatten)]
    pub stage: StageArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: ImportArgs) -> Result<i32> {
    let mut req = ImportRequest::new(
        a.storage.path()?,
        parse_source(&a.src)?,
        a.stage.image()?,
        a.stage.stage.clone(),
    );
    req.signature = a.stage.signature.clone();
    req.parent = a.stage.parent.clone();
    req.layer = a.stage.layer();
    let done = import(&req)?;
    if let Some(r) = &done.replaced {
        eprintln!("replaced stage {r} (its blobs go with `werf-push stages gc`)");
    }
    output::print(a.json, &done, || {
        format!(
            "imported {} as image '{}' stage '{}' signature {}",
            done.digest, done.image, done.stage, done.signature
        )
    })?;
    Ok(exit::SUCCESS)
}
