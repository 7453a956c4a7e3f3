//! Image naming as werf v1.1 does it: the images repo mode (`--images-repo-mode`
//! auto|multirepo|monorepo, with auto decided from the registry and the repo's path), the
//! reference each image and tag is published as, and the stages cache tag.
//!
//! Knows nothing of HTTP, registry APIs or credentials: it judges registries by their
//! host name only. Knows nothing of werf.yaml parsing or of how tags were chosen.

use std::fmt;
use std::str::FromStr;

use super::error::WerfError;
use super::repo::{parse_repo, Repo};
use super::slug::{is_valid_docker_tag, DOCKER_TAG_MAX_LEN};
use werf_push_spec::reference::{component_problem, is_path_component};

/// Longest repository name (host included), as in the distribution reference grammar.
pub(crate) const REPOSITORY_MAX_LEN: usize = 255;

/// `--images-repo-mode`. Exhaustive: werf v1.1's three modes, a fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RepoMode {
    /// Decide from the registry and the repo (werf v1.1 default).
    #[default]
    Auto,
    /// `REPO/IMAGE_NAME:TAG`.
    Multirepo,
    /// `REPO:IMAGE_NAME-TAG`.
    Monorepo,
}

impl RepoMode {
    /// The flag's value (`auto`, `multirepo`, `monorepo`).
    pub fn as_str(self) -> &'static str {
        match self {
            RepoMode::Auto => "auto",
            RepoMode::Multirepo => "multirepo",
            RepoMode::Monorepo => "monorepo",
        }
    }
}

impl fmt::Display for RepoMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RepoMode {
    type Err = WerfError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(RepoMode::Auto),
            "multirepo" => Ok(RepoMode::Multirepo),
            "monorepo" => Ok(RepoMode::Monorepo),
            _ => Err(WerfError::BadRepoMode {
                value: s.to_string(),
            }),
        }
    }
}

/// Where one image is published with one tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// The repository, without tag: `REPO` or `REPO/IMAGE_NAME`.
    pub repository: String,
    /// The full docker tag: `TAG` or, in monorepo mode, `IMAGE_NAME-TAG`.
    pub tag: String,
    /// The tag without the monorepo prefix (label `werf-image-tag`).
    pub image_tag: String,
}

