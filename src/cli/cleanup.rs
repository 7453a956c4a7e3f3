//! `werf-push cleanup --repo REPO [IMAGE_NAME...]` (werf's images cleanup by policies, then
//! stages synchronised with the images that remain) and `werf-push purge --repo REPO`
//! (every image and stage of the project): flags -> `werf::cleanup::run`, the plan printed
//! (every tag, kept or deleted, and why), the report written, the summary.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use werf_push_spec::text::printable;
use werf_push_werf::cleanup::policy::{Limits, Policies};
use werf_push_werf::cleanup::used::InUse;
use werf_push_werf::cleanup::{
    run as run_cleanup, CleanupError, CleanupRequest, Event, Report, Reporter, Silent,
};
use werf_push_werf::naming::RepoMode;

use crate::cli::flags::{
    profile_parser, GlobalArgs, ProgressMode, RegistryArgs, RepoArg, UsageError,
};
use crate::cli::signal::{interrupt, INTERRUPTED};
use crate::cli::size::human;
use crate::cli::{exit, output, settings};

/// Flags `cleanup` and `purge` share.
#[derive(Args, Debug)]
pub struct CommonArgs {
    #[command(flatten)]
    pub repo: RepoArg,
    /// auto, multirepo or monorepo, as for publish.
    #[arg(long, env = "WERF_IMAGES_REPO_MODE", default_value = "auto", value_name = "MODE",
          value_parser = clap::value_parser!(RepoMode))]
    pub images_repo_mode: RepoMode,
    /// Project directory: werf.yaml (the images and, in multirepo mode, their
    /// repositories) and the git repository.
    #[arg(long, env = "WERF_DIR", default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Print the plan (every tag: kept or deleted, and why) and delete nothing.
    #[arg(long, env = "WERF_DRY_RUN", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub dry_run: bool,
    /// Write the report (every tag considered, as JSON) here.
    #[arg(long, env = "WERF_CLEANUP_REPORT_PATH", value_name = "FILE")]
    pub cleanup_report_path: Option<PathBuf>,
    /// The report as JSON on stdout instead of the plan's lines.
    #[arg(long)]
    pub json: bool,
    /// Tags asked for per tag-list page (the registry may page on its own too).
    #[arg(long, value_name = "N")]
    pub page_size: Option<usize>,
    /// Which way tags are deleted (docs/cleanup.md, "Registries"); default: detected from
    /// the registry's host name.
    #[arg(long, env = "WERF_PUSH_REGISTRY_PROFILE", value_name = "PROFILE",
          value_parser = profile_parser())]
    pub registry_profile: Option<werf_push_engine::RegistryProfile>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Args, Debug)]
pub struct CleanupArgs {
    /// Clean only the images of these names (`~`: the nameless one); stages are synchronised
    /// with every image of the repository whatever names are given.
    #[arg(value_name = "IMAGE_NAME")]
    pub images: Vec<String>,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Keep at most this many git-tag images per image (-1: no limit).
    #[arg(long, env = "WERF_GIT_TAG_STRATEGY_LIMIT", default_value_t = -1, allow_negative_numbers = true, value_name = "N")]
    pub git_tag_strategy_limit: i64,
    /// Delete git-tag images whose git tag is older than this many days (-1: never).
    #[arg(long, env = "WERF_GIT_TAG_STRATEGY_EXPIRY_DAYS", default_value_t = -1, allow_negative_numbers = true, value_name = "DAYS")]
    pub git_tag_strategy_expiry_days: i64,
    /// Keep at most this many git-commit images per image (-1: no limit).
    #[arg(long, env = "WERF_GIT_COMMIT_STRATEGY_LIMIT", default_value_t = -1, allow_negative_numbers = true, value_name = "N")]
    pub git_commit_strategy_limit: i64,
    /// Delete git-commit images whose commit is older than this many days (-1: never).
    #[arg(long, env = "WERF_GIT_COMMIT_STRATEGY_EXPIRY_DAYS", default_value_t = -1, allow_negative_numbers = true, value_name = "DAYS")]
    pub git_commit_strategy_expiry_days: i64,
    /// Keep at most this many stages-signature images per image (-1: no limit).
    #[arg(long, env = "WERF_STAGES_SIGNATURE_STRATEGY_LIMIT", default_value_t = -1, allow_negative_numbers = true, value_name = "N")]
    pub stages_signature_strategy_limit: i64,
    /// Delete stages-signature images created more than this many days ago (-1: never).
    #[arg(long, env = "WERF_STAGES_SIGNATURE_STRATEGY_EXPIRY_DAYS", default_value_t = -1, allow_negative_numbers = true, value_name = "DAYS")]
    pub stages_signature_strategy_expiry_days: i64,
    /// Keep every tag whose reference or digest appears in this file (`-`: stdin): the JSON
    /// of `kubectl get pods,deployments,statefulsets,daemonsets,jobs,cronjobs,
    /// replicationcontrollers -A -o json`, or references one a line.
    #[arg(long, env = "WERF_PUSH_KEEP_IMAGES_USED_BY", value_name = "FILE")]
    pub keep_images_used_by: Option<PathBuf>,
    /// Delete an unused stage only when an earlier cleanup saw it unused at least this long
    /// ago (`2h`, `30m`, `90s`, `1d`, `0`): protects the stages of a publish running now.
    #[arg(long, env = "WERF_PUSH_KEEP_STAGES_BUILT_WITHIN", default_value = "2h", value_parser = parse_duration, value_name = "DURATION")]
    pub keep_stages_built_within: Duration,
}

