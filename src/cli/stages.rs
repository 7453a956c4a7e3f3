//! `werf-push stages list|import|add|pull|gc`: what the stages storage holds, and writing
//! it without a daemon: import an image from another tool, add a stage from a directory,
//! pull the stages cache back from a registry, collect garbage.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use werf_push::spec::text::printable;
use werf_push::spec::ManifestKind;
use werf_push::werf::add::{add, AddRequest};
use werf_push::werf::gc::gc;
use werf_push::werf::import::{import, ImportRequest, ImportSource};
use werf_push::werf::layer::{LayerCompression, LayerOptions};
use werf_push::werf::pull::{pull, PullRequest};
use werf_push::werf::stages::StagesStorage;
use werf_push::werf::store::StoreError;

use super::args::{GlobalArgs, RegistryArgs};
use super::output::human;
use super::{exit, settings};

#[derive(Subcommand, Debug)]
#[command(after_help = "Examples:\n  werf-push stages list --dir ./project")]
pub enum StagesCommand {
    /// List stages: image, stage, signature, size, digest.
    #[command(
        after_help = "Examples:\n  werf-push stages list\n  werf-push stages list --dir ./project --json"
    )]
    List(ListArgs),
    /// Import an image written by another tool as a stage.
    #[command(
        after_help = "Examples:\n  werf-push stages import oci:./umoci-layout:latest --image backend --stage from\n  werf-push stages import docker-archive:app.tar --image backend --stage install --parent <sig>\n  werf-push stages import oci-archive:image.tar --image '~' --stage dockerfile --signature <sig>"
    )]
    Import(ImportArgs),
    /// Add a stage: one reproducible layer from a directory, on top of a parent stage.
    #[command(
        after_help = "Examples:\n  werf-push stages add --image backend --stage from --from-dir ./rootfs\n  SOURCE_DATE_EPOCH=1700000000 werf-push stages add --image backend --stage install --from-dir ./app --parent <sig>"
    )]
    Add(AddArgs),
    /// Fetch the stages cache (REPO:image-stage-*) into the stages storage.
    #[command(
        after_help = "Examples:\n  werf-push stages pull --repo registry.example.com/group/app\n  werf-push stages pull --repo localhost:5000/app backend --json"
    )]
    Pull(PullArgs),
    /// Remove blobs no stage references and temporary files of interrupted writes.
    #[command(
        after_help = "Examples:\n  werf-push stages gc --dry-run\n  werf-push stages gc --json"
    )]
    Gc(GcArgs),
}

/// Where the stages storage is.
#[derive(Args, Debug)]
pub struct StorageArgs {
    /// Project directory (holds werf.yaml).
    #[arg(long, env = "WERF_DIR", default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Stages storage (default DIR/.werf/stages).
    #[arg(long, env = "WERF_STAGES_DIR", value_name = "DIR")]
    pub stages_dir: Option<PathBuf>,
}

impl StorageArgs {
    pub fn path(&self) -> PathBuf {
        self.stages_dir
            .clone()
            .unwrap_or_else(|| self.dir.join(".werf").join("stages"))
    }
}

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

/// The stage being written.
#[derive(Args, Debug)]
pub struct StageArgs {
    /// werf image name (`~` for the nameless image).
    #[arg(long, value_name = "NAME")]
    pub image: String,
    /// Stage name (from, beforeInstall, ..., dockerInstructions, or dockerfile).
    #[arg(long, value_name = "STAGE")]
    pub stage: String,
    /// Signature to record (hex); default: a documented function of the manifest digest
    /// and the parent's signature (docs/stages-format.md).
    #[arg(long, value_name = "SIG")]
    pub signature: Option<String>,
    /// Signature of the parent stage (must be in the storage), or a unique prefix of it.
    #[arg(long, value_name = "SIG")]
    pub parent: Option<String>,
    /// Compression of new layers: gzip (every client) or zstd (containerd 1.5+, Docker
    /// 23+, podman); a layer that arrives compressed is kept as it is.
    #[arg(long, value_enum, default_value = "gzip", value_name = "ALGORITHM")]
    pub compression: CompressionArg,
    /// Threads compressing a layer (default: one per core); the bytes are the same for any
    /// number.
    #[arg(long, env = "WERF_PUSH_LAYER_THREADS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub layer_threads: Option<u16>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum CompressionArg {
    Gzip,
    Zstd,
}

impl StageArgs {
    /// The image name (empty for the nameless one), checked before anything is written.
    fn image(&self) -> Result<String, StoreError> {
        if self.image == "~" {
            return Ok(String::new());
        }
        werf_push::werf::naming::check_image_name(&self.image)
            .map_err(|e| StoreError::Invalid(format!("--image: {e}")))?;
        Ok(self.image.clone())
    }