impl fmt::Display for ImageRef {
    /// `repository:tag`, the value of label `werf-docker-image-name`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

/// The effective mode (`Multirepo` or `Monorepo`) for publishing into `repo`.
///
/// Docker Hub (`docker.io`, `index.docker.io`, `registry-1.docker.io`,
/// `registry.hub.docker.com`, or a repo with no registry host) and Quay (`quay.io`,
/// `quay.*.com`) cannot nest repositories: `ACCOUNT` is multirepo and
/// `ACCOUNT/REPOSITORY` is monorepo. GitHub Packages (`docker.pkg.github.com`) likewise
/// one level deeper, as werf does: `OWNER/REPOSITORY` is multirepo and
/// `OWNER/REPOSITORY/PACKAGE` monorepo. There, auto picks the mode that fits and an
/// explicit mode that does not fit is an error. Every other registry: auto is multirepo
/// and both explicit modes are allowed.
pub(crate) fn resolve_mode(repo: &str, requested: RepoMode) -> Result<RepoMode, WerfError> {
    let parsed = parse_repo(repo)?;
    let Some(shape) = parsed.registry().shape() else {
        return Ok(match requested {
            RepoMode::Auto => RepoMode::Multirepo,
            explicit => explicit,
        });
    };
    let registry = parsed.registry_name().to_string();
    let repo = parsed.text.to_string();
    let depth = parsed.path.len();
    let fits = match depth.checked_sub(shape.base) {
        Some(0) => RepoMode::Multirepo,
        Some(1) => RepoMode::Monorepo,
        _ => {
            let expected = shape.expected;
            return Err(WerfError::RepoPathShape {
                registry,
                repo,
                expected,
                found: depth,
            });
        }
    };
    match (requested, fits) {
        (RepoMode::Multirepo, RepoMode::Monorepo) => {
            let shape = shape.repository;
            Err(WerfError::NestedRepoUnsupported {
                registry,
                repo,
                shape,
            })
        }
        (RepoMode::Monorepo, RepoMode::Multirepo) => {
            let (shape, missing) = (shape.bare, shape.missing);
            Err(WerfError::MonorepoNeedsRepository {
                registry,
                repo,
                shape,
                missing,
            })
        }
        _ => Ok(fits),
    }
}

/// The reference to publish `image` (`None`: the nameless image) with `tag` under `repo`.
///
/// `mode` goes through [`resolve_mode`] first (so `Auto` is allowed, and an explicit mode
/// the registry cannot hold is an error). Nameless: `REPO:TAG` in every mode; multirepo:
/// `REPO/IMAGE_NAME:TAG`; monorepo: `REPO:IMAGE_NAME-TAG`. A reference that would not be
/// valid (bad tag, image name or repository, monorepo tag over 128 chars) is an error
/// naming the image and the tag.
pub(crate) fn image_reference(
    repo: &str,
    mode: RepoMode,
    image: Option<&str>,
    tag: &str,
) -> Result<ImageRef, WerfError> {
    let mode = resolve_mode(repo, mode)?;
    let parsed = parse_repo(repo)?;
    let fail = |Invalid { reference, reason }| WerfError::InvalidImageReference {
        image: image.map(str::to_string),
        tag: tag.to_string(),
        reference,
        reason,
    };
    if !is_valid_docker_tag(tag) {
        return Err(fail(Invalid {
            reference: format!("{}:{tag}", parsed.text),
            reason: "the tag must match '^[\\w][\\w.-]*$' and be at most 128 chars".into(),
        }));
    }
    let (repository, full_tag) = match (image, mode) {
        (Some(name), RepoMode::Multirepo) => in_own_repository(&parsed, name, tag),
        _ => in_repo(&parsed, image, tag),
    }
    .map_err(fail)?;
    Ok(ImageRef {
        repository,
        tag: full_tag,
        image_tag: tag.to_string(),
    })
}

/// A reference that would not be valid, and why.
struct Invalid {
    reference: String,
    reason: String,
}

/// (repository, tag) of the nameless image (`REPO:TAG`) or of a monorepo image
/// (`REPO:IMAGE_NAME-TAG`).
fn in_repo(parsed: &Repo, image: Option<&str>, tag: &str) -> Result<(String, String), Invalid> {
    let base = parsed.text;
    let full_tag = match image {
        Some(name) => format!("{name}-{tag}"),
        None => tag.to_string(),
    };
    let reference = format!("{base}:{full_tag}");
    if parsed.path.is_empty() {
        let reason = format!(
            "'{base}' is a registry with no repository for the image's tags: give a repo like \
             {base}/PROJECT"
        );
        return Err(Invalid { reference, reason });
    }
    if let Some(reason) = image.and_then(|name| monorepo_tag_problem(name, &full_tag)) {
        return Err(Invalid { reference, reason });
    }
    Ok((base.to_string(), full_tag))
}

/// (repository, tag) of a multirepo image: `REPO/IMAGE_NAME:TAG`.
fn in_own_repository(parsed: &Repo, name: &str, tag: &str) -> Result<(String, String), Invalid> {
    let repository = format!("{}/{name}", parsed.text);
    let reference = format!("{repository}:{tag}");
    let fail = |reason: String| Invalid {
        reference: reference.clone(),
        reason,
    };
    if let Some(c) = name.split('/').find(|c| !is_path_component(c)) {
        return Err(fail(format!(
            "the image name is part of the repository in multirepo mode, and {}",
            component_problem(c)
        )));
    }
    if name.contains('/') && parsed.registry().shape().is_some() {
        return Err(fail(format!(
            "registry {} does not support nested repositories, so an image name with '/' \
             cannot be part of the repository: rename the image",
            parsed.registry_name()
        )));
    }
    if repository.len() > REPOSITORY_MAX_LEN {
        return Err(fail(format!(
            "the repository is {} chars, over {REPOSITORY_MAX_LEN}: use a shorter repo or \
             image name",
            repository.len()
        )));
    }
    Ok((repository, tag.to_string()))
}

fn monorepo_tag_problem(name: &str, full_tag: &str) -> Option<String> {
    if is_valid_docker_tag(full_tag) {
        return None;
    }
    Some(if name.contains('/') {
        "in monorepo mode the image name is part of the tag (IMAGE_NAME-TAG), and a tag \
         cannot hold '/': rename the image or use multirepo mode"
            .to_string()
    } else if full_tag.len() > DOCKER_TAG_MAX_LEN {
        format!(
            "in monorepo mode the tag is IMAGE_NAME-TAG, here {} chars, over \
             {DOCKER_TAG_MAX_LEN}: use a shorter tag or image name, or multirepo mode",
            full_tag.len()
        )
    } else {
        "in monorepo mode the tag is IMAGE_NAME-TAG, and it must match \
         '^[\\w][\\w.-]*$': rename the image or use multirepo mode"
            .to_string()
    })
}

/// A nameless image (`None`) cannot be published together with named images, and no
/// image may be named twice.
pub(crate) fn check_names(names: &[Option<String>]) -> Result<(), WerfError> {
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(WerfError::DuplicateImage {
                image: name.clone(),
            });
        }
    }
    if names.contains(&None) && names.len() > 1 {
        return Err(WerfError::NamelessWithNamed {
            named: names.iter().flatten().cloned().collect(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "naming_tests.rs"]
mod tests;
