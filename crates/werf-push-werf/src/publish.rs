//! `publish`: which images, which references, which bytes. Selects images (werf.yaml and the
//! stages storage, positional names), names every (image, tag) per the repo mode, writes the
//! final images, adds the stages-cache targets of `--with-stages` first (so images mount
//! their blobs from REPO; each stage in its tagged form, `stage_tag.rs`, which names its
//! image and stage), and hands everything to the push engine in one run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::config::read_werf_yaml;
use super::error::WerfError;
use super::image::final_image;
use super::naming::{check_names, image_reference, ImageRef, RepoMode};
use super::stage_tag::tagged;
use super::tags::{TagSpec, TagStrategy};
use werf_push_engine::{PushImage, Target};
use werf_push_spec::Reference;
use werf_push_stages::format::{stage_tag, TAG_PREFIX};
use werf_push_stages::{ImageName, Stage, StagesStorage};

/// What to publish: [`PublishRequest::new`] gives the required parts; set the others
/// (`mode`, `only`, `with_stages`) after it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PublishRequest {
    /// Project directory (werf.yaml).
    pub dir: PathBuf,
    /// The stages storage.
    pub stages_dir: PathBuf,
    /// The images repo (`--repo`); a trailing `/` is ignored.
    pub repo: String,
    /// `--images-repo-mode`: how images are named under `repo`.
    pub mode: RepoMode,
    /// The tags every selected image is published with (`tags::collect_tags`), in order.
    pub tags: Vec<TagSpec>,
    /// Positional IMAGE_NAMEs (`~` for the nameless image); empty means all.
    pub only: Vec<String>,
    /// Also publish every stage as `REPO:image-stage-<signature>` (`--with-stages`).
    pub with_stages: bool,
}

impl PublishRequest {
    /// The project in `dir`, its stages storage `stages_dir`, published to `repo` with
    /// `tags`: naming mode auto, every image, no stages.
    pub fn new(
        dir: impl Into<PathBuf>,
        stages_dir: impl Into<PathBuf>,
        repo: impl Into<String>,
        tags: Vec<TagSpec>,
    ) -> PublishRequest {
        PublishRequest {
            dir: dir.into(),
            stages_dir: stages_dir.into(),
            repo: repo.into(),
            mode: RepoMode::Auto,
            tags,
            only: Vec::new(),
            with_stages: false,
        }
    }
}

/// One published reference, as planned.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Planned {
    /// The werf image; `None`: the nameless one.
    pub image: Option<String>,
    /// How its tag was chosen.
    pub strategy: TagStrategy,
    /// Where it goes, as werf names it (repository, tag, tag without monorepo prefix).
    pub image_ref: ImageRef,
    /// The same, parsed.
    pub reference: Reference,
    /// Digest of the final image's config (empty for a multi-platform image).
    pub config_digest: String,
    /// Digest of the final image's manifest (or index).
    pub manifest_digest: String,
}

/// What a publish pushes: the engine's targets and the plan's lines for the report.
#[non_exhaustive]
pub struct PublishPlan {
    /// `project:` of werf.yaml; `None` without werf.yaml.
    pub project: Option<String>,
    /// Stage targets first (with `--with-stages`), then image targets.
    pub targets: Vec<Target>,
    /// One per image target, in the order of the images, then of the tags.
    pub planned: Vec<Planned>,
    /// How many of `targets` are stages.
    pub stage_targets: usize,
}

/// Plans the publish of `req`: every reference of every selected image, and (with
/// `--with-stages`) every stage's tag, read from werf.yaml and the stages storage.
pub fn plan(req: &PublishRequest) -> Result<PublishPlan, WerfError> {
    let config = read_werf_yaml(&req.dir)?;
    let storage = StagesStorage::open(&req.stages_dir)?;
    let names = select_images(req, config.as_ref().map(|c| c.images.as_slice()), &storage)?;
    let repo = req.repo.trim_end_matches('/');
    let mut targets = Vec::new();
    let mut planned = Vec::new();
    for name in &names {
        let stages = storage.stages(&ImageName::from_option(name.clone()));
        let last = stages.last().ok_or_else(|| WerfError::NotBuilt {
            image: name.clone(),
            path: req.stages_dir.clone(),
        })?;
        if req.with_stages {
            for s in stages {
                targets.push(stage_target(&storage, repo, s)?);
            }
        }
        for spec in &req.tags {
            let (p, target) = image_target(&storage, repo, req.mode, name, last, spec)?;
            planned.push(p);
            targets.push(target);
        }
    }
    let stage_targets = targets.len() - planned.len();
    // Stage targets go first so that REPO is the first repository of every shared blob.
    targets.sort_by_key(|t| !t.dest.tag.as_deref().unwrap_or("").starts_with(TAG_PREFIX));
    Ok(PublishPlan {
        project: config.map(|c| c.project),
        targets,
        planned,
        stage_targets,
    })
}

