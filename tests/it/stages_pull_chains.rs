//! What `stages pull` takes, against the real docker-registry: several builds of one
//! project in one repository pull as one consistent chain per image (the other stage tags
//! left out, each saying why), a storage that holds the start of a chain takes the rest of
//! it, and a stage the storage's rules refuse is decided before its layers are fetched.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::support::cmd::{run, werf_push};
use crate::support::cutproxy::{CutProxy, Fault};
use crate::support::layouts::{layer_digests, read_blob};
use crate::support::registry::Registry;
use crate::support::scenario::assert_no_panic;
use crate::support::stages::{entries, json_out, ok, publish, pull_through};

/// `werf-push stages add` of a directory holding `data`, with `SOURCE_DATE_EPOCH=epoch`
/// (the stage's `created`); returns its signature.
fn add(
    stages: &Path,
    image: &str,
    stage: &str,
    data: &str,
    epoch: u64,
    parent: Option<&str>,
) -> String {
    let dir = stages.with_extension(format!("src-{image}-{stage}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data"), data).unwrap();
    let mut c = werf_push();
    c.args([
        "stages",
        "add",
        "--image",
        image,
        "--stage",
        stage,
        "--json",
        "--from-dir",
    ])
    .arg(&dir)
    .arg("--stages-dir")
    .arg(stages)
    .env("SOURCE_DATE_EPOCH", epoch.to_string());
    if let Some(p) = parent {
        c.args(["--parent", p]);
    }
    let out = run(&mut c);
    assert!(out.success(), "{}", out.describe());
    json_out(&out)["signature"].as_str().unwrap().to_string()
}

/// One build of the project: image backend, stages from, install, setup (each on the one
/// before) of `data` with the `created` times `epochs`; returns its project directory and
/// the signatures.
fn build(
    tmp: &Path,
    name: &str,
    data: [&str; 3],
    epochs: [u64; 3],
) -> (std::path::PathBuf, Vec<String>) {
    let dir = tmp.join(name);
    let stages = dir.join(".werf/stages");
    let mut sigs: Vec<String> = Vec::new();
    for (i, stage) in ["from", "install", "setup"].into_iter().enumerate() {
        let parent = sigs.last().cloned();
        sigs.push(add(
            &stages,
            "backend",
            stage,
            data[i],
            epochs[i],
            parent.as_deref(),
        ));
    }
    (dir, sigs)
}

fn tags(sigs: &[String]) -> BTreeSet<String> {
    sigs.iter().map(|s| format!("image-stage-{s}")).collect()
}

/// Regression: the newest stage was chosen per (image, stage), so builds sharing a
/// repository were mixed (from of one build, install of another): a chain no published
/// image contains.
#[test]
fn several_builds_of_one_project_pull_as_one_consistent_chain() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let repo = format!("{}/proj", reg.host);
    let [sa, sb, sc] = three_builds_published(tmp.path(), &repo);
    let pulled_dir = tmp.path().join("pulled");
    a_pull_takes_the_newest_whole_chain_alone(
        &pulled_dir.join(".werf/stages"),
        &repo,
        &sa,
        &sb,
        &sc,
    );
    // The pulled storage publishes exactly B's image: every tag up to date.
    let again = publish(&pulled_dir, &repo, "build-b");
    for t in again["tags"].as_array().unwrap() {
        assert_eq!(t["status"], "up-to-date", "{again}");
    }
    a_storage_with_the_start_of_a_chain_takes_the_rest(
        &tmp.path().join("partial/.werf/stages"),
        &repo,
        &sb,
    );
    the_text_report_names_the_chain_and_the_skipped_tags(&tmp.path().join("text"), &repo);
}

/// Build A has the newest from, build B the newest install and setup; build C reuses
/// B's from and install with an older setup of its own. All three are published to
/// `repo`; returns their stage signatures.
fn three_builds_published(tmp: &Path, repo: &str) -> [Vec<String>; 3] {
    let (a, sa) = build(
        tmp,
        "a",
        ["base a", "install a", "setup a"],
        [500, 100, 100],
    );
    let (b, sb) = build(
        tmp,
        "b",
        ["base b", "install b", "setup b"],
        [200, 600, 300],
    );
    let (c, sc) = build(tmp, "c", ["base b", "install b", "setup c"], [200, 600, 50]);
    assert_eq!(sc[..2], sb[..2], "C shares B's from and install");
    for (dir, tag) in [(&a, "build-a"), (&b, "build-b"), (&c, "build-c")] {
        publish(dir, repo, tag);
    }
    [sa, sb, sc]
}

