//! The scan of cleanup and purge: the tags of each repository (pagination followed,
//! bounded by `Registry::list_tags`), then what deciding needs, each read once and all at
//! once under the transport's bound on requests in flight (`--requests`):
//! 1. each tag's manifest, `GET` by tag (one request gives the digest and the bytes; a
//!    `HEAD` first would add a round trip for every tag whose digest is new, which is
//!    nearly every tag: stage and image digests are unique by construction);
//! 2. the children of multi-platform indexes, `GET` by digest, once per distinct digest;
//! 3. the configs of the image manifests of tags that may be werf images (not of
//!    `image-stage-*` tags: a stage is known by its tag, its ancestry by its layers), once
//!    per distinct config.
//!
//! A tag that vanished while scanning is left out; a config too large, unreadable or not
//! JSON makes its tag "not werf's" (kept), never an error that stops the cleanup.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use super::error::CleanupError;
use super::stages::Chain;
use werf_push_registry::Registry;
use werf_push_spec::{Descriptor, Digest, Manifest, ManifestKind};
use werf_push_transport::Limit;

/// The most tags of one repository a cleanup lists: more is a registry paging forever
/// (each page new names), and the listing stops there, before it fills memory.
pub(crate) const MAX_TAGS: usize = 1_000_000;

/// Reads started at once; the transport's `--requests` bound is what limits them.
const READS: usize = 512;

/// One tag and what it holds.
#[derive(Debug, Clone)]
pub(crate) struct ScannedTag {
    /// The repository path (without the registry host).
    pub(crate) repository: String,
    /// The tag's name, as the tag list gave it.
    pub(crate) tag: String,
    /// The manifest the tag pointed at, as read.
    pub(crate) manifest: Manifest,
}

/// What the image manifests of one tag hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct Contents {
    /// The layers of each image manifest.
    pub(crate) chains: Vec<Chain>,
    /// Every blob (configs and layers) with its size.
    pub(crate) blobs: Vec<(Digest, u64)>,
    /// The configs of the image manifests.
    pub(crate) configs: Vec<Descriptor>,
}

/// A config's labels and creation time.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigInfo {
    /// `config.Labels` (string values only); empty when it could not be read.
    pub(crate) labels: BTreeMap<String, String>,
    /// `created`, in unix seconds.
    pub(crate) created: Option<i64>,
}

/// Everything the scan read.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Every tag found, sorted by repository and tag.
    pub(crate) tags: Vec<ScannedTag>,
    /// Child manifests of indexes, by digest.
    pub(crate) children: HashMap<Digest, Manifest>,
    /// Configs of possible werf images, by digest.
    pub(crate) configs: HashMap<Digest, ConfigInfo>,
    /// Manifest reads made (tag-list pages are counted by the transport).
    pub(crate) manifest_reads: usize,
    /// Config reads made.
    pub(crate) config_reads: usize,
}

impl Scan {
    /// The image manifests of `m` (itself, or the children of an index) and their blobs.
    pub(crate) fn contents(&self, m: &Manifest) -> Contents {
        let mut c = Contents::default();
        let mut add = |m: &Manifest| {
            if let ManifestKind::Image { config, layers } = &m.kind() {
                c.chains
                    .push(layers.iter().map(|l| l.digest.clone()).collect());
                c.blobs.push((config.digest.clone(), config.size));
                c.blobs
                    .extend(layers.iter().map(|l| (l.digest.clone(), l.size)));
                c.configs.push(config.clone());
            }
        };
        match &m.kind() {
            ManifestKind::Image { .. } => add(m),
            ManifestKind::Index { manifests } => {
                for d in manifests {
                    if let Some(child) = self.children.get(&d.digest) {
                        add(child);
                    }
                }
            }
        }
        c
    }
}

/// Scans `repositories` of `reg`; configs are read for tags `wants_config` accepts.
pub(crate) async fn scan(
    reg: &Registry,
    repositories: &[String],
    page_size: Option<usize>,
    wants_config: impl Fn(&str, &str) -> bool,
) -> Result<Scan, CleanupError> {
    let wanted = list_tags(reg, repositories, page_size).await?;
    let mut scan = Scan::default();
    read_manifests(reg, wanted, &mut scan).await?;
    read_children(reg, &mut scan).await?;
    read_configs(reg, &mut scan, wants_config).await;
    Ok(scan)
}

