//! What cleanup and purge must never do, against a real docker-registry: delete a kept tag
//! that shares its digest with a deleted one, leave a tag on a placeholder when the
//! registry refuses deletes, delete a stage before an earlier cleanup saw it unused the
//! grace period ago, trust a config's labels about another tag, read a config of any size,
//! read a manifest or config twice, or run on a shallow clone, without `origin`, or (purge)
//! unattended without `--force`; a delete refused for rights exits with the auth class.

use crate::support::cleanup::{clean, decisions, git_project, publish, report};
use crate::support::cmd::{run, werf_push};
use crate::support::gitrepo::now;
use crate::support::proxy::{Proxy, ProxyConfig, StatusFault};
use crate::support::registry::{Registry, RegistryOptions};
use crate::support::skopeo::Skopeo;

/// A project published with stages on `main` and on `gone`, whose branch `gone` is then
/// deleted on origin.
fn published(reg: &Registry) -> (tempfile::TempDir, crate::support::gitrepo::GitRepo, String) {
    let (t, git) = git_project(now() - 86_400);
    git.branch("gone");
    let repo = format!("{}/demo", reg.host);
    publish(
        &git.dir,
        &repo,
        &["--tag-git-branch", "main", "--with-stages"],
    );
    publish(&git.dir, &repo, &["--tag-git-branch", "gone"]);
    git.delete_remote_branch("gone");
    (t, git, repo)
}

#[test]
fn a_kept_tag_sharing_the_digest_of_a_deleted_one_survives() {
    let reg = Registry::start();
    let (_t, git, repo) = published(&reg);
    let digest = reg.manifest_digest("demo/backend", "gone").unwrap();
    // Another tool's tag on the very same manifest.
    Skopeo::new().copy(
        &format!("docker://{repo}/backend:gone"),
        &format!("docker://{repo}/backend:copy"),
        &[],
    );
    assert_eq!(reg.manifest_digest("demo/backend", "copy").unwrap(), digest);
    let r = report(&clean("cleanup", &git.dir, &repo, &[]));
    assert_eq!(reg.tags("demo/backend"), vec!["copy", "main"]);
    assert_eq!(reg.manifest_digest("demo/backend", "copy").unwrap(), digest);
    let how: Vec<&str> = r["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["deleted_by"].as_str())
        .collect();
    // backend:gone shares its digest (replaced, then deleted), frontend:gone does not.
    assert_eq!(how.iter().filter(|h| **h == "replaced").count(), 1, "{r}");
    assert_eq!(how.iter().filter(|h| **h == "by-digest").count(), 1, "{r}");
    // The placeholder's manifest is gone too: only the kept tags resolve.
    assert!(Skopeo::new()
        .try_inspect_raw(&format!("{repo}/backend:gone"))
        .is_err());
}

#[test]
fn a_registry_that_refuses_deletes_fails_clearly_and_every_tag_stays() {
    let reg = RegistryOptions::new().no_delete().start();
    let (_t, git, repo) = published(&reg);
    Skopeo::new().copy(
        &format!("docker://{repo}/backend:gone"),
        &format!("docker://{repo}/backend:copy"),
        &[],
    );
    let before: Vec<(String, Option<String>)> = ["gone", "copy", "main"]
        .iter()
        .map(|t| (t.to_string(), reg.manifest_digest("demo/backend", t)))
        .collect();
    let out = clean("cleanup", &git.dir, &repo, &[]);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("storage.delete.enabled"),
        "the hint says what to enable: {}",
        out.describe()
    );
    for (tag, digest) in before {
        assert_eq!(
            reg.manifest_digest("demo/backend", &tag),
            digest,
            "{tag} still holds its manifest (the placeholder was put back)"
        );
    }
}

#[test]
fn an_unused_stage_goes_only_after_an_earlier_cleanup_saw_it_unused() {
    let reg = Registry::start();
    let (_t, git) = git_project(now() - 86_400);
    git.branch("gone");
    let repo = format!("{}/demo", reg.host);
    publish(
        &git.dir,
        &repo,
        &["--tag-git-branch", "gone", "--with-stages"],
    );
    git.delete_remote_branch("gone");
    let stages = reg.tags("demo");
    assert_eq!(stages.len(), 5);
    // Grace 0, first sight: recorded, kept.
    let first = report(&clean(
        "cleanup",
        &git.dir,
        &repo,
        &["--keep-stages-built-within", "0"],
    ));
    let graced = decisions(&first)
        .into_iter()
        .filter(|(_, d, reason)| !d && reason == "stage-grace")
        .count();
    assert_eq!(graced, 5, "{first}");
    assert!(reg
        .tags("demo")
        .contains(&"werf-push-cleanup-state".to_string()));
    // The default grace (2 h): seen a moment ago, still kept.
    report(&clean("cleanup", &git.dir, &repo, &[]));
    assert_eq!(reg.tags("demo").len(), 6);
    // Grace 0 again: an earlier cleanup saw them unused, they go; the state stays.
    let third = report(&clean(
        "cleanup",
        &git.dir,
        &repo,
        &["--keep-stages-built-within", "0"],
    ));
    assert_eq!(third["summary"]["by_reason"]["stage-unused"], 5, "{third}");
    assert_eq!(reg.tags("demo"), vec!["werf-push-cleanup-state"]);
}

