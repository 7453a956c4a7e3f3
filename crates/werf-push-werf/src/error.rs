//! The one error type of the werf policy layer: bad tags, bad repos and naming modes,
//! invalid image references, and werf.yaml problems, each carrying its context (flag,
//! tag, image, repo, path, document) and saying what went wrong, where, and how to fix it.
//!
//! Knows nothing of HTTP, registries' APIs, the OCI layout or the CLI parser: it only
//! names the flags a user typed so messages can point back at them.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Every failure of the werf policy layer and of `publish`'s plan.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WerfError {
    /// A user tag (`--tag-custom`, `--tag-git-*` or `WERF_TAG_CUSTOM_*`) is not a docker
    /// tag. The text up to the optional env suffix is werf's own message.
    #[error(
        "bad {flag} parameter '{tag}' specified: docker tag should comply with regex \
         '^[\\w][\\w.-]*$' and be maximum 128 chars{}",
        env_suffix(.env_var)
    )]
    InvalidTag {
        /// The flag of the tag's strategy (`--tag-custom`, `--tag-git-branch`, ...).
        flag: &'static str,
        /// The tag as given.
        tag: String,
        /// The `WERF_TAG_CUSTOM_*` variable the tag came from, when not from a flag.
        env_var: Option<String>,
    },

    /// No tagging strategy was asked for.
    #[error(
        "no tag specified: use --tag-custom, --tag-git-branch, --tag-git-tag, \
         --tag-git-commit or --tag-by-stages-signature"
    )]
    NoTag,

    /// The only tag given was an empty value.
    #[error(
        "{flag} (or {env}) is empty, and no other tag was specified: give it a value (e.g. \
         the branch name, slugged with `werf-push slugify -f docker-tag NAME`), or use \
         another --tag-* flag"
    )]
    EmptyTag {
        /// The flag that was empty (`--tag-git-branch`, `--tag-git-tag`, ...).
        flag: &'static str,
        /// Its environment variable (`WERF_TAG_GIT_BRANCH`, ...).
        env: &'static str,
    },

    /// `--images-repo-mode` got something other than auto, multirepo or monorepo.
    #[error("bad --images-repo-mode '{value}' specified: use auto, multirepo or monorepo")]
    BadRepoMode {
        /// The value given.
        value: String,
    },

    /// `--images-repo` is not a usable repository address.
    #[error("bad --images-repo '{repo}' specified: {reason}")]
    InvalidRepo {
        /// The repo as given.
        repo: String,
        /// What is wrong with it, and how to fix it.
        reason: String,
    },

    /// Multirepo asked for a repo that already names a repository on a registry that
    /// cannot nest repositories (Docker Hub, Quay, GitHub Packages).
    #[error(
        "registry {registry} does not support nested repositories: {repo} already names a \
         repository ({shape}), so images can only be tags in it: use \
         --images-repo-mode=monorepo or auto"
    )]
    NestedRepoUnsupported {
        /// The registry host (`docker.io` for a repo without one).
        registry: String,
        /// The repo, trailing `/` trimmed.
        repo: String,
        /// The shape of a repository there (`ACCOUNT/REPOSITORY`, ...).
        shape: &'static str,
    },

    /// Monorepo asked for a repo that is a bare account on a registry that needs a
    /// repository under it (Docker Hub, Quay, GitHub Packages).
    #[error(
        "registry {registry} cannot hold images as tags of {repo}: it is {shape}; for \
         monorepo mode use {repo}/{missing}, or use --images-repo-mode=multirepo or auto"
    )]
    MonorepoNeedsRepository {
        /// The registry host (`docker.io` for a repo without one).
        registry: String,
        /// The repo, trailing `/` trimmed.
        repo: String,
        /// What the repo is there (`a bare account (ACCOUNT)`, ...).
        shape: &'static str,
        /// The path component it lacks (`REPOSITORY`, `PACKAGE`).
        missing: &'static str,
    },

    /// The repo has a path depth that the registry cannot hold in any mode.
    #[error(
        "bad --images-repo '{repo}' specified: registry {registry} takes {expected} after \
         the host, got {found} path component(s)"
    )]
    RepoPathShape {
        /// The registry host (`docker.io` for a repo without one).
        registry: String,
        /// The repo, trailing `/` trimmed.
        repo: String,
        /// The path shapes the registry takes, with their modes.
        expected: &'static str,
        /// Path components after the host in the repo.
        found: usize,
    },

    /// The reference an image and tag would be published as is not a valid reference.
    #[error(
        "cannot publish {} with tag '{tag}': reference '{reference}' is invalid: {reason}",
        image_display(.image)
    )]
    InvalidImageReference {
        /// `None` is the nameless image.
        image: Option<String>,
        /// The tag, without the monorepo prefix.
        tag: String,
        /// The reference it would be published as.
        reference: String,
        /// Why that reference is invalid, and how to fix it.
        reason: String,
    },

    /// `image: ~` together with named images.
    #[error(
        "a nameless image (image: ~) cannot be used together with named images ({}): name \
         it, or keep it as the only image",
        .named.join(", ")
    )]
    NamelessWithNamed {
        /// The named images.
        named: Vec<String>,
    },

    /// The same image name (or two nameless images) given twice.
    #[error("{} is defined more than once: image names must be unique", image_display(.image))]
    DuplicateImage {
        /// The name given twice; `None`: the nameless image.
        image: Option<String>,
    },

    /// werf.yaml still holds Go template markup.
    #[error(
        "werf.yaml at {} is a Go template ('{{{{' on line {line}): render it into another \
         directory and keep the stages storage where it is: `werf config render > \
         DIR/werf.yaml`, then `werf-push publish --dir DIR --stages-dir {}`",
        .path.display(),
        stages_beside(.path).display()
    )]
    ConfigTemplate {
        /// The werf.yaml read.
        path: PathBuf,
        /// 1-based line of the first `{{`.
        line: usize,
    },

    /// werf.yaml is not what werf would accept.
    #[error("{}: {message}", config_where(.path, .doc, .line))]
    Config {
        /// The werf.yaml read.
        path: PathBuf,
        /// 1-based number of the YAML document, when the problem is in one.
        doc: Option<usize>,
        /// 1-based line in the file, when known.
        line: Option<usize>,
        /// What is wrong, and how to fix it.
        message: String,
    },

    /// The stages storage cannot be read or breaks a rule of its format.
    #[error("{0}")]
    Stages(#[from] werf_push_stages::StoreError),

    /// The stages storage itself cannot be read.
    #[error("{0}")]
    Layout(#[from] werf_push_layout::LayoutError),

    /// An image of werf.yaml has no stages in the stages storage.
    #[error("{} is not built: the stages storage {} has no stages for it; build it first", image_display(.image), .path.display())]
    NotBuilt {
        /// The image; `None`: the nameless one.
        image: Option<String>,
        /// The stages storage.
        path: PathBuf,
    },

    /// A positional IMAGE_NAME names no image.
    #[error("image '{name}' is not defined (available: {available})")]
    UnknownImage {
        /// The name as given (`~`: the nameless image).
        name: String,
        /// The images there are, comma-separated.
        available: String,
    },

    /// Something publish or cleanup writes came out invalid: a reference that does not
    /// parse, or a stage's manifest that cannot be rewritten (relabelled, made OCI).
    #[error("{reference}: {source}")]
    Reference {
        /// The reference text, or the digest of the manifest.
        reference: String,
        /// What is wrong with it.
        #[source]
        source: werf_push_spec::SpecError,
    },

    /// Reading a file failed for a reason other than its absence.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
}

fn env_suffix(env_var: &Option<String>) -> String {
    match env_var {
        Some(name) => format!(" (from ${name})"),
        None => String::new(),
    }
}

fn image_display(image: &Option<String>) -> String {
    werf_push_stages::ImageName::from_option(image.clone()).describe()
}

fn config_where(path: &Path, doc: &Option<usize>, line: &Option<usize>) -> String {
    let mut s = format!("werf.yaml at {}", path.display());
    if let Some(doc) = doc {
        s.push_str(&format!(", document {doc}"));
    }
    if let Some(line) = line {
        s.push_str(&format!(" (line {line})"));
    }
    s
}

/// The stages storage of the project whose werf.yaml is `werf_yaml`: `DIR/.werf/stages`.
fn stages_beside(werf_yaml: &std::path::Path) -> PathBuf {
    let dir = match werf_yaml.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    dir.join(".werf").join("stages")
}

/// Test helper: `got` shown with `show` must equal `Ok(text)`, or its error message must
/// start with `Err(text)`.
#[cfg(test)]
pub(crate) fn assert_result<T>(
    label: &str,
    got: Result<T, WerfError>,
    show: impl Fn(&T) -> String,
    want: Result<&str, &str>,
) {
    match (got, want) {
        (Ok(v), Ok(w)) => assert_eq!(show(&v), w, "{label}"),
        (Err(e), Err(w)) => {
            let msg = e.to_string();
            assert!(msg.starts_with(w), "{label}:\n got {msg}\nwant {w}");
        }
        (Ok(v), Err(w)) => panic!("{label}: got Ok({}), want Err({w})", show(&v)),
        (Err(e), Ok(w)) => panic!("{label}: got Err({e}), want Ok({w})"),
    }
}

impl WerfError {
    /// The class of this failure (that of its cause where it wraps one).
    pub fn kind(&self) -> werf_push_spec::ErrorKind {
        match self {
            WerfError::Layout(l) => l.kind(),
            WerfError::Stages(s) => s.kind(),
            WerfError::NotBuilt { .. } => werf_push_spec::ErrorKind::Layout,
            WerfError::Reference { source, .. } => source.kind(),
            _ => werf_push_spec::ErrorKind::Usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let p = PathBuf::from("/p/werf.yaml");
        let cases: Vec<(WerfError, &str)> = vec![
            (
                WerfError::InvalidTag {
                    flag: "--tag-custom",
                    tag: "a/b".into(),
                    env_var: None,
                },
                "bad --tag-custom parameter 'a/b' specified: docker tag should comply with \
                 regex '^[\\w][\\w.-]*$' and be maximum 128 chars",
            ),
            (
                WerfError::InvalidTag {
                    flag: "--tag-custom",
                    tag: "".into(),
                    env_var: Some("WERF_TAG_CUSTOM_X".into()),
                },
                "bad --tag-custom parameter '' specified: docker tag should comply with \
                 regex '^[\\w][\\w.-]*$' and be maximum 128 chars (from $WERF_TAG_CUSTOM_X)",
            ),
            (
                WerfError::ConfigTemplate {
                    path: p.clone(),
                    line: 3,
                },
                "werf.yaml at /p/werf.yaml is a Go template ('{{' on line 3): render it into \
                 another directory and keep the stages storage where it is: `werf config \
                 render > DIR/werf.yaml`, then `werf-push publish --dir DIR --stages-dir \
                 /p/.werf/stages`",
            ),
            (
                WerfError::Config {
                    path: p.clone(),
                    doc: Some(2),
                    line: Some(7),
                    message: "m".into(),
                },
                "werf.yaml at /p/werf.yaml, document 2 (line 7): m",
            ),
            (
                WerfError::Config {
                    path: p,
                    doc: None,
                    line: None,
                    message: "m".into(),
                },
                "werf.yaml at /p/werf.yaml: m",
            ),
            (
                WerfError::DuplicateImage { image: None },
                "the nameless image is defined more than once: image names must be unique",
            ),
        ];
        for (i, (err, want)) in cases.iter().enumerate() {
            assert_eq!(err.to_string(), *want, "case {i}");
        }
    }
}
