//! `stages pull` made robust, linear and build-consistent, against the real docker-registry
//! (hostile answers through the test proxy): several builds of one project in one
//! repository pull as one consistent chain per image; an index's children are read once
//! each and bounded; tag pages keep only stage tags, under a cap; one bad stage fails alone;
//! a stage the storage refuses is decided before its layers are fetched; and every failure
//! of a pull has its exit code, message and hint.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};
use tempfile::TempDir;
use werf_push_layout::{LayoutWriter, REF_NAME};
use werf_push_spec::media_type as mt;

use crate::stages::{big_layer, entries, json_out, ok, runner_a, wp};
use crate::support::cmd::{run, werf_push, Output};
use crate::support::cutproxy::{CutProxy, Fault};
use crate::support::layouts::{
    blob_files, gzip_layer, image, layer_digests, read_blob, referenced_blobs, Format,
};
use crate::support::proxy::{Proxy, ProxyConfig, StatusFault};
use crate::support::proxy_hostile::{Hostile, HostileKind};
use crate::support::registry::Registry;
use crate::support::scenario::{assert_no_panic, error_line, hint_lines, push};

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

fn publish(dir: &Path, repo: &str, tag: &str) -> Value {
    json_out(&ok(
        &[
            "publish",
            "--dir",
            dir.to_str().unwrap(),
            "--repo",
            repo,
            "--tag-custom",
            tag,
            "--with-stages",
            "--json",
        ],
        &dir.join(".werf/stages"),
    ))
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
    // Build A has the newest from, build B the newest install and setup; build C reuses
    // B's from and install with an older setup of its own.
    let (a, sa) = build(
        tmp.path(),
        "a",
        ["base a", "install a", "setup a"],
        [500, 100, 100],
    );
    let (b, sb) = build(
        tmp.path(),
        "b",
        ["base b", "install b", "setup b"],
        [200, 600, 300],
    );
    let (c, sc) = build(
        tmp.path(),
        "c",
        ["base b", "install b", "setup c"],
        [200, 600, 50],
    );
    assert_eq!(sc[..2], sb[..2], "C shares B's from and install");
    for (dir, tag) in [(&a, "build-a"), (&b, "build-b"), (&c, "build-c")] {
        publish(dir, &repo, tag);
    }
    let pulled_dir = tmp.path().join("pulled");
    let stages = pulled_dir.join(".werf/stages");
    let report = json_out(&ok(&["stages", "pull", "--repo", &repo, "--json"], &stages));
    let pulled: Vec<&str> = report["pulled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["signature"].as_str().unwrap())
        .collect();
    assert_eq!(pulled, sb, "B's chain, whole and alone: {report}");
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
    let mut want = tags(&sa);
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
    // The pulled storage publishes exactly B's image: every tag up to date.
    let again = publish(&pulled_dir, &repo, "build-b");
    for t in again["tags"].as_array().unwrap() {
        assert_eq!(t["status"], "up-to-date", "{again}");
    }
    // Pulling into a storage that holds B's from and install takes B's setup, whose layers
    // extend them, and leaves A's and C's out.
    let partial = tmp.path().join("partial/.werf/stages");
    add(&partial, "backend", "from", "base b", 200, None);
    add(
        &partial,
        "backend",
        "install",
        "install b",
        600,
        Some(&sb[0]),
    );
    let report = json_out(&ok(
        &["stages", "pull", "--repo", &repo, "--json"],
        &partial,
    ));
    let pulled: Vec<&str> = report["pulled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["signature"].as_str().unwrap())
        .collect();
    assert_eq!(pulled, [sb[2].as_str()], "{report}");
    assert_eq!(
        report["chains"][0]["storage"]["signature"],
        sb[1].as_str(),
        "{report}"
    );
    let text = ok(
        &["stages", "pull", "--repo", &repo],
        &tmp.path().join("text"),
    );
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

const SIG_DUP: &str = "dddd000000000000000000000000000000000000000000000000000d";
const SIG_WIDE: &str = "eeee000000000000000000000000000000000000000000000000000e";

/// A layout holding, as `ref`, an index naming image `app` stage `dockerfile` whose
/// `children` entries are `distinct` different image manifests (sharing one layer and
/// config), listed in turn.
fn index_stage(dir: &Path, r#ref: &str, distinct: usize, children: usize) {
    let mut w = LayoutWriter::create(dir).unwrap();
    let (layer, diff_id) = gzip_layer("f", 100, 3);
    let ld = w.write_blob(&layer, mt::OCI_LAYER_GZIP).unwrap();
    let cfg = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}});
    let cd = w
        .write_blob(&serde_json::to_vec(&cfg).unwrap(), mt::OCI_CONFIG)
        .unwrap();
    let kids: Vec<_> = (0..distinct)
        .map(|n| {
            let m = json!({
                "schemaVersion": 2, "mediaType": mt::OCI_MANIFEST,
                "config": {"mediaType": mt::OCI_CONFIG, "digest": cd.digest.to_string(), "size": cd.size},
                "layers": [{"mediaType": mt::OCI_LAYER_GZIP, "digest": ld.digest.to_string(), "size": ld.size}],
                "annotations": {"n": n.to_string()},
            });
            w.write_blob(&serde_json::to_vec(&m).unwrap(), mt::OCI_MANIFEST).unwrap()
        })
        .collect();
    let listed: Vec<Value> = (0..children)
        .map(|i| {
            let k = &kids[i % distinct];
            json!({"mediaType": mt::OCI_MANIFEST, "digest": k.digest.to_string(), "size": k.size,
                "platform": {"os": "linux", "architecture": "amd64"}})
        })
        .collect();
    let index = json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": listed,
        "annotations": {"io.werf.image": "app", "io.werf.stage": "dockerfile"}});
    let d = w
        .write_blob(&serde_json::to_vec(&index).unwrap(), mt::OCI_INDEX)
        .unwrap();
    w.add_entry(&d, json!({"annotations": {REF_NAME: r#ref}}));
    w.commit().unwrap();
}

/// Regression: an index listing one child 2,000 times cost 2,000 sequential requests; an
/// index of more distinct children than the documented bound is not read at all.
#[test]
fn an_index_child_listed_thousands_of_times_is_read_once_and_a_wide_index_is_skipped() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let layout = tmp.path().join("layout");
    index_stage(&layout, "dup", 1, 2000);
    index_stage(&layout, "wide", 65, 65);
    for (r, sig) in [("dup", SIG_DUP), ("wide", SIG_WIDE)] {
        let out = push(&[
            &format!("oci:{}:{r}", layout.display()),
            &format!("{}/app:image-stage-{sig}", reg.host),
        ]);
        assert!(out.success(), "{}", out.describe());
    }
    let proxy = CutProxy::start(&reg.host, "sha256:none", Fault::Corrupt(0));
    let stages = tmp.path().join("pulled");
    let report = json_out(&ok(
        &[
            "stages",
            "pull",
            "--repo",
            &format!("{}/app", proxy.host),
            "--json",
        ],
        &stages,
    ));
    assert_eq!(report["pulled"][0]["signature"], SIG_DUP, "{report}");
    assert_eq!(report["pulled"].as_array().unwrap().len(), 1, "{report}");
    let child_gets = proxy.requests("GET /v2/app/manifests/sha256:");
    assert_eq!(child_gets.len(), 1, "one child, read once: {child_gets:?}");
    assert_eq!(
        report["skipped"][0]["tag"],
        format!("image-stage-{SIG_WIDE}"),
        "{report}"
    );
    let reason = report["skipped"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("65 distinct manifests, over the limit of 64"),
        "{reason}"
    );
}

fn pull_through(proxy: &str, stages: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["stages", "pull", "--repo"];
    let repo = format!("{proxy}/app");
    args.push(&repo);
    args.extend_from_slice(extra);
    let out = wp(&args, stages);
    assert_no_panic(&out);
    out
}

fn tag_pages(prefix: &'static str, pages: usize) -> ProxyConfig {
    ProxyConfig {
        hostile: vec![Hostile::new(
            Some("GET"),
            "/tags/list",
            HostileKind::TagPages {
                prefix,
                per_page: 10_000,
                pages,
            },
        )],
        ..Default::default()
    }
}

/// Regression: every page of the tag list was kept (3 GB after 14 pages of 16 MiB). Tags
/// other than stage tags are dropped as they come (200,000 of them pull nothing), and more
/// than the documented 100,000 stage tags is a clear error, exit 1.
#[test]
fn tag_pages_keep_only_stage_tags_and_too_many_is_a_clear_error() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let others = Proxy::start(&reg.host, tag_pages("v1-build-", 20));
    let out = pull_through(&others.host, &tmp.path().join("a"), &["--json"]);
    assert!(out.success(), "{}", out.describe());
    let report = json_out(&out);
    assert_eq!(report["pulled"], json!([]), "{report}");
    assert_eq!(report["skipped"], json!([]), "{report}");
    let lists = others
        .stats()
        .log
        .iter()
        .filter(|l| l.target.contains("/tags/list"))
        .count();
    assert_eq!(lists, 20, "every page read");
    let flood = Proxy::start(&reg.host, tag_pages("image-stage-", 11));
    let stages = tmp.path().join("b");
    let out = pull_through(&flood.host, &stages, &[]);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    let line = error_line(&out);
    assert!(
        line.contains("more than 100000 image-stage- tags")
            && line.contains("keeps at most 100000"),
        "{line}"
    );
    let lists = flood
        .stats()
        .log
        .iter()
        .filter(|l| l.target.contains("/tags/list"))
        .count();
    assert_eq!(lists, 11, "stops at the page that passes the cap");
    assert!(!stages.join("index.json").exists(), "nothing written");
}

/// runner_a's project (backend from and install with a layer of `big` bytes, frontend
/// from) published with `--with-stages` to `REG/app`; returns its storage.
pub(crate) fn published(reg: &Registry, tmp: &Path, big: usize) -> std::path::PathBuf {
    let a = runner_a(tmp, big);
    ok(
        &[
            "publish",
            "--dir",
            tmp.to_str().unwrap(),
            "--repo",
            &format!("{}/app", reg.host),
            "--tag-custom",
            "v1",
            "--with-stages",
        ],
        &a,
    );
    a
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn hostile(path: &'static str, kind: HostileKind) -> ProxyConfig {
    ProxyConfig {
        hostile: vec![Hostile::new(Some("GET"), path, kind)],
        ..Default::default()
    }
}

/// Regression: a corrupt or too long download exited 2 (usage) with a usage hint, a
/// connection failure said "what was pushed stays", a bad `Content-Range` printed
/// `Some(10)`. Every failure of a pull: its exit code, message and hint, and the storage
/// as it was when the pull stopped.
#[test]
fn every_pull_failure_has_its_exit_code_message_and_hint() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let a = published(&reg, tmp.path(), 600 << 10);
    let blob = big_layer(&a);
    let blob_path = leak(format!("/blobs/{blob}"));
    let size = read_blob(&a, &blob).len() as u64;
    // (case, proxy, extra args, exit code, in the error line, in the hints, nowhere, the
    // storage left untouched)
    type Case = (
        &'static str,
        Option<ProxyConfig>,
        Vec<&'static str>,
        i32,
        &'static str,
        &'static str,
        &'static str,
        bool,
    );
    let cases: Vec<Case> = vec![
        (
            "a tag in --repo",
            None,
            vec![],
            2,
            "give the repository without a tag",
            "REGISTRY/REPOSITORY",
            "Some(",
            true,
        ),
        (
            "a blob longer than its descriptor",
            Some(hostile(
                blob_path,
                HostileKind::Huge {
                    status: 200,
                    len: size + 4096,
                },
            )),
            vec![],
            1,
            "is longer than",
            "the other stages are stored",
            "stages --help",
            false,
        ),
        (
            "a bad Content-Range",
            Some(hostile(
                blob_path,
                HostileKind::Partial {
                    content_range: "bytes 10-19/20",
                    len: 10,
                },
            )),
            vec!["--retries", "0"],
            1,
            "the answer's Content-Range starts at 10",
            "the other stages are stored",
            "Some(",
            false,
        ),
        (
            "a connection closed",
            Some(hostile(blob_path, HostileKind::Hangup)),
            vec!["--retries", "0"],
            4,
            blob_path,
            "nothing was stored",
            "what was pushed stays",
            true,
        ),
        (
            "a registry that stops answering",
            Some(hostile(blob_path, HostileKind::Silent)),
            vec!["--retries", "0", "--response-timeout", "1"],
            4,
            "",
            "nothing was stored",
            "what was pushed stays",
            true,
        ),
    ];
    for (case, cfg, extra, code, error, hint, nowhere, untouched) in cases {
        let stages = tmp.path().join(case.replace(' ', "-"));
        let proxy = cfg.map(|c| Proxy::start(&reg.host, c));
        let out = match &proxy {
            Some(p) => pull_through(&p.host, &stages, &extra),
            None => wp(
                &["stages", "pull", "--repo", &format!("{}/app:v1", reg.host)],
                &stages,
            ),
        };
        assert_eq!(out.code(), Some(code), "{case}\n{}", out.describe());
        let line = error_line(&out);
        assert!(line.contains(error), "{case}: {line}");
        let hints = hint_lines(&out);
        assert!(
            hints.iter().any(|h| h.contains(hint)),
            "{case}: {hints:?}\n{}",
            out.describe()
        );
        assert!(
            !out.stderr.contains(nowhere) && !out.stdout.contains(nowhere),
            "{case}\n{}",
            out.describe()
        );
        if untouched {
            assert!(
                !stages.join("index.json").exists(),
                "{case}: index.json written"
            );
            if stages.join("blobs/sha256").exists() {
                assert_eq!(blob_files(&stages), BTreeSet::new(), "{case}: blobs left");
            }
        } else {
            // The stage of the bad blob failed alone: backend's from and frontend's from
            // are stored, and nothing of the bad blob.
            assert_eq!(entries(&stages).len(), 2, "{case}\n{}", out.describe());
            assert!(!blob_files(&stages).contains(&blob), "{case}");
            let referenced: BTreeSet<String> = entries(&stages)
                .iter()
                .flat_map(|e| referenced_blobs(&stages, &e.3))
                .collect();
            assert_eq!(
                blob_files(&stages),
                referenced,
                "{case}: unreferenced blobs left"
            );
        }
    }
    // A storage whose index.json is broken: exit 3, left as it was.
    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("index.json"), b"not json").unwrap();
    let out = wp(
        &["stages", "pull", "--repo", &format!("{}/app", reg.host)],
        &broken,
    );
    assert_eq!(out.code(), Some(3), "{}", out.describe());
    assert!(
        error_line(&out).contains("index.json is not JSON"),
        "{}",
        out.describe()
    );
    assert_eq!(
        std::fs::read(broken.join("index.json")).unwrap(),
        b"not json"
    );
}