#[test]
fn purge_deletes_the_project_only_and_wants_force_without_a_terminal() {
    let reg = Registry::start();
    let (_t, git, repo) = published(&reg);
    Skopeo::new().copy(
        &format!("docker://{repo}/backend:main"),
        &format!("docker://{repo}:other-tool"),
        &[],
    );
    let mut c = werf_push();
    c.args(["purge", "--repo", &repo, "--dir"]).arg(&git.dir);
    let out = run(&mut c);
    assert_eq!(out.code(), Some(2), "{}", out.describe());
    assert!(out.stderr.contains("--force"), "{}", out.describe());
    assert_eq!(reg.tags("demo/backend").len(), 2, "nothing deleted");
    let r = report(&clean("purge", &git.dir, &repo, &["--force"]));
    assert_eq!(r["summary"]["deleted"], 9, "{r}");
    assert_eq!(reg.tags("demo"), vec!["other-tool"]);
    assert!(reg.tags("demo/backend").is_empty() && reg.tags("demo/frontend").is_empty());
}

#[test]
fn a_shallow_clone_or_a_repository_without_origin_is_refused() {
    let reg = Registry::start();
    let (t, git, repo) = published(&reg);
    let shallow = t.path().join("shallow");
    let origin_url = format!("file://{}", git.origin.display());
    git.git(
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &origin_url,
            shallow.to_str().unwrap(),
        ],
        None,
    );
    std::fs::copy(git.dir.join("werf.yaml"), shallow.join("werf.yaml")).unwrap();
    let out = clean("cleanup", &shallow, &repo, &[]);
    assert_eq!(out.code(), Some(2), "{}", out.describe());
    assert!(out.stderr.contains("shallow"), "{}", out.describe());
    git.git(&["remote", "rename", "origin", "upstream"], None);
    let out = clean("cleanup", &git.dir, &repo, &[]);
    assert_eq!(out.code(), Some(2), "{}", out.describe());
    assert!(out.stderr.contains("origin"), "{}", out.describe());
    assert_eq!(reg.tags("demo/backend").len(), 2, "nothing deleted");
}

#[test]
fn every_manifest_and_config_is_read_once() {
    let reg = Registry::start();
    let (_t, git, repo) = published(&reg);
    publish(&git.dir, &repo, &["--tag-custom", "v1"]);
    let before = reg.access_log().len();
    let r = report(&clean("cleanup", &git.dir, &repo, &["--dry-run"]));
    let log = reg.access_log_since(before);
    let gets = |what: &str| -> Vec<String> {
        log.iter()
            .filter(|q| q.method == "GET" && q.path().contains(what))
            .map(|q| q.path().to_string())
            .collect()
    };
    let manifests = gets("/manifests/");
    let blobs = gets("/blobs/");
    let mut unique = manifests.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        manifests.len(),
        "no manifest read twice: {manifests:?}"
    );
    // 5 stages + 3 tags of 2 images; configs of the 6 image tags only (stages need none).
    assert_eq!(manifests.len(), 11, "{manifests:?}");
    assert_eq!(blobs.len(), 6, "{blobs:?}");
    assert_eq!(r["manifest_reads"], 11);
    assert_eq!(r["config_reads"], 6);
    assert!(
        log.iter().all(|q| q.method == "GET" || q.method == "HEAD"),
        "a dry run only reads"
    );
}

#[test]
fn a_delete_refused_for_rights_exits_with_the_auth_code_and_a_hint() {
    let reg = Registry::start();
    let (_t, git, _) = published(&reg);
    // A front that refuses every DELETE with 403 DENIED (an account without the delete
    // permission on Harbor, GitLab, ACR...).
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            status_faults: vec![StatusFault::new(Some("DELETE"), "/manifests/", 403)
                .body("DENIED", "requested access to the resource is denied")
                .times(u32::MAX)],
            ..Default::default()
        },
    );
    let out = clean("cleanup", &git.dir, &format!("{}/demo", proxy.host), &[]);
    assert_eq!(out.code(), Some(5), "{}", out.describe());
    assert!(out.stderr.contains("delete"), "{}", out.describe());
    assert!(out.stderr.contains("hint:"), "{}", out.describe());
    assert_eq!(
        reg.tags("demo/backend"),
        vec!["gone", "main"],
        "nothing deleted"
    );
}
