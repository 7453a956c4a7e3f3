//! Cleanup running beside publishes, and killed: against a real docker-registry.
//! - 20 cleanups run during 20 publishes of a changing project into one repository, with
//!   the default grace: every tag a publish reported as pushed resolves afterwards to the
//!   digest it reported (the custom image tags, and the stages of all 20 publishes, those
//!   whose images the policies delete included), and every blob of every remaining manifest
//!   exists; image tags of a gone branch, which the policies delete, are gone or unmoved.
//!   With a grace of 0 the same holds for image tags and blobs only: two cleanups in a row
//!   during one publish may delete the stage tags it pushed and has not yet referenced
//!   (docs/cleanup.md, "The grace rule").
//! - A cleanup killed with `kill -9` at 30 moments never leaves a kept tag missing or moved.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::cleanup::{clean, git_project, publish};
use crate::support::cmd::{assert_success, run, werf_push};
use crate::support::gitrepo::{now, GitRepo};
use crate::support::registry::{http_request, Registry};
use crate::support::skopeo::Skopeo;

/// A new stages storage holding one `from` stage per image, made of a file saying `n`.
fn changed_stages(root: &Path, n: usize) -> std::path::PathBuf {
    let stages = root.join(format!("stages-{n}"));
    for image in ["backend", "frontend"] {
        let src = root.join(format!("src-{n}-{image}"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("version"), format!("{image} {n}\n")).unwrap();
        let mut c = werf_push();
        c.args([
            "stages",
            "add",
            "--image",
            image,
            "--stage",
            "from",
            "--from-dir",
        ])
        .arg(&src)
        .arg("--stages-dir")
        .arg(&stages);
        assert_success(&run(&mut c));
    }
    stages
}

/// Every (repository, tag) of the test's repositories with its digest.
fn all_tags(reg: &Registry) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for repo in ["demo", "demo/backend", "demo/frontend"] {
        for t in reg.tags(repo) {
            if let Some(d) = reg.manifest_digest(repo, &t) {
                out.insert((repo.to_string(), t), d);
            }
        }
    }
    out
}

/// Every blob of every remaining manifest exists in its repository.
fn assert_blobs_present(reg: &Registry) {
    for (repo, tag) in all_tags(reg).keys() {
        let (_, bytes) = reg.manifest(repo, tag).unwrap();
        let m: Value = serde_json::from_slice(&bytes).unwrap();
        let mut blobs = vec![m["config"]["digest"].as_str().unwrap_or("").to_string()];
        for l in m["layers"].as_array().into_iter().flatten() {
            blobs.push(l["digest"].as_str().unwrap().to_string());
        }
        for b in blobs.iter().filter(|b| !b.is_empty()) {
            assert!(
                reg.blob_exists(repo, b),
                "{repo}:{tag}: blob {b} is missing"
            );
        }
    }
}

fn cleanups_during_publishes(grace: &str, check_stages: bool) {
    let reg = Registry::start();
    let (t, git) = git_project(now() - 86_400);
    let repo = format!("{}/demo", reg.host);
    let dir = git.dir.clone();
    let cleaner = {
        let (dir, repo, grace) = (dir.clone(), repo.clone(), grace.to_string());
        std::thread::spawn(move || {
            for _ in 0..20 {
                let out = clean(
                    "cleanup",
                    &dir,
                    &repo,
                    &["--keep-stages-built-within", &grace],
                );
                assert_success(&out);
            }
        })
    };
    let mut reported: Vec<(String, String)> = Vec::new();
    // Image tags of a branch that does not exist: a cleanup may delete them, never move them.
    let mut by_policy: Vec<(String, String)> = Vec::new();
    for n in 0..20 {
        let stages = changed_stages(t.path(), n);
        let kept = format!("keep-{n}");
        let gone = format!("gone-{n}");
        // Kept by the policies: a custom tag; deleted: a branch that does not exist.
        let strategy: &[&str] = if n % 2 == 0 {
            &["--tag-custom", &kept]
        } else {
            &["--tag-git-branch", &gone]
        };
        let mut args = vec!["--with-stages", "--json", "--stages-dir"];
        args.push(stages.to_str().unwrap());
        args.extend_from_slice(strategy);
        let out = publish(&dir, &repo, &args);
        let s: Value = serde_json::from_str(&out.stdout).unwrap();
        for tag in s["tags"].as_array().unwrap() {
            let reference = tag["reference"].as_str().unwrap().to_string();
            let digest = tag["digest"].as_str().unwrap().to_string();
            let stage = reference.contains(":image-stage-");
            if stage {
                // Every stage of every publish is within the grace period (with grace 0
                // the stages of a publish may go: see the module comment).
                if check_stages {
                    reported.push((reference, digest));
                }
            } else if n % 2 == 0 {
                reported.push((reference, digest));
            } else {
                by_policy.push((reference, digest));
            }
        }
    }
    cleaner.join().expect("every cleanup succeeded");
    let skopeo = Skopeo::new();
    for (reference, digest) in &reported {
        let raw = skopeo.inspect_raw(reference);
        assert_eq!(
            &crate::support::cmd::sha256_digest(&raw),
            digest,
            "{reference} moved or vanished (grace {grace})"
        );
    }
    for (reference, digest) in &by_policy {
        if let Ok(raw) = skopeo.try_inspect_raw(reference) {
            assert_eq!(
                &crate::support::cmd::sha256_digest(&raw),
                digest,
                "{reference} moved (grace {grace})"
            );
        }
    }
    // 10 publishes of custom tags, 2 images each; with the default grace, 2 stages of each
    // of the 20 publishes too.
    let want = if check_stages { 20 + 40 } else { 20 };
    assert!(reported.len() >= want, "{reported:?}");
    assert_eq!(by_policy.len(), 20, "{by_policy:?}");
    assert_blobs_present(&reg);
}

