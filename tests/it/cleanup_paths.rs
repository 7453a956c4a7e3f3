//! The way cleanup deletes a tag, chosen by the registry profile, against a real
//! docker-registry (with a proxy in front where a registry's answers are emulated):
//! - `distribution`: no tag `DELETE` is ever sent; an unknown registry asks once; one
//!   `DELETE` per deleted tag;
//! - a registry whose tag `DELETE` works (Google Artifact Registry; its `202` emulated by
//!   the proxy): every tag goes by tag, a tag sharing its digest with a kept one too;
//! - a registry that deletes through its own API (GHCR): a clear error naming the API and
//!   the permission, and nothing sent to the registry;
//! - a token issuer that refuses the scope `repository:NAME:delete` (GitLab wants `*`):
//!   the delete asks for `repository:NAME:*` once, then at once.

use serde_json::Value;

use crate::support::cleanup::{clean, git_project, publish, report};
use crate::support::cmd::assert_success;
use crate::support::gitrepo::{now, GitRepo};
use crate::support::isolated::USER_FLAGS;
use crate::support::proxy::{Proxy, ProxyConfig, StatusFault};
use crate::support::registry::{Registry, TEST_PASSWORD, TEST_USER};
use crate::support::skopeo::Skopeo;
use crate::support::token::{IssuerOptions, TokenIssuer};

