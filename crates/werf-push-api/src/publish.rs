//! [`Publish`]: what `werf publish` is asked, built in a few calls: the project, its stages
//! storage, the repo, the tags (werf's strategies), which images, with or without stages.

use std::path::PathBuf;

use werf_push_werf::naming::RepoMode;
use werf_push_werf::publish::PublishRequest;
use werf_push_werf::tags::collect_tags;

use super::Error;

/// A werf project to publish with [`Client::publish`](crate::Client::publish).
#[derive(Debug, Clone)]
pub struct Publish {
    dir: PathBuf,
    stages_dir: PathBuf,
    repo: String,
    mode: RepoMode,
    custom: Vec<String>,
    git_branch: Option<String>,
    git_tag: Option<String>,
    git_commit: Option<String>,
    by_stages_signature: bool,
    only: Vec<String>,
    with_stages: bool,
}

impl Publish {
    /// The project in `dir` (its `werf.yaml`, if any, names the images), its stages storage
    /// at `stages_dir`, published to `repo` (`REGISTRY/PATH`), every image, no tag yet.
    pub fn new(dir: impl Into<PathBuf>, stages_dir: impl Into<PathBuf>, repo: &str) -> Self {
        Publish {
            dir: dir.into(),
            stages_dir: stages_dir.into(),
            repo: repo.to_string(),
            mode: RepoMode::Auto,
            custom: Vec::new(),
            git_branch: None,
            git_tag: None,
            git_commit: None,
            by_stages_signature: false,
            only: Vec::new(),
            with_stages: false,
        }
    }

    /// A custom tag (werf's `--tag-custom`); may be given several times.
    pub fn tag_custom(mut self, tag: &str) -> Self {
        self.custom.push(tag.to_string());
        self
    }

    /// A tag by git branch (`--tag-git-branch`), already a valid tag.
    pub fn tag_git_branch(mut self, branch: &str) -> Self {
        self.git_branch = Some(branch.to_string());
        self
    }

    /// A tag by git tag (`--tag-git-tag`).
    pub fn tag_git_tag(mut self, tag: &str) -> Self {
        self.git_tag = Some(tag.to_string());
        self
    }

    /// A tag by git commit (`--tag-git-commit`).
    pub fn tag_git_commit(mut self, commit: &str) -> Self {
        self.git_commit = Some(commit.to_string());
        self
    }

    /// Tag each image by its stages signature (`--tag-by-stages-signature`).
    pub fn tag_by_stages_signature(mut self, on: bool) -> Self {
        self.by_stages_signature = on;
        self
    }

    /// Publish only this image (`~` names the nameless image); may be given several
    /// times. Default: every image.
    pub fn image(mut self, name: &str) -> Self {
        self.only.push(name.to_string());
        self
    }

    /// werf's images repo mode (default: auto, werf's per-registry rules).
    pub fn repo_mode(mut self, mode: RepoMode) -> Self {
        self.mode = mode;
        self
    }

    /// Also push every stage of the published images as `REPO:image-stage-<signature>`.
    pub fn with_stages(mut self, on: bool) -> Self {
        self.with_stages = on;
        self
    }

    /// The request of the publish plan; the tags checked (each must be a docker tag).
    pub(crate) fn request(&self) -> Result<PublishRequest, Error> {
        let tags = collect_tags(
            &self.custom,
            std::iter::empty(),
            self.git_branch.as_deref(),
            self.git_tag.as_deref(),
            self.git_commit.as_deref(),
            self.by_stages_signature,
        )?;
        let mut req = PublishRequest::new(&self.dir, &self.stages_dir, self.repo.clone(), tags);
        req.mode = self.mode;
        req.only = self.only.clone();
        req.with_stages = self.with_stages;
        Ok(req)
    }
}
