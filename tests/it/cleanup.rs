//! `cleanup` by werf's policies against a real docker-registry (delete enabled), with real
//! git repositories made by the test (commits and tags dated with `GIT_COMMITTER_DATE`,
//! branches and tags deleted on `origin`): multirepo, monorepo and the nameless image,
//! images in use (kubectl's JSON and a plain list), `--dry-run` equal to the run.

use std::path::Path;

use serde_json::Value;

use crate::support::cleanup::{clean, decisions, git_project, publish, report, temp_file};
use crate::support::cmd::Output;
use crate::support::gitrepo::now;
use crate::support::registry::Registry;

const DAY: i64 = 86_400;

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn multirepo_keeps_and_deletes_exactly_what_each_policy_says() {
    let reg = Registry::start();
    let now = now();
    let (_t, git) = git_project(now - 100 * DAY);
    let old = git.git(&["rev-parse", "HEAD"], None);
    git.tag("v1", now - 60 * DAY);
    git.commit("second", now - 20 * DAY);
    git.tag("v2", now - 20 * DAY);
    let new = git.commit("third", now - DAY);
    git.tag("v3", now - 5 * DAY);
    git.branch("feature");
    let dir = &git.dir;
    let repo = format!("{}/demo", reg.host);
    let missing = "d".repeat(40);
    publish_by_every_strategy(dir, &repo, [&old, &new, &missing]);
    git.delete_remote_branch("feature");
    git.git(&["branch", "-D", "feature"], None);

    let out = clean(
        "cleanup",
        dir,
        &repo,
        &[
            "--git-tag-strategy-limit",
            "1",
            "--git-tag-strategy-expiry-days",
            "30",
            "--git-commit-strategy-expiry-days",
            "30",
        ],
    );
    let stage_tags = reg.tags("demo");
    assert_eq!(
        stage_tags.len(),
        5,
        "every stage is an ancestor of a kept image"
    );
    each_image_keeps_exactly_what_the_policies_keep(&reg, &new, &out);
    each_deleted_tag_says_why(&report(&out), &old, &missing);
}

/// Publishes to `repo` by branch (main, with stages; feature with a custom tag), by git
/// tag (v1, v2, v3 and one never tagged), by commit (each of `commits`) and by stages
/// signature.
fn publish_by_every_strategy(dir: &Path, repo: &str, commits: [&str; 3]) {
    publish(dir, repo, &["--tag-git-branch", "main", "--with-stages"]);
    publish(
        dir,
        repo,
        &["--tag-git-branch", "feature", "--tag-custom", "keep"],
    );
    for t in ["v1", "v2", "v3", "v0-never-tagged"] {
        publish(dir, repo, &["--tag-git-tag", t]);
    }
    for c in commits {
        publish(dir, repo, &["--tag-git-commit", c]);
    }
    publish(dir, repo, &["--tag-by-stages-signature"]);
}

/// Each image keeps main, keep, v3, the `new` commit and its signature tag.
fn each_image_keeps_exactly_what_the_policies_keep(reg: &Registry, new: &str, out: &Output) {
    for image in ["backend", "frontend"] {
        let tags = reg.tags(&format!("demo/{image}"));
        let sig = tags
            .iter()
            .find(|t| t.len() > 40 && !t.starts_with('d') && **t != new)
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            tags,
            sorted(&["main", "keep", "v3", new, &sig]),
            "{image}: kept main (branch), keep (custom), v3 (v2 over the limit of 1, v1 \
             expired, v0 never tagged), the recent commit (old one expired, missing one \
             gone) and the signature tag\n{}",
            out.describe()
        );
    }
}

/// The report `r` gives each deleted tag its reason (and keep's), and counts 12 deleted.
fn each_deleted_tag_says_why(r: &Value, old: &str, missing: &str) {
    let reasons: Vec<(String, bool, String)> = decisions(r);
    let reason_of = |tag: &str| {
        reasons
            .iter()
            .find(|(reference, _, _)| reference.ends_with(&format!("/demo/backend:{tag}")))
            .map(|(_, d, reason)| (*d, reason.clone()))
            .unwrap()
    };
    assert_eq!(reason_of("feature"), (true, "branch-gone".into()));
    assert_eq!(reason_of("v1"), (true, "expired".into()));
    assert_eq!(reason_of("v2"), (true, "over-limit".into()));
    assert_eq!(reason_of("v0-never-tagged"), (true, "git-tag-gone".into()));
    assert_eq!(reason_of(old), (true, "expired".into()));
    assert_eq!(reason_of(missing), (true, "commit-gone".into()));
    assert_eq!(reason_of("keep"), (false, "custom".into()));
    assert_eq!(r["summary"]["deleted"], 12);
}