/// Regression: one stage tag the registry fails on failed the whole pull. It is reported
/// (text and `--json`), the others are pulled, and the exit code is 1.
#[test]
fn one_bad_stage_fails_alone_and_the_others_are_pulled() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let a = published(&reg, tmp.path(), 10 << 10);
    let front = entries(&a).into_iter().find(|e| e.0 == "frontend").unwrap();
    let tag = format!("image-stage-{}", front.2);
    let manifests = leak(format!("/manifests/{tag}"));
    let cfg = ProxyConfig {
        status_faults: vec![StatusFault::new(Some("GET"), manifests, 500).times(u32::MAX)],
        ..Default::default()
    };
    let proxy = Proxy::start(&reg.host, cfg);
    for json_out_flag in [true, false] {
        let stages = tmp.path().join(format!("b-{json_out_flag}"));
        let extra: &[&str] = if json_out_flag {
            &["--retries", "0", "--json"]
        } else {
            &["--retries", "0"]
        };
        let out = pull_through(&proxy.host, &stages, extra);
        assert_eq!(out.code(), Some(1), "{}", out.describe());
        let line = error_line(&out);
        assert!(
            line.contains("1 stage(s) of") && line.contains(&tag),
            "{line}"
        );
        let want: BTreeSet<_> = entries(&a)
            .into_iter()
            .filter(|e| e.0 != "frontend")
            .collect();
        assert_eq!(entries(&stages), want, "backend's stages are pulled");
        if json_out_flag {
            let report = json_out(&out);
            assert_eq!(report["failed"][0]["tag"], tag.as_str(), "{report}");
            assert!(
                report["failed"][0]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("500"),
                "{report}"
            );
            assert_eq!(report["pulled"].as_array().unwrap().len(), 2, "{report}");
        } else {
            assert!(
                out.stdout.contains(&format!("failed {tag}: ")),
                "{}",
                out.describe()
            );
            assert!(
                out.stdout
                    .contains("2 stages pulled, 0 skipped, 0 unidentified, 1 failed"),
                "{}",
                out.describe()
            );
        }
    }
    // Named: backend alone is whole (exit 0); frontend is not (exit 1, not_restored), as a
    // failed stage tag may be any image's.
    let out = pull_through(
        &proxy.host,
        &tmp.path().join("named"),
        &["frontend", "--json"],
    );
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert_eq!(json_out(&out)["not_restored"], json!(["frontend"]));
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

