//! `werf-push publish [IMAGE_NAME...]`: werf's publish, daemonless.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::builder::TypedValueParser;
use clap::Args;
use werf_push_werf::naming::RepoMode;
use werf_push_werf::publish::{plan, PublishRequest};
use werf_push_werf::report;
use werf_push_werf::tags::collect_tags;

use super::flags::{GlobalArgs, RegistryArgs, RepoArg, StorageArgs, UploadArgs, UsageError};
use super::{exit, output, settings};

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// Publish only these images (`~` names the nameless image); all when none is given.
    #[arg(value_name = "IMAGE_NAME")]
    pub images: Vec<String>,
    #[command(flatten)]
    pub repo: RepoArg,
    /// auto, multirepo or monorepo (auto: werf's per-registry rules).
    #[arg(
        long,
        env = "WERF_IMAGES_REPO_MODE",
        default_value = "auto",
        value_name = "MODE",
        value_parser = clap::builder::PossibleValuesParser::new(["auto", "multirepo", "monorepo"])
            .try_map(|s| s.parse::<RepoMode>())
    )]
    pub images_repo_mode: RepoMode,
    /// Custom tag (repeatable); every WERF_TAG_CUSTOM_* variable adds one too.
    #[arg(long, value_name = "TAG")]
    pub tag_custom: Vec<String>,
    /// Tag by git branch (already a valid tag: see `werf-push slugify`).
    #[arg(long, env = "WERF_TAG_GIT_BRANCH", value_name = "BRANCH")]
    pub tag_git_branch: Option<String>,
    /// Tag by git tag.
    #[arg(long, env = "WERF_TAG_GIT_TAG", value_name = "TAG")]
    pub tag_git_tag: Option<String>,
    /// Tag by git commit.
    #[arg(long, env = "WERF_TAG_GIT_COMMIT", value_name = "COMMIT")]
    pub tag_git_commit: Option<String>,
    /// Not a flag (werf has --tag-custom and the other --tag-* flags): caught to say so,
    /// where clap would suggest --stages-dir.
    #[arg(long = "tag", hide = true, value_name = "TAG")]
    pub tag: Option<String>,
    /// Tag each image by its stages signature.
    #[arg(long, env = "WERF_TAG_BY_STAGES_SIGNATURE", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub tag_by_stages_signature: bool,
    /// Also push every stage of the published images as REPO:image-stage-<signature>.
    #[arg(long, env = "WERF_WITH_STAGES", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub with_stages: bool,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Write the publish report here.
    #[arg(long, env = "WERF_PUBLISH_REPORT_PATH", value_name = "FILE")]
    pub publish_report_path: Option<PathBuf>,
    /// Format of the publish report.
    #[arg(
        long,
        env = "WERF_PUBLISH_REPORT_FORMAT",
        value_enum,
        default_value = "json"
    )]
    pub publish_report_format: ReportFormat,
    /// Print the push summary (JSON) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Show what would be published, using read requests only.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub upload: UploadArgs,
}

/// Formats of the publish report (`--publish-report-format`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
}

pub async fn run(a: PublishArgs, g: &GlobalArgs) -> Result<i32> {
    if let Some(t) = &a.tag {
        return Err(UsageError(format!(
            "--tag is not a flag of publish: use --tag-custom {t}, or --tag-git-branch, \
             --tag-git-tag, --tag-git-commit, --tag-by-stages-signature"
        ))
        .into());
    }
    let mode = a.images_repo_mode;
    let tags = collect_tags(
        &a.tag_custom,
        std::env::vars(),
        a.tag_git_branch.as_deref(),
        a.tag_git_tag.as_deref(),
        a.tag_git_commit.as_deref(),
        a.tag_by_stages_signature,
    )?;
    let mut req = PublishRequest::new(
        a.storage.dir.clone(),
        a.storage.path()?,
        a.repo.get()?,
        tags,
    );
    req.mode = mode;
    req.only = a.images.clone();
    req.with_stages = a.with_stages;
    let plan = plan(&req)?;
    let (pusher, progress) = settings::pusher(&a.upload, &a.registry, a.dry_run, false, g)?;
    let (summary, errors) = pusher.push(plan.targets).await;
    let report = report::build(&plan.planned, &summary);
    if let Some(path) = &a.publish_report_path {
        let bytes = match a.publish_report_format {
            ReportFormat::Json => serde_json::to_vec_pretty(&report)?,
        };
        werf_push_layout::safe_fs::replace_file(path, &bytes)
            .with_context(|| format!("cannot write the publish report {}", path.display()))?;
    }
    let lines = output::per_image(&report, &summary);
    output::finish(&summary, errors, a.json, a.dry_run, &progress, &lines)?;
    Ok(exit::SUCCESS)
}