#[derive(Args, Debug)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Run without asking (required when stdin is not a terminal).
    #[arg(long, env = "WERF_FORCE", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub force: bool,
}

pub async fn run(a: CleanupArgs, g: &GlobalArgs) -> Result<i32> {
    let limits = |limit: i64, days: i64| Limits {
        limit: usize::try_from(limit).ok(),
        expiry_days: u64::try_from(days).ok(),
    };
    let in_use = match &a.keep_images_used_by {
        None => InUse::default(),
        Some(path) => read_in_use(path)?,
    };
    let mut policies = Policies::default();
    policies.git_tag = limits(a.git_tag_strategy_limit, a.git_tag_strategy_expiry_days);
    policies.git_commit = limits(
        a.git_commit_strategy_limit,
        a.git_commit_strategy_expiry_days,
    );
    policies.stages_signature = limits(
        a.stages_signature_strategy_limit,
        a.stages_signature_strategy_expiry_days,
    );
    let mut req = CleanupRequest::new(a.common.dir.clone(), a.common.repo.get()?);
    req.mode = a.common.images_repo_mode;
    req.only = a.images.clone();
    req.policies = policies;
    req.in_use = in_use;
    req.grace_secs = a.keep_stages_built_within.as_secs() as i64;
    req.dry_run = a.common.dry_run;
    req.page_size = a.common.page_size;
    req.profile = a.common.registry_profile;
    execute(&req, &a.common, g).await
}

pub async fn run_purge(a: PurgeArgs, g: &GlobalArgs) -> Result<i32> {
    if !a.force && !a.common.dry_run {
        if !std::io::stdin().is_terminal() {
            return Err(UsageError(
                "purge deletes every image and stage of the project: pass --force (stdin is \
                 not a terminal to ask), or --dry-run to see what it would delete"
                    .into(),
            )
            .into());
        }
        eprint!(
            "purge deletes every image and stage werf or werf-push published in {}: type \
             yes to go on: ",
            printable(a.common.repo.get()?)
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            eprintln!("nothing deleted");
            return Ok(exit::FAILURE);
        }
    }
    let mut req = CleanupRequest::new(a.common.dir.clone(), a.common.repo.get()?);
    req.mode = a.common.images_repo_mode;
    req.grace_secs = 0;
    req.dry_run = a.common.dry_run;
    req.purge = true;
    req.page_size = a.common.page_size;
    req.profile = a.common.registry_profile;
    execute(&req, &a.common, g).await
}