/// The signatures of the stages a `stages pull --json` report says it pulled.
fn pulled(report: &Value) -> Vec<&str> {
    report["pulled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["signature"].as_str().unwrap())
        .collect()
}

/// A pull into an empty `stages` takes B's chain, whole and alone; A's stages and C's
/// setup are left out, each saying why, and nothing failed.
fn a_pull_takes_the_newest_whole_chain_alone(
    stages: &Path,
    repo: &str,
    sa: &[String],
    sb: &[String],
    sc: &[String],
) {
    let report = json_out(&ok(&["stages", "pull", "--repo", repo, "--json"], stages));
    assert_eq!(pulled(&report), sb, "B's chain, whole and alone: {report}");
    let chains = report["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 1, "{report}");
    assert_eq!(chains[0]["image"], "backend");
    let chain: Vec<&str> = chains[0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signature"].as_str().unwrap())
        .collect();
    assert_eq!(chain, sb, "{report}");
    let left: BTreeSet<String> = chains[0]["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let mut want = tags(sa);
    want.insert(format!("image-stage-{}", sc[2]));
    assert_eq!(left, want, "{report}");
    let skipped: BTreeSet<String> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tag"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(skipped, want, "each left-out tag says why: {report}");
    assert_eq!(report["failed"], json!([]), "{report}");
}

/// Pulling into a storage that holds B's from and install takes B's setup, whose layers
/// extend them, and leaves A's and C's out.
fn a_storage_with_the_start_of_a_chain_takes_the_rest(partial: &Path, repo: &str, sb: &[String]) {
    add(partial, "backend", "from", "base b", 200, None);
    add(
        partial,
        "backend",
        "install",
        "install b",
        600,
        Some(&sb[0]),
    );
    let report = json_out(&ok(&["stages", "pull", "--repo", repo, "--json"], partial));
    assert_eq!(pulled(&report), [sb[2].as_str()], "{report}");
    assert_eq!(
        report["chains"][0]["storage"]["signature"],
        sb[1].as_str(),
        "{report}"
    );
}

/// The text report names the chain and counts the stage tags left out of it.
fn the_text_report_names_the_chain_and_the_skipped_tags(stages: &Path, repo: &str) {
    let text = ok(&["stages", "pull", "--repo", repo], stages);
    assert!(
        text.stdout
            .contains("image 'backend': chain from .. setup (3 stages, last ")
            && text
                .stdout
                .contains("4 stage tags not in the chain (skipped)"),
        "{}",
        text.describe()
    );
}

/// Regression: a stage the storage's rules refuse was found so only after its layers were
/// downloaded. The storage holds image app's from; the registry has app's Dockerfile stage
/// built on it (a Dockerfile image has no other stage): skipped, its layer never fetched.
#[test]
fn a_stage_the_storage_refuses_is_decided_before_its_layers_are_fetched() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    let stages = src.join(".werf/stages");
    let base = add(&stages, "base", "from", "shared base", 0, None);
    let df = add(
        &stages,
        "app",
        "dockerfile",
        "the dockerfile build",
        0,
        Some(&base),
    );
    publish(&src, &format!("{}/app", reg.host), "v1");
    let local = tmp.path().join("local");
    add(&local, "app", "from", "shared base", 0, None);
    let proxy = CutProxy::start(&reg.host, "sha256:none", Fault::Corrupt(0));
    let out = pull_through(&proxy.host, &local, &["app", "--json"]);
    assert_no_panic(&out);
    let report: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.describe()));
    let skipped = &report["skipped"];
    assert_eq!(skipped[0]["tag"], format!("image-stage-{df}"), "{report}");
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("a Dockerfile image has the one stage"),
        "{report}"
    );
    assert_eq!(report["blobs_fetched"], 0, "{report}");
    let manifest: Value = serde_json::from_slice(&read_blob(
        &stages,
        &entries(&stages).into_iter().find(|e| e.2 == df).unwrap().3,
    ))
    .unwrap();
    let top = layer_digests(&manifest).pop().unwrap();
    assert!(
        proxy
            .requests(&format!("GET /v2/app/blobs/{top}"))
            .is_empty(),
        "its layer was fetched"
    );
}
