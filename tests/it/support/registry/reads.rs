//! What the tests read from a running registry with the harness's own client: raw GET,
//! HEAD and other requests with the configured credentials, and tags, manifests and blobs.

use super::{basic, header, http_request, HttpResponse, Registry, MANIFEST_ACCEPT};

impl Registry {
    /// GET `path` (starting with `/`) on this registry, with the configured credentials.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        self.request("GET", path, headers)
    }

    /// HEAD `path` on this registry, with the configured credentials.
    pub fn head(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        self.request("HEAD", path, headers)
    }

    /// Any method on this registry with an empty body, with the configured credentials.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        let auth = self
            .credentials
            .as_ref()
            .map(|(u, p)| format!("Basic {}", basic(u, p)));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = &auth {
            all.push(("Authorization", a));
        }
        http_request(method, &format!("{}{path}", self.url()), &all, &[])
    }

    /// Whether `repo:tag` resolves (HEAD manifest with every manifest type accepted).
    /// Panics on any answer but 200 and 404 (e.g. 401 on an auth registry without credentials).
    pub fn tag_exists(&self, repo: &str, tag: &str) -> bool {
        self.manifest_digest(repo, tag).is_some()
    }

    /// The `Docker-Content-Digest` of `repo:reference` (tag or digest), None when unknown.
    pub fn manifest_digest(&self, repo: &str, reference: &str) -> Option<String> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let (status, headers, body) = self.head(&path, &[("Accept", MANIFEST_ACCEPT)]);
        match status {
            200 => Some(
                header(&headers, "Docker-Content-Digest")
                    .unwrap_or_else(|| panic!("HEAD {path}: no Docker-Content-Digest: {headers:?}"))
                    .to_string(),
            ),
            404 => None,
            _ => panic!(
                "HEAD {path}: unexpected {status}: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }

    /// `(Content-Type, bytes)` of `repo:reference`, None when unknown.
    pub fn manifest(&self, repo: &str, reference: &str) -> Option<(String, Vec<u8>)> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let (status, headers, body) = self.get(&path, &[("Accept", MANIFEST_ACCEPT)]);
        match status {
            200 => Some((
                header(&headers, "Content-Type").unwrap_or("").to_string(),
                body,
            )),
            404 => None,
            _ => panic!(
                "GET {path}: unexpected {status}: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }

    /// Whether blob `digest` (`sha256:...`) is in `repo`.
    pub fn blob_exists(&self, repo: &str, digest: &str) -> bool {
        let path = format!("/v2/{repo}/blobs/{digest}");
        let (status, _, body) = self.head(&path, &[]);
        match status {
            200 => true,
            404 => false,
            _ => panic!(
                "HEAD {path}: unexpected {status}: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }

    /// Tags of `repo` (`GET /v2/<repo>/tags/list`), sorted; empty for an unknown repository.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let path = format!("/v2/{repo}/tags/list");
        let (status, _, body) = self.get(&path, &[]);
        match status {
            200 => {
                let v: serde_json::Value = serde_json::from_slice(&body)
                    .unwrap_or_else(|e| panic!("GET {path}: bad JSON ({e}): {body:?}"));
                sorted_tags(&v, "tags")
            }
            404 => Vec::new(),
            _ => panic!(
                "GET {path}: unexpected {status}: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }
}

/// The strings of a tag list's `key` array (`tags` in the registry's answer, `Tags` in
/// skopeo's), sorted; none when it is missing.
pub fn sorted_tags(v: &serde_json::Value, key: &str) -> Vec<String> {
    let mut tags: Vec<String> = v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    tags
}