/// Every (repository, tag) of `repositories`, each tag once per repository.
async fn list_tags(
    reg: &Registry,
    repositories: &[String],
    page_size: Option<usize>,
) -> Result<Vec<(String, String)>, CleanupError> {
    let lists = stream::iter(repositories.iter().map(|r| async move {
        let tags = reg
            .list_tags(r, page_size, "tags", MAX_TAGS, |_| true)
            .await
            .map_err(|source| CleanupError::Registry {
                context: format!("listing the tags of {r}"),
                source,
            })?
            .unwrap_or_default();
        Ok::<_, CleanupError>((r.clone(), tags))
    }))
    .buffer_unordered(READS)
    .collect::<Vec<_>>()
    .await;
    let mut wanted = Vec::new();
    for l in lists {
        let (repo, tags) = l?;
        let mut seen = HashSet::new();
        wanted.extend(
            tags.into_iter()
                .filter(|t| seen.insert(t.clone()))
                .map(|t| (repo.clone(), t)),
        );
    }
    Ok(wanted)
}

/// 1. Each tag's manifest, `GET` by tag, into `scan.tags` (sorted by repository and tag);
///    a tag gone meanwhile is left out.
async fn read_manifests(
    reg: &Registry,
    wanted: Vec<(String, String)>,
    scan: &mut Scan,
) -> Result<(), CleanupError> {
    let read = stream::iter(wanted.into_iter().map(|(repo, tag)| async move {
        let m = reg
            .get_manifest(&repo, &tag)
            .await
            .map_err(|source| CleanupError::Registry {
                context: format!("reading {repo}:{tag}"),
                source,
            })?;
        Ok::<_, CleanupError>(m.map(|manifest| ScannedTag {
            repository: repo,
            tag,
            manifest,
        }))
    }))
    .buffer_unordered(READS)
    .collect::<Vec<_>>()
    .await;
    for r in read {
        scan.manifest_reads += 1;
        scan.tags.extend(r?);
    }
    scan.tags
        .sort_by(|a, b| (&a.repository, &a.tag).cmp(&(&b.repository, &b.tag)));
    Ok(())
}

/// 2. The children of the indexes of `scan.tags`, `GET` by digest once per digest (from
///    the first repository that refers to it), into `scan.children`.
async fn read_children(reg: &Registry, scan: &mut Scan) -> Result<(), CleanupError> {
    let mut children: HashMap<Digest, String> = HashMap::new();
    for t in &scan.tags {
        if let ManifestKind::Index { manifests } = &t.manifest.kind() {
            for d in manifests {
                children
                    .entry(d.digest.clone())
                    .or_insert_with(|| t.repository.clone());
            }
        }
    }
    let read = stream::iter(children.into_iter().map(|(d, repo)| async move {
        let m = reg.get_manifest(&repo, &d.to_string()).await;
        (d, repo, m)
    }))
    .buffer_unordered(READS)
    .collect::<Vec<_>>()
    .await;
    for (d, repo, m) in read {
        scan.manifest_reads += 1;
        match m {
            Ok(Some(m)) => {
                scan.children.insert(d, m);
            }
            Ok(None) => {}
            Err(source) => {
                return Err(CleanupError::Registry {
                    context: format!("reading {repo}@{d}"),
                    source,
                })
            }
        }
    }
    Ok(())
}

/// 3. The configs of the tags `wants_config` accepts, once per config, into
///    `scan.configs`; a config that cannot be read or is not JSON has no labels.
async fn read_configs(reg: &Registry, scan: &mut Scan, wants_config: impl Fn(&str, &str) -> bool) {
    let mut configs: HashMap<Digest, (Descriptor, String)> = HashMap::new();
    for t in scan
        .tags
        .iter()
        .filter(|t| wants_config(&t.repository, &t.tag))
    {
        for c in scan.contents(&t.manifest).configs {
            configs
                .entry(c.digest.clone())
                .or_insert_with(|| (c, t.repository.clone()));
        }
    }
    let read = stream::iter(configs.into_values().map(|(d, repo)| async move {
        let info = match reg
            .get_small_blob(&repo, &d, Limit::MANIFEST.max as u64)
            .await
        {
            Ok(bytes) => config_info(&bytes),
            Err(_) => ConfigInfo::default(),
        };
        (d.digest, info)
    }))
    .buffer_unordered(READS)
    .collect::<Vec<_>>()
    .await;
    for (d, info) in read {
        scan.config_reads += 1;
        scan.configs.insert(d, info);
    }
}

/// Labels and `created` of a config's bytes.
fn config_info(bytes: &[u8]) -> ConfigInfo {
    let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
        return ConfigInfo::default();
    };
    let labels = v["config"]["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    ConfigInfo {
        labels,
        created: v["created"].as_str().and_then(super::time::parse_rfc3339),
    }
}
