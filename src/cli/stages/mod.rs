//! `werf-push stages list|import|add|pull|gc`: what the stages storage holds, and writing
//! it without a daemon: import an image from another tool, add a stage from a directory,
//! pull the stages cache back from a registry, collect garbage. One module per
//! subcommand, each with its `Args`; this file lists them and dispatches.

mod add;
mod gc;
mod import;
mod list;
mod pull;

use anyhow::Result;
use clap::Subcommand;

use super::flags::GlobalArgs;

#[derive(Subcommand, Debug)]
#[command(after_help = "Examples:\n  werf-push stages list --dir ./project")]
pub enum StagesCommand {
    /// List stages: image, stage, signature, size, digest.
    #[command(
        after_help = "Examples:\n  werf-push stages list\n  werf-push stages list --dir ./project --json"
    )]
    List(list::ListArgs),
    /// Import an image written by another tool as a stage.
    #[command(
        after_help = "Examples:\n  werf-push stages import oci:./umoci-layout:latest --image backend --stage from\n  werf-push stages import docker-archive:app.tar --image backend --stage install --parent <sig>\n  werf-push stages import oci-archive:image.tar --image '~' --stage dockerfile --signature <sig>"
    )]
    Import(import::ImportArgs),
    /// Add a stage: one reproducible layer from a directory, on top of a parent stage.
    #[command(
        after_help = "Examples:\n  werf-push stages add --image backend --stage from --from-dir ./rootfs\n  SOURCE_DATE_EPOCH=1700000000 werf-push stages add --image backend --stage install --from-dir ./app --parent <sig>"
    )]
    Add(add::AddArgs),
    /// Fetch the stages cache (REPO:image-stage-*) into the stages storage.
    #[command(
        after_help = "Examples:\n  werf-push stages pull --repo registry.example.com/group/app\n  werf-push stages pull --repo localhost:5000/app backend --json"
    )]
    Pull(pull::PullArgs),
    /// Remove blobs no stage references and temporary files of interrupted writes.
    #[command(
        after_help = "Examples:\n  werf-push stages gc --dry-run\n  werf-push stages gc --json"
    )]
    Gc(gc::GcArgs),
}

impl StagesCommand {
    /// Whether the subcommand stops cleanly on Ctrl-C and SIGTERM: `pull`, which talks to a
    /// registry; the others write the storage by renames and may end at once.
    pub fn cancellable(&self) -> bool {
        match self {
            StagesCommand::Pull(_) => true,
            StagesCommand::List(_)
            | StagesCommand::Import(_)
            | StagesCommand::Add(_)
            | StagesCommand::Gc(_) => false,
        }
    }

    /// Runs the subcommand; its exit code.
    pub async fn run(self, g: &GlobalArgs) -> Result<i32> {
        match self {
            StagesCommand::List(a) => list::run(a),
            StagesCommand::Import(a) => import::run(a),
            StagesCommand::Add(a) => add::run(a),
            StagesCommand::Pull(a) => pull::run(a, g).await,
            StagesCommand::Gc(a) => gc::run(a),
        }
    }
}
