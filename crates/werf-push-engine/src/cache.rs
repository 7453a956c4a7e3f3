//! The known-blob cache: per registry, which repositories hold which blob digests, learned
//! from this machine's earlier pushes, kept in one JSON file in the user's cache directory
//! (`$WERF_PUSH_CACHE_DIR`, else `$XDG_CACHE_HOME/werf-push`, else `~/.cache/werf-push`).
//! It only proposes mount sources: the registry's answer to the mount decides, so a stale
//! entry costs one mount attempt that turns into a normal upload (distribution answers a
//! failed mount with an upload session) and is then forgotten.
//!
//! Bounded: at most `MAX_ENTRIES` (registry, digest, repository) entries, the least
//! recently used dropped first, and `MAX_HOLDERS` repositories per digest. Safe under
//! concurrent processes: readers read a file that is only ever replaced by rename; writers
//! take an exclusive `flock` on a lock file, re-read, merge their changes, write a
//! temporary file and rename it into place. Any cache failure is logged and ignored: the
//! cache never fails a push. Knows nothing of HTTP or of the CLI.

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Most (registry, digest, repository) entries kept.
pub(crate) const MAX_ENTRIES: usize = 20_000;
/// Most repositories remembered per (registry, digest).
pub(crate) const MAX_HOLDERS: usize = 4;
/// Mount candidates offered per blob.
pub(crate) const MAX_CANDIDATES: usize = 2;
/// How long a writer waits for another process's lock before giving up saving.
const LOCK_WAIT: Duration = Duration::from_secs(5);

const FILE: &str = "known-blobs.json";
const LOCK: &str = "known-blobs.lock";

/// registry -> digest -> repository -> last seen (seconds since the epoch).
type Map = BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>>;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Data {
    version: u32,
    registries: Map,
}

/// What one run changes, merged into the file at [`KnownBlobs::save`].
#[derive(Debug, Default)]
struct Changes {
    learned: Vec<(String, String, String)>,
    forgotten: Vec<(String, String, String)>,
}

/// The cache as read at the start of a run, and what the run learned.
#[derive(Debug)]
pub(crate) struct KnownBlobs {
    dir: PathBuf,
    data: Data,
    changes: Mutex<Changes>,
}

/// The default cache directory: `$WERF_PUSH_CACHE_DIR`, else `$XDG_CACHE_HOME/werf-push`,
/// else `$HOME/.cache/werf-push`; `None` when none of them is set. The environment comes
/// from the caller as a lookup function (the library reads no environment variable: a
/// program passes `|k| std::env::var_os(k)`).
pub fn default_dir(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("WERF_PUSH_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("werf-push")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("werf-push")))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The cache file is ignored above this size.
const MAX_FILE: u64 = 64 << 20;

/// The cache file: a regular file (never a FIFO, which would block), at most `MAX_FILE`.
fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = werf_push_layout::safe_fs::open_regular(path)?;
    let mut buf = Vec::new();
    f.take(MAX_FILE + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_FILE {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_FILE} bytes"
        )));
    }
    Ok(buf)
}

fn read(dir: &Path) -> Data {
    let path = dir.join(FILE);
    match read_file(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::debug!(
                "known-blob cache {}: unreadable ({e}); starting empty",
                path.display()
            );
            Data::default()
        }),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::debug!(
                    "known-blob cache {}: not read ({e}); starting empty",
                    path.display()
                );
            }
            Data::default()
        }
    }
}

impl KnownBlobs {
    /// Reads the cache in `dir` (missing or unreadable: empty).
    pub(crate) fn load(dir: &Path) -> KnownBlobs {
        KnownBlobs {
            dir: dir.to_path_buf(),
            data: read(dir),
            changes: Mutex::default(),
        }
    }