#[test]
fn cleanups_during_publishes_keep_every_reported_tag_with_the_default_grace() {
    cleanups_during_publishes("2h", true);
}

#[test]
fn cleanups_during_publishes_with_no_grace_keep_every_kept_image_tag() {
    cleanups_during_publishes("0", false);
}

/// A tag: (repository, tag).
type Tag = (String, String);

#[test]
fn a_cleanup_killed_at_any_moment_leaves_every_kept_tag() {
    let reg = Registry::start();
    let (_t, git) = git_project(now() - 86_400);
    let repo = format!("{}/demo", reg.host);
    publish_kept_tags_and_twelve_gone_branches(&git, &repo);
    let before = all_tags(&reg);
    let doomed: Vec<Tag> = before
        .keys()
        .filter(|(_, t)| t.starts_with("gone-"))
        .cloned()
        .collect();
    let originals: Vec<(String, String, String, Vec<u8>)> = doomed
        .iter()
        .map(|(r, t)| {
            let (media, bytes) = reg.manifest(r, t).unwrap();
            (r.clone(), t.clone(), media, bytes)
        })
        .collect();
    // Kill moments spread over scanning and deleting: up to twice a dry run's time.
    let started = std::time::Instant::now();
    assert_success(&clean("cleanup", &git.dir, &repo, &["--dry-run"]));
    let span = (started.elapsed().as_millis() as u64 * 2).max(50);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut mid_deletion = 0;
    for round in 0..30 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(seed % span);
        kill_a_cleanup_after(&git.dir, &repo, delay);
        wait_until_the_registry_is_quiet(&reg);
        let now_tags = all_tags(&reg);
        let left = doomed.iter().filter(|k| now_tags.contains_key(*k)).count();
        mid_deletion += usize::from(left > 0 && left < doomed.len());
        for (key, digest) in &before {
            if key.1.starts_with("gone-") {
                continue;
            }
            assert_eq!(
                now_tags.get(key),
                Some(digest),
                "round {round} (killed after {delay:?}): kept tag {}:{} missing or moved",
                key.0,
                key.1
            );
        }
        // Put the doomed tags back for the next round (their blobs are all still there).
        for (r, t, media, bytes) in &originals {
            let url = format!("http://{}/v2/{r}/manifests/{t}", reg.host);
            let (status, _, _) = http_request("PUT", &url, &[("Content-Type", media)], bytes);
            assert_eq!(status, 201, "restore {r}:{t}");
        }
    }
    assert!(
        mid_deletion > 0,
        "no kill landed while tags were being deleted (kill moments up to {span} ms)"
    );
    a_last_run_deletes_exactly_the_doomed_tags(&reg, &git.dir, &repo, &before, doomed.len());
}

/// Publishes `main` (with stages) and `v1`, which the policies keep, and twelve branches
/// gone from `origin`, which they delete; every third of these also has another tool's
/// tag on the same manifest.
fn publish_kept_tags_and_twelve_gone_branches(git: &GitRepo, repo: &str) {
    publish(
        &git.dir,
        repo,
        &["--tag-git-branch", "main", "--with-stages"],
    );
    publish(&git.dir, repo, &["--tag-custom", "v1"]);
    let skopeo = Skopeo::new();
    for k in 0..12 {
        let b = format!("gone-{k}");
        git.branch(&b);
        publish(&git.dir, repo, &["--tag-git-branch", &b]);
        git.delete_remote_branch(&b);
        if k % 3 == 0 {
            // Another tool's tag on the same manifest: deleting gone-k must replace it.
            skopeo.copy(
                &format!("docker://{repo}/backend:{b}"),
                &format!("docker://{repo}/backend:copy-{k}"),
                &[],
            );
        }
    }
}

/// Starts a cleanup of `repo` and kills it with `kill -9` after `delay`.
fn kill_a_cleanup_after(dir: &Path, repo: &str, delay: Duration) {
    let mut c = werf_push();
    c.args(["cleanup", "--repo", repo, "--dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    std::thread::sleep(delay);
    let _ = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Requests a killed process had sent are still being answered: waits until the
/// registry is quiet before looking (and before putting tags back).
fn wait_until_the_registry_is_quiet(reg: &Registry) {
    let mut seen = reg.access_log().len();
    loop {
        std::thread::sleep(Duration::from_millis(150));
        let now_seen = reg.access_log().len();
        if now_seen == seen {
            break;
        }
        seen = now_seen;
    }
}

/// A last, uninterrupted run cleans up after every killed one, placeholders included:
/// only the `doomed` gone-branch tags of `before` went.
fn a_last_run_deletes_exactly_the_doomed_tags(
    reg: &Registry,
    dir: &Path,
    repo: &str,
    before: &BTreeMap<Tag, String>,
    doomed: usize,
) {
    assert_success(&clean("cleanup", dir, repo, &[]));
    let after = all_tags(reg);
    assert!(
        after.keys().all(|(_, t)| !t.starts_with("gone-")),
        "{after:?}"
    );
    assert_eq!(
        after.len(),
        before.len() - doomed,
        "only the doomed tags went: {after:?}"
    );
}