/// The images to publish: those of werf.yaml (`known`; without it, those of the stages
/// storage), narrowed to the positional names of `req` when it has some.
fn select_images(
    req: &PublishRequest,
    known: Option<&[Option<String>]>,
    storage: &StagesStorage,
) -> Result<Vec<Option<String>>, WerfError> {
    let mut names: Vec<Option<String>> = match known {
        Some(images) => images.to_vec(),
        None => storage
            .images
            .keys()
            .map(|k| k.as_option().clone())
            .collect(),
    };
    check_names(&names)?;
    if req.only.is_empty() {
        return Ok(names);
    }
    let wanted: Vec<Option<String>> = req
        .only
        .iter()
        .map(|n| (n != ImageName::NAMELESS).then(|| n.clone()))
        .collect();
    if let Some(w) = wanted.iter().find(|w| !names.contains(w)) {
        return Err(WerfError::UnknownImage {
            name: ImageName::from_option(w.clone()).to_string(),
            available: names
                .iter()
                .map(|n| ImageName::from_option(n.clone()).to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    names.retain(|n| wanted.contains(n));
    Ok(names)
}

/// Stage `s` as `REPO:image-stage-<signature>`, in its tagged form.
fn stage_target(storage: &StagesStorage, repo: &str, s: &Stage) -> Result<Target, WerfError> {
    let dest = parse_ref(&format!("{repo}:{}", stage_tag(&s.signature)))?;
    let image = tagged(&storage.layout, s)?;
    let image = PushImage::from_layout(&storage.layout, &image)?;
    Ok(Target {
        image: Arc::new(image),
        dest,
    })
}

/// The final image of `name` (from its last stage `last`) published with the tag of
/// `spec`: its line of the plan and its push target.
fn image_target(
    storage: &StagesStorage,
    repo: &str,
    mode: RepoMode,
    name: &Option<String>,
    last: &Stage,
    spec: &TagSpec,
) -> Result<(Planned, Target), WerfError> {
    let tag = spec.tag.as_ref().unwrap_or(&last.signature);
    let image_ref = image_reference(repo, mode, name.as_deref(), tag)?;
    let reference = parse_ref(&image_ref.to_string())?;
    let labels = labels(name, spec.strategy, &image_ref, &last.signature);
    let image = final_image(&storage.layout, last, &labels)?;
    let root = image.root();
    let config_digest = match &root.kind() {
        werf_push_spec::ManifestKind::Image { config, .. } => config.digest.to_string(),
        werf_push_spec::ManifestKind::Index { .. } => String::new(),
    };
    let planned = Planned {
        image: name.clone(),
        strategy: spec.strategy,
        image_ref,
        manifest_digest: root.digest().to_string(),
        config_digest,
        reference: reference.clone(),
    };
    let target = Target {
        image: Arc::new(image),
        dest: reference,
    };
    Ok((planned, target))
}

/// werf's labels of a published image (docs/stages-format.md and the README's publish section).
fn labels(
    name: &Option<String>,
    strategy: TagStrategy,
    r: &ImageRef,
    signature: &str,
) -> BTreeMap<String, String> {
    [
        ("werf-image", "true".to_string()),
        ("werf-image-name", name.clone().unwrap_or_default()),
        ("werf-image-tag", r.image_tag.clone()),
        ("werf-tag-strategy", strategy.as_label().to_string()),
        ("werf-docker-image-name", r.to_string()),
        ("werf-content-signature", signature.to_string()),
        ("werf-image-version", "1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn parse_ref(s: &str) -> Result<Reference, WerfError> {
    Reference::parse(s).map_err(|source| WerfError::Reference {
        reference: s.to_string(),
        source,
    })
}