    /// Repositories of `registry` believed to hold `digest`, most recently seen first.
    pub(crate) fn candidates(&self, registry: &str, digest: &str) -> Vec<String> {
        let Some(holders) = self
            .data
            .registries
            .get(registry)
            .and_then(|r| r.get(digest))
        else {
            return Vec::new();
        };
        let mut v: Vec<(&String, &u64)> = holders.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.into_iter()
            .take(MAX_CANDIDATES)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// `repository` of `registry` holds `digest` (confirmed by the registry in this run).
    pub(crate) fn learn(&self, registry: &str, repository: &str, digest: &str) {
        self.changes.lock().expect("cache lock").learned.push((
            registry.to_string(),
            digest.to_string(),
            repository.to_string(),
        ));
    }

    /// `repository` turned out not to hold `digest` (a mount from it failed).
    pub(crate) fn forget(&self, registry: &str, repository: &str, digest: &str) {
        self.changes.lock().expect("cache lock").forgotten.push((
            registry.to_string(),
            digest.to_string(),
            repository.to_string(),
        ));
    }

    /// Learns from a run's blob records (uploaded, mounted or found present) and from
    /// repositories whose tags were up to date (`known`), forgets the cache's candidates of
    /// blobs that had to be uploaded anyway (`offered`), and saves.
    pub(crate) fn record(
        &self,
        blobs: &[super::BlobRecord],
        known: &std::collections::HashMap<(String, werf_push_spec::Digest), Vec<String>>,
        offered: &std::collections::HashMap<(String, werf_push_spec::Digest), Vec<String>>,
    ) {
        use super::BlobStatus as S;
        for b in blobs {
            let digest = b.digest.to_string();
            match b.status {
                S::Pushed | S::Mounted | S::Skipped => {
                    self.learn(&b.registry, &b.repository, &digest)
                }
                S::WouldPush | S::WouldMount => continue,
            }
            if b.status == S::Pushed {
                for r in offered
                    .get(&(b.registry.clone(), b.digest.clone()))
                    .into_iter()
                    .flatten()
                {
                    self.forget(&b.registry, r, &digest);
                }
            }
        }
        for ((registry, digest), repos) in known {
            for r in repos {
                self.learn(registry, r, &digest.to_string());
            }
        }
        self.save();
    }

    /// Merges this run's changes into the file under the lock; failures are logged only.
    pub(crate) fn save(&self) {
        let changes = std::mem::take(&mut *self.changes.lock().expect("cache lock"));
        if changes.learned.is_empty() && changes.forgotten.is_empty() {
            return;
        }
        if let Err(e) = self.merge(changes) {
            tracing::debug!("known-blob cache {}: not saved: {e}", self.dir.display());
        }
    }

    fn merge(&self, changes: Changes) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let lock = werf_push_layout::safe_fs::open_control(&self.dir.join(LOCK))?;
        let started = Instant::now();
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(std::io::Error::other("locked by another process"))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
        let mut data = read(&self.dir);
        apply(&mut data.registries, changes, now());
        trim(&mut data.registries);
        data.version = 1;
        let bytes = serde_json::to_vec(&data).map_err(std::io::Error::other)?;
        let r = werf_push_layout::safe_fs::replace_file(&self.dir.join(FILE), &bytes);
        drop(lock);
        r
    }
}

fn apply(map: &mut Map, changes: Changes, now: u64) {
    for (reg, digest, repo) in changes.forgotten {
        if let Some(d) = map.get_mut(&reg).and_then(|r| r.get_mut(&digest)) {
            d.remove(&repo);
        }
    }
    for (reg, digest, repo) in changes.learned {
        let holders = map.entry(reg).or_default().entry(digest).or_default();
        holders.insert(repo, now);
        while holders.len() > MAX_HOLDERS {
            let oldest = holders
                .iter()
                .min_by_key(|(r, t)| (**t, (*r).clone()))
                .map(|(r, _)| r.clone());
            match oldest {
                Some(r) => holders.remove(&r),
                None => break,
            };
        }
    }
}