/// A stage that fails on one layer leaves none of its other layers in the storage.
#[test]
fn a_failed_stage_leaves_none_of_its_layers_behind() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let layout = tmp.path().join("layout");
    image(&layout, &[300 << 10, 4 << 10], 5, Format::Oci, Some("x"));
    let project = tmp.path().join("project");
    let stages = project.join(".werf/stages");
    let src = format!("oci:{}:x", layout.display());
    ok(
        &["stages", "import", &src, "--image", "x", "--stage", "from"],
        &stages,
    );
    publish(&project, &format!("{}/app", reg.host), "v1");
    let stage = entries(&stages).into_iter().next().unwrap();
    let manifest: Value = serde_json::from_slice(&read_blob(&stages, &stage.3)).unwrap();
    let layers = layer_digests(&manifest);
    let bad = CutProxy::start(&reg.host, &layers[0], Fault::Corrupt(1000));
    let pulled = tmp.path().join("pulled");
    let out = pull_through(&bad.host, &pulled, &["--json"]);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert_eq!(json_out(&out)["failed"].as_array().unwrap().len(), 1);
    assert!(
        !bad.requests(&format!("GET /v2/app/blobs/{}", layers[1]))
            .is_empty(),
        "the good layer was fetched"
    );
    assert_eq!(blob_files(&pulled), BTreeSet::new(), "layers left behind");
}