    fn layer(&self) -> LayerOptions {
        LayerOptions {
            compression: match self.compression {
                CompressionArg::Gzip => LayerCompression::Gzip,
                CompressionArg::Zstd => LayerCompression::Zstd,
            },
            threads: self.layer_threads.map_or(0, usize::from),
        }
    }
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// oci:DIR[:REF], oci:DIR@DIGEST, docker-archive:FILE[:REPO:TAG] or oci-archive:FILE[:REF].
    pub src: String,
    #[command(flatten)]
    pub stage: StageArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

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

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Pull only the stages of these images (`~` names the nameless image). Exit 1 when one
    /// of them cannot be restored whole (no stage of it, or a stage tag that names no image).
    #[arg(value_name = "IMAGE_NAME")]
    pub images: Vec<String>,
    #[command(flatten)]
    pub repo: super::args::RepoArg,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Concurrent downloads.
    #[arg(short = 'j', long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
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

#[derive(Args, Debug)]
pub struct GcArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cmd: StagesCommand, g: &GlobalArgs) -> Result<i32> {
    match cmd {
        StagesCommand::List(a) => list(a),
        StagesCommand::Import(a) => {
            let req = ImportRequest {
                stages_dir: a.storage.path(),
                source: ImportSource::parse(&a.src)?,
                image: a.stage.image()?,
                stage: a.stage.stage.clone(),
                signature: a.stage.signature.clone(),
                parent: a.stage.parent.clone(),
                layer: a.stage.layer(),
            };
            let done = import(&req)?;
            if let Some(r) = &done.replaced {
                eprintln!("replaced stage {r} (its blobs go with `werf-push stages gc`)");
            }
            print(a.json, &done, || {
                format!(
                    "imported {} as image '{}' stage '{}' signature {}",
                    done.digest, done.image, done.stage, done.signature
                )
            })
        }
        StagesCommand::Add(a) => {
            let req = AddRequest {
                stages_dir: a.storage.path(),
                image: a.stage.image()?,
                stage: a.stage.stage.clone(),
                from_dir: a.from_dir.clone(),
                parent: a.stage.parent.clone(),
                signature: a.stage.signature.clone(),
                epoch: a.source_date_epoch.unwrap_or(0),
                layer: a.stage.layer(),
            };
            let done = add(&req)?;
            if let Some(r) = &done.replaced {
                eprintln!("replaced stage {r} (its blobs go with `werf-push stages gc`)");
            }
            print(a.json, &done, || {
                format!(
                    "added {} (layer {}) as image '{}' stage '{}' signature {}",
                    done.digest, done.layer_digest, done.image, done.stage, done.signature
                )
            })
        }
        StagesCommand::Pull(a) => {
            let registries = settings::registries(&a.registry)?;
            let req = PullRequest {
                stages_dir: a.storage.path(),
                repo: a.repo.repo.clone(),
                images: a.images.clone(),
                jobs: a.jobs as usize,
                page_size: a.page_size,
            };
            // Ctrl-C drops the pull: its writer removes the blobs it placed, index.json
            // is untouched.
            let report = tokio::select! {
                r = pull(&req, &registries) => r?,
                () = super::interrupt().cancelled() => return Ok(super::INTERRUPTED),
            };
            if !g.quiet {
                for s in &report.skipped {
                    eprintln!("skipped {}: {}", printable(&s.tag), printable(&s.reason));
                }
            }
            print(a.json, &report, || {
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
                out.push_str(&format!(
                    "{} stages pulled, {} skipped, {} unidentified; {} blobs ({}) fetched, {} \
                     resumed downloads",
                    report.pulled.len(),
                    report.skipped.len(),
                    report.unidentified.len(),
                    report.blobs_fetched,
                    human(report.bytes_fetched),
                    report.resumed
                ));
                out
            })?;
            // What could be restored is stored; an image named but not restored whole fails.
            match report.incomplete(&a.repo.repo) {
                Some(e) => Err(e.into()),
                None => Ok(exit::SUCCESS),
            }
        }
        StagesCommand::Gc(a) => {
            let report = gc(&a.storage.path(), a.dry_run)?;
            print(a.json, &report, || {
                let verb = if report.dry_run {
                    "would remove"
                } else {
                    "removed"
                };
                let mut out = String::new();
                for i in &report.removed {
                    out.push_str(&format!(
                        "{verb} {} ({}, {})\n",
                        i.path.display(),
                        i.kind,
                        human(i.size)
                    ));
                }
                out.push_str(&format!(
                    "{verb} {} files ({}); {} blobs in use",
                    report.removed.len(),
                    human(report.bytes),
                    report.kept
                ));
                out
            })
        }
    }
}

/// `value` as JSON, or `text()` as lines, on stdout.
fn print<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce() -> String) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(value)?)?;
    } else {
        writeln!(out, "{}", text())?;
    }
    Ok(exit::SUCCESS)
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

fn list(a: ListArgs) -> Result<i32> {
    let dir = a.storage.path();
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
                configs: image
                    .manifests
                    .iter()
                    .filter_map(|m| match &m.kind {
                        ManifestKind::Image { config, .. } => Some(config.digest.to_string()),
                        ManifestKind::Index { .. } => None,
                    })
                    .collect(),
            });
        }
    }
    let mut out = std::io::stdout().lock();
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
    Ok(exit::SUCCESS)
}
