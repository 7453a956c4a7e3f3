//! Token scopes a request needs, derived from its URL (documented in docs/auth.md):
//! `/v2/<name>/(blobs|manifests|tags)/...` needs `repository:<name>:pull,push` (one token
//! per repository serves the whole push, HEADs included; a registry grants what the
//! account may), `DELETE` needs `repository:<name>:delete`, and a mount
//! (`?mount=<digest>&from=<source>`) needs `repository:<source>:pull` too. A request
//! outside `/v2/<name>/` (Google Artifact Registry's upload Locations under
//! `/artifacts-uploads/`) takes the repository its caller names. Some registries (GitLab)
//! grant deleting only to the scope `repository:<name>:*`: [`wildcard_delete`] gives the
//! scopes to ask for when the token for `delete` is refused. Pure.

use std::fmt;

/// `repository:<name>:<actions>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    /// The repository path (`group/app`).
    pub repository: String,
    /// In the order sent (`pull,push`).
    pub actions: Vec<String>,
}

impl Scope {
    /// The scope of `actions` (`pull`, `push`, `delete`, `*`) on `repository`.
    pub fn new(repository: &str, actions: &[&str]) -> Scope {
        Scope {
            repository: repository.to_string(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "repository:{}:{}",
            self.repository,
            self.actions.join(",")
        )
    }
}

/// The repository of an API path: the part between `/v2/` and the last `/blobs/`,
/// `/manifests/` or `/tags/` (a repository may itself contain those words as components).
pub(crate) fn repository_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v2/")?;
    let end = ["/blobs/", "/manifests/", "/tags/"]
        .iter()
        .filter_map(|m| rest.rfind(m))
        .max()?;
    Some(&rest[..end]).filter(|r| !r.is_empty())
}

/// The scopes a request needs, sorted (the token cache key); empty for paths outside a
/// repository (`/v2/`).
pub(crate) fn scopes_for(
    method: &str,
    path: &str,
    query: impl IntoIterator<Item = (String, String)>,
) -> Vec<Scope> {
    let Some(repo) = repository_of(path) else {
        return Vec::new();
    };
    let mut scopes = vec![if method.eq_ignore_ascii_case("DELETE") {
        Scope::new(repo, &["delete"])
    } else {
        Scope::new(repo, &["pull", "push"])
    }];
    if method.eq_ignore_ascii_case("POST") {
        let q: Vec<(String, String)> = query.into_iter().collect();
        let has_mount = q.iter().any(|(k, _)| k == "mount");
        if let Some((_, from)) = q.iter().find(|(k, _)| k == "from") {
            if has_mount && !from.is_empty() && from != repo {
                scopes.push(Scope::new(from, &["pull"]));
            }
        }
    }
    scopes.sort();
    scopes
}

/// `scopes_for`, falling back to `repository` (named by the caller) for paths that do
/// not say their repository.
pub fn scopes_for_request(
    method: &str,
    path: &str,
    query: impl IntoIterator<Item = (String, String)>,
    repository: Option<&str>,
) -> Vec<Scope> {
    let scopes = scopes_for(method, path, query);
    match repository {
        Some(repo) if scopes.is_empty() && !repo.is_empty() => {
            scopes_for(method, &format!("/v2/{repo}/blobs/uploads/"), [])
        }
        _ => scopes,
    }
}

/// The scopes to ask for instead of `scopes` when a token for them was refused: every scope
/// asking for `delete` asks for `*` (all actions) instead; `None` when none asks for
/// `delete`. GitLab grants deletion to `*` only in some setups (werf v1.1 falls back so).
pub fn wildcard_delete(scopes: &[Scope]) -> Option<Vec<Scope>> {
    if !scopes
        .iter()
        .any(|s| s.actions.iter().any(|a| a == "delete"))
    {
        return None;
    }
    let mut wide: Vec<Scope> = scopes
        .iter()
        .map(|s| {
            if s.actions.iter().any(|a| a == "delete") {
                Scope::new(&s.repository, &["*"])
            } else {
                s.clone()
            }
        })
        .collect();
    wide.sort();
    Some(wide)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_delete_table() {
        let cases: [(&[Scope], Option<Vec<&str>>); 3] = [
            (
                &[Scope::new("group/app", &["delete"])],
                Some(vec!["repository:group/app:*"]),
            ),
            (&[Scope::new("app", &["pull", "push"])], None),
            (
                &[
                    Scope::new("a", &["pull"]),
                    Scope::new("b", &["pull", "delete"]),
                ],
                Some(vec!["repository:a:pull", "repository:b:*"]),
            ),
        ];
        for (scopes, want) in cases {
            let got = wildcard_delete(scopes)
                .map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, want, "{scopes:?}");
        }
    }

    #[test]
    fn named_repository_table() {
        // (method, path, named repository, scopes wanted)
        let cases = [
            (
                "PUT",
                "/artifacts-uploads/namespaces/p/u1",
                Some("app"),
                vec!["repository:app:pull,push"],
            ),
            (
                "PATCH",
                "/v2/a/blobs/uploads/u",
                Some("other"),
                vec!["repository:a:pull,push"],
            ),
            (
                "DELETE",
                "/artifacts-uploads/u",
                Some("app"),
                vec!["repository:app:delete"],
            ),
            ("PUT", "/artifacts-uploads/u", None, vec![]),
        ];
        for (method, path, repo, want) in cases {
            let got: Vec<String> = scopes_for_request(method, path, [], repo)
                .iter()
                .map(|s| s.to_string())
                .collect();
            assert_eq!(got, want, "{method} {path}");
        }
    }

    #[test]
    fn repository_table() {
        let cases = [
            ("/v2/app/blobs/sha256:ab", Some("app")),
            ("/v2/group/app/blobs/uploads/", Some("group/app")),
            ("/v2/group/app/blobs/uploads/1234-uuid", Some("group/app")),
            ("/v2/a/manifests/v1", Some("a")),
            ("/v2/a/tags/list", Some("a")),
            ("/v2/x/blobs/y/manifests/tag", Some("x/blobs/y")),
            ("/v2/x/manifests/y/blobs/uploads/", Some("x/manifests/y")),
            ("/v2/", None),
            ("/v2/_catalog", None),
            ("/artifacts-uploads/namespaces/p/u3", None),
        ];
        for (path, want) in cases {
            assert_eq!(repository_of(path), want, "{path}");
        }
    }

    #[test]
    fn scopes_table() {
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        // (method, path, query, scopes wanted)
        type Case = (
            &'static str,
            &'static str,
            Vec<(String, String)>,
            Vec<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "HEAD",
                "/v2/a/blobs/sha256:1",
                q(&[]),
                vec!["repository:a:pull,push"],
            ),
            (
                "PUT",
                "/v2/a/manifests/v1",
                q(&[]),
                vec!["repository:a:pull,push"],
            ),
            (
                "POST",
                "/v2/b/blobs/uploads/",
                q(&[("mount", "sha256:1"), ("from", "a")]),
                vec!["repository:a:pull", "repository:b:pull,push"],
            ),
            (
                "POST",
                "/v2/b/blobs/uploads/",
                q(&[("from", "a")]),
                vec!["repository:b:pull,push"],
            ),
            (
                "DELETE",
                "/v2/a/blobs/uploads/u",
                q(&[]),
                vec!["repository:a:delete"],
            ),
            ("GET", "/v2/", q(&[]), vec![]),
        ];
        for (method, path, query, want) in cases {
            let got: Vec<String> = scopes_for(method, path, query)
                .iter()
                .map(|s| s.to_string())
                .collect();
            assert_eq!(got, want, "{method} {path}");
        }
    }
}
