//! `werf-push stages pull --repo REPO [IMAGE_NAME...]`: the stages cache
//! (`REPO:image-stage-*`) back into the stages storage.

use anyhow::Result;
use clap::Args;
use werf_push_spec::text::printable;
use werf_push_stages::pull::{pull, Chain, PullRequest};

use crate::cli::flags::{GlobalArgs, RegistryArgs, RepoArg, StorageArgs};
use crate::cli::signal::{interrupt, INTERRUPTED};
use crate::cli::size::human;
use crate::cli::tally::count;
use crate::cli::{exit, output, settings};

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Pull only the stages of these images (`~` names the nameless image). Exit 1 when one
    /// of them cannot be restored whole (no stage of it, a stage that failed, or a stage tag
    /// that names no image). Exit 1 too when any stage failed (the others are stored).
    #[arg(value_name = "IMAGE_NAME")]
    pub images: Vec<String>,
    #[command(flatten)]
    pub repo: RepoArg,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Concurrent layer downloads (stage manifests and configs are all read at once, under
    /// `--requests`).
    #[arg(short = 'j', long, default_value_t = werf_push_stages::pull::DEFAULT_JOBS as u16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Tags asked for per tag-list page (the registry may page on its own too).
    #[arg(long, value_name = "N")]
    pub page_size: Option<usize>,
    /// JSON report on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub async fn run(a: PullArgs, g: &GlobalArgs) -> Result<i32> {
    let registries = settings::registries(&a.registry)?;
    let mut req = PullRequest::new(a.storage.path()?, a.repo.get()?);
    req.images = a.images.clone();
    req.jobs = a.jobs as usize;
    req.page_size = a.page_size;
    // Ctrl-C drops the pull: its writer removes the blobs it placed, index.json
    // is untouched.
    let report = tokio::select! {
        r = pull(&req, &registries) => r?,
        () = interrupt().cancelled() => return Ok(INTERRUPTED),
    };
    if !g.quiet {
        for s in &report.skipped {
            eprintln!("skipped {}: {}", printable(&s.tag), printable(&s.reason));
        }
    }
    output::print(a.json, &report, || {
        let mut out = String::new();
        for s in &report.pulled {
            out.push_str(&format!(
                "pulled image '{}' stage '{}' signature {}\n",
                s.image, s.stage, s.signature
            ));
        }
        for s in &report.unidentified {
            out.push_str(&format!(
                "unidentified {}: {}\n",
                printable(&s.tag),
                printable(&s.reason)
            ));
        }
        for s in &report.failed {
            out.push_str(&format!(
                "failed {}: {}\n",
                printable(&s.tag),
                printable(&s.reason)
            ));
        }
        for c in &report.chains {
            out.push_str(&chain_line(c));
        }
        out.push_str(&format!(
            "{} pulled, {} skipped, {} unidentified, {} failed; {} ({}) fetched, {}",
            count(report.pulled.len(), "stage"),
            report.skipped.len(),
            report.unidentified.len(),
            report.failed.len(),
            count(report.blobs_fetched as usize, "blob"),
            human(report.bytes_fetched),
            count(report.resumed as usize, "resumed download")
        ));
        out
    })?;
    // What could be restored is stored; a stage that failed, or an image named but not
    // restored whole, fails the run.
    match report.incomplete(a.repo.get()?) {
        Some(e) => Err(e.into()),
        None => Ok(exit::SUCCESS),
    }
}

/// `image 'NAME': chain from .. setup (3 stages, last <sig>)[, on the storage's install
/// <sig>]; N stage tags not in the chain (skipped)`.
fn chain_line(c: &Chain) -> String {
    let mut line = format!("image '{}': ", printable(&c.image));
    match (c.stages.first(), c.stages.last()) {
        (Some(first), Some(last)) => line.push_str(&format!(
            "chain {} .. {} ({} stages, last {})",
            first.stage,
            last.stage,
            c.stages.len(),
            last.signature
        )),
        _ => line.push_str("no stage to pull"),
    }
    if let Some(s) = &c.storage {
        line.push_str(&format!(", on the storage's {} {}", s.stage, s.signature));
    }
    if !c.left_out.is_empty() {
        line.push_str(&format!(
            "; {} stage tags not in the chain (skipped)",
            c.left_out.len()
        ));
    }
    line.push('\n');
    line
}
