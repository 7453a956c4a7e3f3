//! Images in use (`--keep-images-used-by FILE|-`), pure: the JSON `kubectl get
//! pods,deployments,statefulsets,daemonsets,jobs,cronjobs,replicationcontrollers -A -o json`
//! prints (every `image` string anywhere in it: containers, init and ephemeral containers of
//! any workload's pod template; and every digest in an `imageID` of a pod's status), or a
//! plain list of references, one a line (`#` starts a comment). A tag is in use when its
//! reference (registry, repository and tag) or its manifest digest appears.

use std::collections::HashSet;

use serde_json::Value;

use werf_push_spec::{Digest, Reference};

/// Deepest JSON nesting walked (kubectl's output is far shallower).
const MAX_DEPTH: usize = 64;

/// References and digests in use (`InUse::default()`: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InUse {
    /// (registry, repository, tag), as `Reference` normalises them; a reference with
    /// neither tag nor digest counts as `latest`.
    pub references: HashSet<(String, String, String)>,
    /// Manifest digests (of `repo@sha256:...` references and pods' `imageID`s).
    pub digests: HashSet<Digest>,
}

impl InUse {
    /// Reads `text`: kubectl's JSON when it starts with `{`, else a list.
    pub fn parse(text: &str) -> Result<InUse, String> {
        let mut u = InUse::default();
        if text.trim_start().starts_with('{') {
            let v: Value = serde_json::from_str(text)
                .map_err(|e| format!("not the JSON of `kubectl get ... -o json`: {e}"))?;
            u.walk(&v, 0);
        } else {
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or("").trim();
                if !line.is_empty() {
                    u.add(line);
                }
            }
        }
        Ok(u)
    }

    fn walk(&mut self, v: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("image" | "imageID", Value::String(s)) => self.add(s),
                        _ => self.walk(v, depth + 1),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| self.walk(v, depth + 1)),
            _ => {}
        }
    }

    /// One reference: `repo:tag`, `repo@sha256:...`, `docker-pullable://repo@sha256:...`,
    /// or a bare digest.
    fn add(&mut self, s: &str) {
        let s = s.split_once("://").map_or(s, |(_, rest)| rest);
        if let Some(at) = s.find("sha256:") {
            if let Ok(d) = Digest::parse(&s[at..]) {
                self.digests.insert(d);
            }
        }
        if let Ok(r) = Reference::parse(s) {
            // A reference with neither tag nor digest is `:latest`, as kubelet pulls it.
            let tag = match (r.tag, &r.digest) {
                (Some(t), _) => Some(t),
                (None, None) => Some("latest".to_string()),
                (None, Some(_)) => None,
            };
            if let Some(tag) = tag {
                self.references.insert((r.registry, r.repository, tag));
            }
        }
    }

    /// Whether `repository:tag` (as `registry/repository`) or `digest` is in use.
    pub fn contains(&self, registry: &str, repository: &str, tag: &str, digest: &Digest) -> bool {
        self.digests.contains(digest)
            || self
                .references
                .contains(&(registry.into(), repository.into(), tag.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL: &str = r#"{
      "apiVersion": "v1", "kind": "List",
      "items": [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "prod"},
         "spec": {"containers": [{"name": "web", "image": "registry.example.com/app/web:main"}],
                  "initContainers": [{"name": "init", "image": "registry.example.com/app/init:v1"}]},
         "status": {"containerStatuses": [{"name": "web", "image": "registry.example.com/app/web:main",
            "imageID": "docker-pullable://registry.example.com/app/web@sha256:1111111111111111111111111111111111111111111111111111111111111111"}]}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
         "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
            {"name": "job", "image": "registry.example.com/app@sha256:2222222222222222222222222222222222222222222222222222222222222222"}]}}}}}}
      ]
    }"#;

    #[test]
    fn in_use_table() {
        let d = |c: char| Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap();
        let list =
            "registry.example.com/app/web:main\n# a comment\n\nlocalhost:5000/x:v2 # trailing\n";
        let cases: Vec<(&str, &str, &str, &str, Digest, bool)> = vec![
            (
                KUBECTL,
                "registry.example.com",
                "app/web",
                "main",
                d('9'),
                true,
            ),
            (
                KUBECTL,
                "registry.example.com",
                "app/init",
                "v1",
                d('9'),
                true,
            ),
            (
                KUBECTL,
                "registry.example.com",
                "app/web",
                "other",
                d('1'),
                true,
            ),
            (KUBECTL, "registry.example.com", "app", "x", d('2'), true),
            (
                KUBECTL,
                "registry.example.com",
                "app/web",
                "dev",
                d('9'),
                false,
            ),
            (
                list,
                "registry.example.com",
                "app/web",
                "main",
                d('9'),
                true,
            ),
            (list, "localhost:5000", "x", "v2", d('9'), true),
            (list, "localhost:5000", "x", "v3", d('9'), false),
            (
                "localhost:5000/y",
                "localhost:5000",
                "y",
                "latest",
                d('9'),
                true,
            ),
        ];
        for (text, reg, repo, tag, digest, want) in cases {
            let u = InUse::parse(text).unwrap();
            assert_eq!(u.contains(reg, repo, tag, &digest), want, "{repo}:{tag}");
        }
        assert!(InUse::parse("{ not json").is_err());
    }
}
