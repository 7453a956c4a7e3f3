//! A cleanup or purge run: where the project's tags are (the repo, the naming mode and the
//! images of werf.yaml), the scan, git facts when an image policy needs them, the plan, and
//! (unless `dry_run`) the grace state written, then the deletions (`delete.rs`: all at
//! once under the transport's bound; a deletion removes its tag only, a manifest goes by
//! digest only when every tag on it in the repository is being deleted).
//! Killed at any moment, a run leaves every kept tag as it was: kept tags are never
//! written, and a tag being deleted is at worst left on a placeholder the next run deletes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::delete::delete_planned;
use super::error::CleanupError;
use super::plan::{classify, decide, read_state, Class, Names, Settings};
use super::policy::{GitFacts, Policies};
use super::scan::{scan, Scan};
use super::stages::GraceState;
use super::used::InUse;
use super::{Event, Report, Reporter, STATE_LABEL, STATE_TAG};
use crate::config::read_werf_yaml;
use crate::error::WerfError;
use crate::naming::{image_reference, resolve_mode, RepoMode};
use werf_push_engine::{DeletePath, RegistryProfile};
use werf_push_registry::{Registries, Registry, RegistryError};
use werf_push_spec::Reference;

/// What to clean and how: [`CleanupRequest::new`] gives a cleanup with the command line's
/// defaults (no limit or expiry, nothing in use, a grace of two hours); set the other
/// fields after it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CleanupRequest {
    /// Project directory: werf.yaml and the git repository.
    pub dir: PathBuf,
    /// The images repo (`--repo`): the stages and images of the project are under it.
    pub repo: String,
    /// `--images-repo-mode`, as the project was published.
    pub mode: RepoMode,
    /// IMAGE_NAMEs (`~`: the nameless image) whose images are cleaned; all when empty.
    pub only: Vec<String>,
    /// The limits and expiry of each strategy.
    pub policies: Policies,
    /// References and digests never deleted (`--keep-images-used-by`).
    pub in_use: InUse,
    /// `--keep-stages-built-within`, seconds: an unused stage goes only once an earlier
    /// cleanup saw it unused at least this long ago.
    pub grace_secs: i64,
    /// Plan only: delete nothing, write no state.
    pub dry_run: bool,
    /// Delete every image and stage of the project (`purge`), whatever the policies.
    pub purge: bool,
    /// Tags asked for per tag-list page; `None`: the registry's own paging.
    pub page_size: Option<usize>,
    /// `--registry-profile`: which way tags are deleted; `None`: from the host name.
    pub profile: Option<RegistryProfile>,
}

/// The grace period of a cleanup unless told otherwise: two hours, werf-push's default
/// `--keep-stages-built-within`.
pub const DEFAULT_GRACE_SECS: i64 = 2 * 3600;

impl CleanupRequest {
    /// A cleanup of the project in `dir` published to `repo`: naming mode auto, every
    /// image, no limits or expiry, nothing in use, a grace of [`DEFAULT_GRACE_SECS`],
    /// deletions done, the profile detected from the host name.
    pub fn new(dir: impl Into<PathBuf>, repo: impl Into<String>) -> CleanupRequest {
        CleanupRequest {
            dir: dir.into(),
            repo: repo.into(),
            mode: RepoMode::Auto,
            only: Vec::new(),
            policies: Policies::default(),
            in_use: InUse::default(),
            grace_secs: DEFAULT_GRACE_SECS,
            dry_run: false,
            purge: false,
            page_size: None,
            profile: None,
        }
    }
}

/// Runs the cleanup (or purge) of `req`; the report lists every tag considered, and the
/// deletions that failed (`Report::incomplete`).
pub async fn run(
    req: &CleanupRequest,
    registries: &Registries,
    reporter: &dyn Reporter,
) -> Result<Report, CleanupError> {
    let names = names(req)?;
    let (reg, path) = connect(req, &names, registries).await?;
    let scanned = scan_project(&reg, &names, req.page_size, reporter).await?;
    let classes = classify(&scanned, &names, &req.in_use);
    let git = if req.purge {
        GitFacts::default()
    } else {
        git_facts(req, &classes)?
    };
    let settings = Settings {
        policies: req.policies,
        now: super::time::now(),
        grace_secs: req.grace_secs,
        purge: req.purge,
    };
    let state = read_state(&scanned, &names);
    let (mut entries, mut summary, next_state) =
        decide(&scanned, &names, &classes, &git, &settings, &state);
    let delete = entries.iter().filter(|e| e.delete).count();
    reporter.event(Event::Planned {
        keep: entries.len() - delete,
        delete,
    });
    let mut report = Report {
        repo: req.repo.clone(),
        command: if req.purge { "purge" } else { "cleanup" }.into(),
        dry_run: req.dry_run,
        manifest_reads: scanned.manifest_reads,
        config_reads: scanned.config_reads,
        ..Default::default()
    };
    if !req.dry_run {
        if !req.purge && (next_state != state || !next_state.is_empty()) {
            write_state(&reg, &names.base, &next_state).await?;
        }
        let tags = &scanned.tags;
        delete_planned(&reg, path, tags, &mut entries, &mut report, reporter).await;
        summary.failed = report.errors.len();
    }
    report.tags = entries;
    report.summary = summary;
    Ok(report)
}