/// A project published on `main` (with stages) and on `gone` into `REPO` = `HOST/demo`,
/// with `backend:copy` on the very manifest of `backend:gone`; then the branch `gone` is
/// deleted on origin. `creds`: flags for a registry that wants them.
fn published(host: &str, creds: &[&'static str]) -> (tempfile::TempDir, GitRepo, String) {
    let (t, git) = git_project(now() - 86_400);
    git.branch("gone");
    let repo = format!("{host}/demo");
    let with = |extra: &[&'static str]| [extra, creds].concat();
    publish(
        &git.dir,
        &repo,
        &with(&["--tag-git-branch", "main", "--with-stages"]),
    );
    publish(&git.dir, &repo, &with(&["--tag-git-branch", "gone"]));
    skopeo(creds).copy(
        &format!("docker://{repo}/backend:gone"),
        &format!("docker://{repo}/backend:copy"),
        &[],
    );
    git.delete_remote_branch("gone");
    (t, git, repo)
}

/// The second client, with the test account's credentials when `creds` are given.
fn skopeo(creds: &[&str]) -> Skopeo {
    if creds.is_empty() {
        Skopeo::new()
    } else {
        Skopeo::with_creds(TEST_USER, TEST_PASSWORD)
    }
}

/// `deleted_by` of every deleted tag of a report, by tag reference.
fn deleted_by(r: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = r["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["delete"] == true)
        .map(|t| {
            (
                t["reference"].as_str().unwrap().to_string(),
                t["deleted_by"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// `(method, path)` of the registry's requests from `from` on that are not reads.
fn writes(reg: &Registry, from: usize) -> Vec<(String, String)> {
    reg.access_log()
        .into_iter()
        .skip(from)
        .filter(|q| q.method != "GET" && q.method != "HEAD")
        .map(|q| (q.method.clone(), q.path().to_string()))
        .collect()
}

fn is_tag_delete(method: &str, path: &str) -> bool {
    method == "DELETE" && path.contains("/manifests/") && !path.contains("/manifests/sha256:")
}

#[test]
fn distribution_is_never_asked_for_a_tag_delete_and_an_unknown_registry_once() {
    for (profile, tag_deletes) in [(Some("distribution"), 0), (None, 1)] {
        let reg = Registry::start();
        let (_t, git, repo) = published(&reg.host, &[]);
        let before = reg.access_log().len();
        let mut extra = vec![];
        if let Some(p) = profile {
            extra = vec!["--registry-profile", p];
        }
        let r = report(&clean("cleanup", &git.dir, &repo, &extra));
        let sent = writes(&reg, before);
        let asked = sent.iter().filter(|(m, p)| is_tag_delete(m, p)).count();
        assert_eq!(asked, tag_deletes, "{profile:?}: {sent:#?}");
        // The tags went all the same: backend:gone replaced (backend:copy shares it),
        // frontend:gone by digest; skopeo sees the kept ones only.
        let how: Vec<String> = deleted_by(&r).into_iter().map(|(_, h)| h).collect();
        assert_eq!(how, vec!["replaced", "by-digest"], "{profile:?}: {r}");
        // Requests per deleted tag: one DELETE (by digest, the placeholder's for the
        // replaced tag, whose manifest PUT (and its config's upload) is the one write more),
        // and the probe where it is asked.
        let count = |method: &str| sent.iter().filter(|(m, _)| m == method).count();
        assert_eq!(count("DELETE"), how.len() + tag_deletes, "{sent:#?}");
        let puts: Vec<_> = sent
            .iter()
            .filter(|(m, p)| {
                m == "PUT" && p.contains("/manifests/") && !p.ends_with("/werf-push-cleanup-state")
            })
            .collect();
        assert_eq!(puts.len(), 1, "the placeholder only: {sent:#?}");
        let skopeo = Skopeo::new();
        assert_eq!(
            skopeo.list_tags(&format!("{repo}/backend")),
            vec!["copy", "main"]
        );
        assert_eq!(skopeo.list_tags(&format!("{repo}/frontend")), vec!["main"]);
    }
}

#[test]
fn where_the_tag_delete_works_every_tag_goes_by_tag() {
    let reg = Registry::start();
    // Google Artifact Registry deletes a tag with `DELETE /v2/NAME/manifests/TAG` and 202:
    // emulated by the proxy for the tags of the branch `gone` (docker-registry would answer
    // 400), the registry behind it untouched.
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            status_faults: vec![StatusFault::new(Some("DELETE"), "/manifests/gone", 202)
                .body("ACCEPTED", "tag deleted (emulated)")
                .times(u32::MAX)],
            ..Default::default()
        },
    );
    let (_t, git, repo) = published(&proxy.host, &[]);
    let before = reg.access_log().len();
    let r = report(&clean(
        "cleanup",
        &git.dir,
        &repo,
        &["--registry-profile", "gar"],
    ));
    let how = deleted_by(&r);
    assert_eq!(how.len(), 2, "{r}");
    assert!(
        how.iter().all(|(_, h)| h == "by-tag"),
        "backend:gone shares its digest with backend:copy and still goes by tag: {how:?}"
    );
    let deletes: Vec<String> = proxy
        .stats()
        .log
        .iter()
        .filter(|q| q.method == "DELETE")
        .map(|q| q.path().to_string())
        .collect();
    assert_eq!(deletes.len(), 2, "one tag DELETE per tag: {deletes:?}");
    assert!(
        deletes.iter().all(|p| p.ends_with("/manifests/gone")),
        "{deletes:?}"
    );
    // Neither a delete by digest nor a placeholder reached the registry.
    assert_eq!(writes(&reg, before), Vec::<(String, String)>::new());
}

#[test]
fn a_registry_deleting_through_its_own_api_is_refused_before_anything_changes() {
    let reg = Registry::start();
    let (_t, git, repo) = published(&reg.host, &[]);
    let tags = || (reg.tags("demo/backend"), reg.tags("demo/frontend"));
    let kept = tags();
    let before = reg.access_log().len();
    let out = clean("cleanup", &git.dir, &repo, &["--registry-profile", "ghcr"]);
    assert_eq!(out.code(), Some(2), "{}", out.describe());
    for said in ["GitHub's REST API", "delete:packages", "changed nothing"] {
        assert!(out.stderr.contains(said), "{said}: {}", out.describe());
    }
    assert_eq!(reg.access_log().len(), before, "nothing was sent");
    assert_eq!(tags(), kept);
    // The plan is still there to read.
    let r = report(&clean(
        "cleanup",
        &git.dir,
        &repo,
        &["--registry-profile", "ghcr", "--dry-run"],
    ));
    assert_eq!(deleted_by(&r).len(), 2, "{r}");
    assert_eq!(tags(), kept);
}

#[test]
fn a_refused_delete_scope_is_asked_again_as_star_once() {
    // GitLab (some setups) grants deleting only to `repository:NAME:*`.
    let issuer = TokenIssuer::start(
        IssuerOptions::new().refuse(|scopes| scopes.iter().any(|s| s.ends_with(":delete"))),
    );
    let reg = issuer.registry_options().start();
    let (_t, git, repo) = published(&reg.host, &USER_FLAGS);
    let out = clean("cleanup", &git.dir, &repo, &USER_FLAGS);
    assert_success(&out);
    let skopeo = skopeo(&USER_FLAGS);
    assert_eq!(
        skopeo.list_tags(&format!("{repo}/backend")),
        vec!["copy", "main"]
    );
    assert_eq!(skopeo.list_tags(&format!("{repo}/frontend")), vec!["main"]);
    let log = issuer.log();
    let narrow: Vec<_> = log
        .iter()
        .filter(|t| t.scopes.iter().any(|s| s.ends_with(":delete")))
        .collect();
    assert_eq!(narrow.len(), 1, "the narrower scope asked once: {log:#?}");
    assert_eq!(narrow[0].status, 404);
    let star: Vec<_> = log
        .iter()
        .filter(|t| t.scopes.iter().any(|s| s.ends_with(":*")))
        .collect();
    assert!(!star.is_empty(), "{log:#?}");
    assert!(
        star.iter()
            .all(|t| t.status == 200 && t.granted.iter().all(|g| g.ends_with(":*"))),
        "{star:#?}"
    );
}