async fn execute(req: &CleanupRequest, c: &CommonArgs, g: &GlobalArgs) -> Result<i32> {
    let registries = settings::registries(&c.registry)?;
    // Ctrl-C stops between requests: every kept tag is as it was; a tag being deleted may
    // be left on a placeholder, which the next run deletes.
    let lines = Lines;
    let reporter: &dyn Reporter = if g.quiet || g.progress == ProgressMode::None {
        &Silent
    } else {
        &lines
    };
    let mut report = tokio::select! {
        r = run_cleanup(req, &registries, reporter) => r?,
        () = interrupt().cancelled() => return Ok(INTERRUPTED),
    };
    if let Some(path) = &c.cleanup_report_path {
        let bytes = serde_json::to_vec_pretty(&report)?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &bytes)
            .and_then(|()| std::fs::rename(&tmp, path))
            .with_context(|| format!("cannot write the cleanup report {}", path.display()))?;
    }
    output::print(c.json, &report, || plan_text(&report, g.quiet))?;
    match report.incomplete() {
        Some(e) => Err(e.into()),
        None => Ok(exit::SUCCESS),
    }
}

/// Progress as plain lines on stderr.
struct Lines;

impl Reporter for Lines {
    fn event(&self, e: Event) {
        match e {
            Event::Scanned {
                repositories,
                tags,
                manifests,
                configs,
            } => eprintln!(
                "scanned {tags} tags in {repositories} repositories ({manifests} manifests, \
                 {configs} configs read)"
            ),
            Event::Planned { keep, delete } => eprintln!("plan: keep {keep}, delete {delete}"),
            Event::Deleting { done, total } => eprintln!("deleted {done} of {total}"),
            // An event this version does not know has no line to print.
            _ => {}
        }
    }
}

/// One line per tag (unless `quiet`), then the summary.
fn plan_text(r: &Report, quiet: bool) -> String {
    let mut out = String::new();
    if !quiet {
        for t in &r.tags {
            let verb = match (t.delete, r.dry_run) {
                (true, true) => "would delete",
                (true, false) => "delete",
                (false, _) => "keep",
            };
            out.push_str(&format!(
                "{verb:<12} {}  ({})\n",
                printable(&t.reference),
                t.reason
            ));
        }
    }
    let s = &r.summary;
    let reasons: Vec<String> = s
        .by_reason
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    out.push_str(&format!(
        "{}: {} tags scanned, {} kept, {} {}{} ({}); {} the registry's garbage collector can \
         free",
        r.command,
        s.scanned,
        s.kept,
        s.deleted,
        if r.dry_run { "to delete" } else { "deleted" },
        if s.failed > 0 {
            format!(", {} failed", s.failed)
        } else {
            String::new()
        },
        reasons.join(", "),
        human(s.freeable_bytes),
    ));
    out
}

fn read_in_use(path: &std::path::Path) -> Result<InUse> {
    use std::io::Read;
    let name = path.display().to_string();
    let limit = 256u64 << 20;
    let mut text = String::new();
    let read = if name == "-" {
        std::io::stdin().take(limit + 1).read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit + 1).read_to_string(&mut text))
    };
    let fail = |detail: String| CleanupError::InUse {
        source_name: name.clone(),
        detail,
    };
    read.map_err(|e| fail(format!("cannot read it: {e}")))?;
    if text.len() as u64 > limit {
        return Err(fail(format!("larger than {} MiB", limit >> 20)).into());
    }
    Ok(InUse::parse(&text).map_err(fail)?)
}

/// `2h`, `30m`, `90s`, `1d`, or plain seconds (`0`).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 2h, 30m, 90s or 1d"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit is s, m, h or d")),
    };
    n.checked_mul(unit)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_table() {
        let cases = [
            ("2h", Some(7200)),
            ("30m", Some(1800)),
            ("90s", Some(90)),
            ("1d", Some(86_400)),
            ("0", Some(0)),
            ("15", Some(15)),
            ("2w", None),
            ("h", None),
            ("-1h", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_duration(s).ok().map(|d| d.as_secs()), want, "{s}");
        }
    }

    /// The flag's default, written for `--help`, is the library's default grace.
    #[test]
    fn the_grace_flag_defaults_to_the_library_grace() {
        use clap::Args as _;
        let cmd = CleanupArgs::augment_args(clap::Command::new("cleanup"));
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_id() == "keep_stages_built_within")
            .expect("the flag exists");
        let default = arg.get_default_values()[0].to_str().expect("utf-8");
        let secs = parse_duration(default).expect("parses").as_secs();
        assert_eq!(secs as i64, werf_push_werf::cleanup::DEFAULT_GRACE_SECS);
    }
}