/// The registry of the project's repositories, and how it deletes tags (`--registry-profile`,
/// else detected from the host name). A registry that deletes only through its own API
/// stops a run that would delete, before anything is read or changed.
async fn connect(
    req: &CleanupRequest,
    names: &Names,
    registries: &Registries,
) -> Result<(Registry, DeletePath), CleanupError> {
    let base_ref =
        Reference::parse(&format!("{}/{}", names.registry, names.base)).map_err(|source| {
            WerfError::Reference {
                reference: req.repo.clone(),
                source,
            }
        })?;
    let profile = req
        .profile
        .unwrap_or_else(|| RegistryProfile::detect(&base_ref.registry));
    let path = profile.delete_path();
    if let (DeletePath::OwnApi { api, permission }, false) = (path, req.dry_run) {
        return Err(CleanupError::OwnApi {
            registry: base_ref.registry.clone(),
            profile: profile.name().into(),
            api,
            permission,
        });
    }
    let reg = registries
        .get(&base_ref)
        .await
        .map_err(|e| CleanupError::Registry {
            context: base_ref.registry.clone(),
            source: RegistryError::Transport(e),
        })?;
    Ok((reg, path))
}

/// The scan of the project's repositories (REPO, and REPO/IMAGE in multirepo mode); configs
/// are read for every tag but the stages of REPO. Tells `Event::Scanned`.
async fn scan_project(
    reg: &Registry,
    names: &Names,
    page_size: Option<usize>,
    reporter: &dyn Reporter,
) -> Result<Scan, CleanupError> {
    let mut repositories = vec![names.base.clone()];
    repositories.extend(names.multirepo.values().cloned());
    let stage_prefix = werf_push_stages::format::TAG_PREFIX;
    let base = &names.base;
    let scanned = scan(reg, &repositories, page_size, |repo, tag| {
        !(repo == base && tag.starts_with(stage_prefix))
    })
    .await?;
    reporter.event(Event::Scanned {
        repositories: repositories.len(),
        tags: scanned.tags.len(),
        manifests: scanned.manifest_reads,
        configs: scanned.config_reads,
    });
    Ok(scanned)
}

/// The repositories of the project: REPO, and in multirepo mode REPO/IMAGE for each image
/// of werf.yaml (which multirepo needs: stages of an image whose repository was not seen
/// would look unused).
fn names(req: &CleanupRequest) -> Result<Names, CleanupError> {
    let repo = req.repo.trim_end_matches('/');
    let mode = resolve_mode(repo, req.mode)?;
    let base = image_reference(repo, mode, None, "latest")?;
    let base_ref = Reference::parse(&format!("{}:latest", base.repository)).map_err(|source| {
        WerfError::Reference {
            reference: repo.to_string(),
            source,
        }
    })?;
    let config = read_werf_yaml(&req.dir)?;
    let known: Option<Vec<Option<String>>> = config.map(|c| c.images);
    let selected: Option<Vec<Option<String>>> = (!req.only.is_empty()).then(|| {
        req.only
            .iter()
            .map(|n| (n != werf_push_stages::ImageName::NAMELESS).then(|| n.clone()))
            .collect()
    });
    let mut multirepo = BTreeMap::new();
    if mode == RepoMode::Multirepo {
        let Some(known) = &known else {
            return Err(CleanupError::NoWerfYaml {
                dir: req.dir.clone(),
            });
        };
        for name in known.iter().flatten() {
            let r = image_reference(repo, mode, Some(name), "latest")?;
            let r = Reference::parse(&format!("{}:latest", r.repository)).map_err(|source| {
                WerfError::Reference {
                    reference: r.repository.clone(),
                    source,
                }
            })?;
            multirepo.insert(name.clone(), r.repository);
        }
    }
    if let (Some(selected), Some(known)) = (&selected, &known) {
        if let Some(unknown) = selected.iter().find(|s| !known.contains(s)) {
            return Err(CleanupError::Werf(WerfError::UnknownImage {
                name: unknown.clone().unwrap_or_else(|| "~".into()),
                available: known
                    .iter()
                    .map(|n| n.clone().unwrap_or_else(|| "~".into()))
                    .collect::<Vec<_>>()
                    .join(", "),
            }));
        }
    }
    Ok(Names {
        registry: base_ref.registry,
        base: base_ref.repository,
        multirepo,
        monorepo: mode == RepoMode::Monorepo,
        selected,
    })
}

/// Git facts, read only when an image's strategy needs them.
fn git_facts(req: &CleanupRequest, classes: &[Class]) -> Result<GitFacts, CleanupError> {
    let mut needed = false;
    let mut commits = Vec::new();
    for c in classes {
        if let Class::Image(t) = c {
            match t.strategy.as_str() {
                "git-branch" | "git-tag" => needed = true,
                "git-commit" => {
                    needed = true;
                    commits.push(t.image_tag.clone());
                }
                _ => {}
            }
        }
    }
    if !needed {
        return Ok(GitFacts::default());
    }
    commits.sort();
    commits.dedup();
    super::git::read(&req.dir, &commits)
}

/// Writes the grace state as the config (one label) of an OCI image with no layers, tagged
/// `STATE_TAG` in the base repository.
async fn write_state(reg: &Registry, repo: &str, state: &GraceState) -> Result<(), CleanupError> {
    let mut labels = serde_json::Map::new();
    labels.insert(
        STATE_LABEL.into(),
        serde_json::to_string(state).unwrap_or_default().into(),
    );
    reg.put_label_image(repo, STATE_TAG, labels)
        .await
        .map(|_| ())
        .map_err(|source| CleanupError::Registry {
            context: format!("writing the cleanup state {repo}:{STATE_TAG}"),
            source,
        })
}