#[test]
fn monorepo_and_nameless_images_are_cleaned_in_their_repository() {
    let reg = Registry::start();
    let (_t, git) = git_project(now() - DAY);
    git.branch("gone");
    let dir = &git.dir;
    let repo = format!("{}/mono", reg.host);
    let mono = ["--images-repo-mode", "monorepo"];
    for b in ["main", "gone"] {
        publish(dir, &repo, &[&mono[..], &["--tag-git-branch", b]].concat());
    }
    git.delete_remote_branch("gone");
    // A tag of another tool whose name looks like an image's: untouched.
    crate::support::skopeo::Skopeo::new().copy(
        &format!("docker://{repo}:backend-gone"),
        &format!("docker://{repo}:other-tool"),
        &[],
    );
    report(&clean("cleanup", dir, &repo, &mono));
    assert_eq!(
        reg.tags("mono"),
        sorted(&["backend-main", "frontend-main", "other-tool"])
    );

    // The nameless image (`image: ~`), published into REPO:TAG.
    std::fs::write(
        dir.join("werf.yaml"),
        "project: demo\nconfigVersion: 1\n---\nimage: ~\nfrom: alpine\n",
    )
    .unwrap();
    let idx_path = dir.join(".werf/stages/index.json");
    let mut idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&idx_path).unwrap()).unwrap();
    let kept: Vec<serde_json::Value> = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["annotations"]["io.werf.image"] == "backend")
        .cloned()
        .map(|mut m| {
            m["annotations"]["io.werf.image"] = "".into();
            m
        })
        .collect();
    idx["manifests"] = kept.into();
    std::fs::write(&idx_path, serde_json::to_vec(&idx).unwrap()).unwrap();
    git.branch("gone2");
    let repo = format!("{}/nameless", reg.host);
    for b in ["main", "gone2"] {
        publish(dir, &repo, &["--tag-git-branch", b, "--with-stages"]);
    }
    git.delete_remote_branch("gone2");
    let r = report(&clean("cleanup", dir, &repo, &[]));
    let tags = reg.tags("nameless");
    assert!(tags.contains(&"main".to_string()) && !tags.contains(&"gone2".to_string()));
    assert_eq!(
        tags.iter()
            .filter(|t| t.starts_with("image-stage-"))
            .count(),
        3,
        "the nameless image's stages stay: {r}"
    );
}

#[test]
fn images_in_use_are_kept_from_kubectl_json_and_from_a_plain_list() {
    let reg = Registry::start();
    let (_t, git) = git_project(now() - DAY);
    let dir = &git.dir;
    let repo = format!("{}/demo", reg.host);
    for b in ["a", "b", "c"] {
        git.branch(b);
        publish(dir, &repo, &["--tag-git-branch", b]);
        git.delete_remote_branch(b);
    }
    let frontend_b = reg.manifest_digest("demo/frontend", "b").unwrap();
    // The shape of `kubectl get pods,deployments,... -A -o json` (a v1 List of objects, as
    // the Kubernetes API documents them): a Deployment's pod template names backend:a, a
    // Pod's status names frontend:b by digest only.
    let kubectl =
        serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
        "items": [
          {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "prod"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
              "template": {"metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "api", "image": format!("{repo}/backend:a"),
                  "ports": [{"containerPort": 8080}]}]}}}},
          {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-7d9f", "namespace": "prod"},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "web",
              "image": "nginx:1.25", "ready": true, "restartCount": 0,
              "imageID": format!("docker-pullable://{repo}/frontend@{frontend_b}")}]}}
        ]})
        .to_string();
    let (_k, kubectl_file) = temp_file("kubectl.json", &kubectl);
    let r = report(&clean(
        "cleanup",
        dir,
        &repo,
        &[
            "--keep-images-used-by",
            kubectl_file.to_str().unwrap(),
            "--dry-run",
        ],
    ));
    let kept: Vec<String> = decisions(&r)
        .into_iter()
        .filter(|(_, delete, reason)| !delete && reason == "in-use")
        .map(|(reference, _, _)| reference)
        .collect();
    assert_eq!(
        kept,
        vec![format!("{repo}/backend:a"), format!("{repo}/frontend:b")]
    );

    let (_l, list) = temp_file("in-use.txt", &format!("# running\n{repo}/backend:c\n"));
    report(&clean(
        "cleanup",
        dir,
        &repo,
        &["--keep-images-used-by", list.to_str().unwrap()],
    ));
    assert_eq!(reg.tags("demo/backend"), sorted(&["c"]));
    assert_eq!(reg.tags("demo/frontend"), Vec::<String>::new());
}

#[test]
fn dry_run_plan_equals_the_run_and_the_report_lists_every_tag() {
    let reg = Registry::start();
    let (_t, git) = git_project(now() - DAY);
    let dir = &git.dir;
    let repo = format!("{}/demo", reg.host);
    git.branch("gone");
    publish(dir, &repo, &["--tag-git-branch", "main", "--with-stages"]);
    publish(
        dir,
        &repo,
        &["--tag-git-branch", "gone", "--tag-custom", "v1"],
    );
    git.delete_remote_branch("gone");
    let tmp = tempfile::TempDir::new().unwrap();
    let (plan_path, run_path) = (tmp.path().join("plan.json"), tmp.path().join("run.json"));
    let mut before: Vec<String> = ["demo", "demo/backend", "demo/frontend"]
        .iter()
        .flat_map(|r| reg.tags(r).into_iter().map(move |t| format!("{r}:{t}")))
        .collect();
    before.sort();
    let plan_out = clean(
        "cleanup",
        dir,
        &repo,
        &[
            "--dry-run",
            "--cleanup-report-path",
            plan_path.to_str().unwrap(),
        ],
    );
    let plan = report(&plan_out);
    assert_eq!(plan["tags"].as_array().unwrap().len(), before.len());
    let run = report(&clean(
        "cleanup",
        dir,
        &repo,
        &["--cleanup-report-path", run_path.to_str().unwrap()],
    ));
    assert_eq!(decisions(&plan), decisions(&run));
    let from_file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&run_path).unwrap()).unwrap();
    assert_eq!(decisions(&from_file), decisions(&run));
    assert_eq!(run["summary"]["deleted"], 2);
    assert_eq!(reg.tags("demo/backend"), sorted(&["main", "v1"]));
    // Plain output: a line per tag and the summary.
    let mut c = crate::support::cmd::werf_push();
    c.args(["cleanup", "--dry-run", "--repo", &repo, "--dir"])
        .arg(dir);
    let text = crate::support::cmd::run(&mut c);
    assert!(text.stdout.contains("keep         "), "{}", text.describe());
    assert!(text.stdout.contains("tags scanned"), "{}", text.describe());
}