/// Drops the least recently seen entries beyond [`MAX_ENTRIES`], and empty maps.
fn trim(map: &mut Map) {
    let total: usize = map.values().flat_map(|r| r.values()).map(|h| h.len()).sum();
    if total > MAX_ENTRIES {
        let mut all: Vec<(u64, String, String, String)> = map
            .iter()
            .flat_map(|(reg, r)| {
                r.iter().flat_map(move |(d, h)| {
                    h.iter()
                        .map(move |(repo, t)| (*t, reg.clone(), d.clone(), repo.clone()))
                })
            })
            .collect();
        all.sort_unstable();
        for (_, reg, d, repo) in all.into_iter().take(total - MAX_ENTRIES) {
            if let Some(h) = map.get_mut(&reg).and_then(|r| r.get_mut(&d)) {
                h.remove(&repo);
            }
        }
    }
    for r in map.values_mut() {
        r.retain(|_, h| !h.is_empty());
    }
    map.retain(|_, r| !r.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The environment given (name, value) -> the directory chosen; nothing read from this
    /// process's environment.
    #[test]
    fn default_dir_table() {
        type Case = (
            &'static [(&'static str, &'static str)],
            Option<&'static str>,
        );
        let cases: [Case; 6] = [
            (&[], None),
            (&[("HOME", "/h")], Some("/h/.cache/werf-push")),
            (
                &[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")],
                Some("/x/werf-push"),
            ),
            (
                &[
                    ("HOME", "/h"),
                    ("XDG_CACHE_HOME", "/x"),
                    ("WERF_PUSH_CACHE_DIR", "/w"),
                ],
                Some("/w"),
            ),
            (
                &[("HOME", "/h"), ("WERF_PUSH_CACHE_DIR", "")],
                Some("/h/.cache/werf-push"),
            ),
            (&[("XDG_CACHE_HOME", ""), ("HOME", "")], None),
        ];
        for (env, want) in cases {
            let got = default_dir(|k| {
                env.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            });
            assert_eq!(got, want.map(PathBuf::from), "{env:?}");
        }
    }

    fn entries(map: &Map) -> usize {
        map.values().flat_map(|r| r.values()).map(|h| h.len()).sum()
    }

    #[test]
    fn learn_forget_and_bounds_table() {
        // (learned repositories in order, forgotten, expected candidates)
        let cases: Vec<(Vec<&str>, Vec<&str>, Vec<&str>)> = vec![
            (vec!["a"], vec![], vec!["a"]),
            (vec!["a", "b"], vec!["a"], vec!["b"]),
            (vec![], vec!["a"], vec![]),
            (vec!["a", "b", "c", "d", "e", "f"], vec![], vec!["e", "f"]),
        ];
        for (learned, forgotten, want) in cases {
            let mut map = Map::new();
            for (i, r) in learned.iter().enumerate() {
                let mut c = Changes::default();
                c.learned
                    .push(("reg".into(), "sha256:a".into(), r.to_string()));
                apply(&mut map, c, i as u64);
            }
            let mut c = Changes::default();
            for r in &forgotten {
                c.forgotten
                    .push(("reg".into(), "sha256:a".into(), r.to_string()));
            }
            apply(&mut map, c, 100);
            trim(&mut map);
            let kb = KnownBlobs {
                dir: PathBuf::new(),
                data: Data {
                    version: 1,
                    registries: map.clone(),
                },
                changes: Mutex::default(),
            };
            let mut got = kb.candidates("reg", "sha256:a");
            got.sort();
            assert_eq!(got, want, "learned {learned:?} forgotten {forgotten:?}");
            assert!(entries(&map) <= MAX_HOLDERS);
        }
    }

    #[test]
    fn trim_keeps_the_most_recent() {
        let mut map = Map::new();
        let mut c = Changes::default();
        for i in 0..MAX_ENTRIES + 10 {
            c.learned
                .push(("reg".into(), format!("sha256:{i}"), "repo".into()));
        }
        apply(&mut map, c, 1);
        let mut c = Changes::default();
        c.learned
            .push(("reg".into(), "sha256:new".into(), "repo".into()));
        apply(&mut map, c, 2);
        trim(&mut map);
        assert_eq!(entries(&map), MAX_ENTRIES);
        assert!(map["reg"].contains_key("sha256:new"));
    }
}
