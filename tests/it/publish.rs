//! `werf-push publish` against a real docker-registry, results read back
//! with skopeo. Projects are copies of `testdata/example`, changed per case.

use std::path::{Path, PathBuf};

use crate::support::cmd::{assert_failure, assert_success, run, werf_push, Output};
use crate::support::layouts::{copy_dir, index_json, layer_digests};
use crate::support::registry::Registry;
use crate::support::skopeo::Skopeo;
use serde_json::Value;
use tempfile::TempDir;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/example");

/// A fresh copy of the example project.
fn project() -> (TempDir, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("project");
    copy_dir(Path::new(EXAMPLE), &dir);
    (tmp, dir)
}

/// The stages storage's index.json of the project `dir`.
fn index(dir: &Path) -> Value {
    index_json(&dir.join(".werf/stages"))
}

/// (image, stage, signature, manifest digest) of every stage of the example.
fn stages(dir: &Path) -> Vec<(String, String, String, String)> {
    index(dir)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let a = &m["annotations"];
            let s = |k: &str| a[k].as_str().unwrap().to_string();
            (
                s("io.werf.image"),
                s("io.werf.stage"),
                s("io.werf.signature"),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn last_stage(dir: &Path, image: &str) -> (String, String) {
    let all = stages(dir);
    let (_, _, sig, digest) = all.iter().rfind(|s| s.0 == image).unwrap().clone();
    (sig, digest)
}

fn publish(dir: &Path, repo: &str, extra: &[&str]) -> Output {
    let mut c = werf_push();
    c.arg("publish")
        .arg("--dir")
        .arg(dir)
        .arg("--repo")
        .arg(repo)
        .args(extra);
    run(&mut c)
}

fn summary(out: &Output) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("summary JSON: {e}\n{}", out.describe()))
}

fn catalog(reg: &Registry) -> Vec<String> {
    let (status, _, body) = reg.get("/v2/_catalog", &[]);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

fn labels(skopeo: &Skopeo, reference: &str) -> Value {
    skopeo.inspect_config(reference)["config"]["Labels"].clone()
}

fn layers(raw: &[u8]) -> Vec<String> {
    layer_digests(&serde_json::from_slice(raw).unwrap())
}

fn stage_layers(dir: &Path, manifest_digest: &str) -> Vec<String> {
    let hex = manifest_digest.trim_start_matches("sha256:");
    layers(&std::fs::read(dir.join(".werf/stages/blobs/sha256").join(hex)).unwrap())
}

#[test]
fn multirepo_names_labels_and_layers_of_every_strategy() {
    let reg = Registry::start();
    let (_t, dir) = project();
    let repo = format!("{}/demo", reg.host);
    let out = publish(
        &dir,
        &repo,
        &[
            "--tag-custom",
            "v1",
            "--tag-git-branch",
            "main",
            "--tag-git-tag",
            "v1.0.0",
            "--tag-git-commit",
            "0123abc",
            "--tag-by-stages-signature",
        ],
    );
    assert_success(&out);
    let skopeo = Skopeo::new();
    for image in ["backend", "frontend"] {
        let (sig, stage_digest) = last_stage(&dir, image);
        let want_layers = stage_layers(&dir, &stage_digest);
        for (tag, strategy) in [
            ("v1", "custom"),
            ("main", "git-branch"),
            ("v1.0.0", "git-tag"),
            ("0123abc", "git-commit"),
            (sig.as_str(), "stages-signature"),
        ] {
            let reference = format!("{repo}/{image}:{tag}");
            let l = labels(&skopeo, &reference);
            assert_eq!(l["werf-image"], "true", "{reference}");
            assert_eq!(l["werf-image-name"], image, "{reference}");
            assert_eq!(l["werf-image-tag"], tag, "{reference}");
            assert_eq!(l["werf-tag-strategy"], strategy, "{reference}");
            assert_eq!(l["werf-docker-image-name"], reference, "{reference}");
            assert_eq!(l["werf-content-signature"], sig.as_str(), "{reference}");
            assert_eq!(l["werf-image-version"], "1", "{reference}");
            assert_eq!(l["werf"], "demo", "stage labels are kept: {reference}");
            assert_eq!(
                layers(&skopeo.inspect_raw(&reference)),
                want_layers,
                "{reference}"
            );
        }
    }
    // No stages cache without --with-stages.
    assert!(reg.tags("demo").is_empty());
}

#[test]
fn monorepo_and_nameless_naming() {
    let reg = Registry::start();
    let (_t, dir) = project();
    let repo = format!("{}/mono", reg.host);
    assert_success(&publish(
        &dir,
        &repo,
        &["--images-repo-mode", "monorepo", "--tag-custom", "v1"],
    ));
    assert_eq!(
        reg.tags("mono"),
        vec!["backend-v1".to_string(), "frontend-v1".to_string()]
    );
    let l = labels(&Skopeo::new(), &format!("{repo}:backend-v1"));
    assert_eq!(l["werf-image-tag"], "v1");
    assert_eq!(l["werf-docker-image-name"], format!("{repo}:backend-v1"));

    // Nameless: one image `image: ~` whose stages have an empty io.werf.image.
    let (_t2, dir2) = project();
    std::fs::write(
        dir2.join("werf.yaml"),
        "project: demo\nconfigVersion: 1\n---\nimage: ~\nfrom: alpine\n",
    )
    .unwrap();
    let mut idx = index(&dir2);
    let kept: Vec<Value> = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["annotations"]["io.werf.image"] == "backend")
        .cloned()
        .map(|mut m| {
            m["annotations"]["io.werf.image"] = Value::from("");
            m
        })
        .collect();
    idx["manifests"] = Value::from(kept);
    std::fs::write(
        dir2.join(".werf/stages/index.json"),
        serde_json::to_vec(&idx).unwrap(),
    )
    .unwrap();
    for mode in ["multirepo", "monorepo"] {
        let repo = format!("{}/nameless-{mode}", reg.host);
        assert_success(&publish(
            &dir2,
            &repo,
            &["--images-repo-mode", mode, "--tag-custom", "v2"],
        ));
        assert_eq!(
            reg.tags(&format!("nameless-{mode}")),
            vec!["v2".to_string()],
            "{mode}"
        );
    }
}

#[test]
fn auto_mode_rejects_mismatched_explicit_mode_before_any_request() {
    let (_t, dir) = project();
    // Docker Hub account/repository: only monorepo fits; no network is needed to say so.
    let out = publish(
        &dir,
        "docker.io/account/app",
        &["--images-repo-mode", "multirepo", "--tag-custom", "v1"],
    );
    assert_failure(&out);
    assert!(out.stderr.contains("monorepo"), "{}", out.describe());
    assert_eq!(out.code(), Some(2), "{}", out.describe());
}

#[test]
fn second_publish_uploads_nothing_and_writes_no_manifest() {
    let reg = Registry::start();
    let (_t, dir) = project();
    let repo = format!("{}/again", reg.host);
    let args = [
        "--tag-custom",
        "v1",
        "--tag-git-branch",
        "main",
        "--with-stages",
        "--json",
    ];
    assert_success(&publish(&dir, &repo, &args));
    let before = reg.requests().len();
    let out = publish(&dir, &repo, &args);
    assert_success(&out);
    let s = summary(&out);
    assert_eq!(s["bytes_sent"], 0);
    assert_eq!(s["manifests_written"], 0);
    let tags = s["tags"].as_array().unwrap();
    assert!(!tags.is_empty(), "no tag in the summary: {s}");
    assert!(tags.iter().all(|t| t["status"] == "up-to-date"), "{s}");
    let after: Vec<_> = reg.requests()[before..].to_vec();
    let writes: Vec<_> = after
        .iter()
        .filter(|(m, _)| m != "HEAD" && m != "GET")
        .collect();
    assert!(
        writes.is_empty(),
        "write requests on an up-to-date publish: {writes:?}"
    );
    // One HEAD per tag: 5 stages + 2 images x 2 tags, plus the ping.
    let heads = after.iter().filter(|(m, _)| m == "HEAD").count();
    assert_eq!(heads, 9, "{after:?}");
}

#[test]
fn with_stages_pushes_the_cache_and_images_mount_their_layers() {
    let reg = Registry::start();
    let (_t, dir) = project();
    let repo = format!("{}/cache", reg.host);
    let out = publish(
        &dir,
        &repo,
        &["--tag-custom", "v1", "--with-stages", "--json"],
    );
    assert_success(&out);
    let tags = reg.tags("cache");
    for (_, _, sig, digest) in stages(&dir) {
        let tag = format!("image-stage-{sig}");
        assert!(tags.contains(&tag), "{tag} missing from {tags:?}");
        assert_eq!(
            reg.manifest_digest("cache", &tag).as_deref(),
            Some(digest.as_str())
        );
    }
    let s = summary(&out);
    for b in s["blobs"].as_array().unwrap() {
        let repo = b["repository"].as_str().unwrap();
        if repo != "cache" {
            // Every layer of an image repository came from the cache by mount; only the
            // new config blobs are uploaded.
            let is_layer = stages(&dir).iter().any(|st| {
                stage_layers(&dir, &st.3).contains(&b["digest"].as_str().unwrap().to_string())
            });
            if is_layer {
                assert_eq!(b["status"], "mounted", "{b}");
                assert_eq!(b["mounted_from"], "cache", "{b}");
            }
        }
    }
    assert!(s["blobs_mounted"].as_u64().unwrap() >= 5, "{s}");
}

#[test]
fn publishing_one_image_by_name_leaves_the_others_untouched() {
    let reg = Registry::start();
    let (_t, dir) = project();
    let repo = format!("{}/only", reg.host);
    assert_success(&publish(&dir, &repo, &["frontend", "--tag-custom", "v1"]));
    assert_eq!(reg.tags("only/frontend"), vec!["v1".to_string()]);
    assert!(reg.tags("only/backend").is_empty());
    let out = publish(&dir, &repo, &["worker", "--tag-custom", "v1"]);
    assert_failure(&out);
    assert!(
        out.stderr.contains("'worker' is not defined"),
        "{}",
        out.describe()
    );
}

#[test]
fn publish_report_keeps_every_tag() {
    let reg = Registry::start();
    let (t, dir) = project();
    let repo = format!("{}/rep", reg.host);
    let report_path = t.path().join("report.json");
    let out = publish(
        &dir,
        &repo,
        &[
            "--tag-custom",
            "a",
            "--tag-custom",
            "b",
            "--publish-report-path",
            report_path.to_str().unwrap(),
        ],
    );
    assert_success(&out);
    let r: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let backend = &r["Images"]["backend"];
    assert_eq!(backend["WerfImageName"], "backend");
    assert_eq!(backend["DockerRepo"], format!("{repo}/backend"));
    let digest = reg
        .manifest_digest("rep/backend", backend["DockerTag"].as_str().unwrap())
        .unwrap();
    assert_eq!(backend["DockerImageDigest"], digest.as_str());
    let refs = r["References"].as_array().unwrap();
    assert_eq!(refs.len(), 4, "{r}");
    for e in refs {
        let reference = e["Reference"].as_str().unwrap();
        let (name, tag) = reference.rsplit_once(':').unwrap();
        let repo_path = name.split_once('/').unwrap().1;
        assert_eq!(
            reg.manifest_digest(repo_path, tag).as_deref(),
            e["DockerImageDigest"].as_str(),
            "{e}"
        );
        assert_eq!(e["Status"], "pushed");
    }
}

#[test]
fn bad_input_fails_clearly_and_creates_no_tag() {
    let reg = Registry::start();
    // (what, change to the project, extra args, expected message part)
    type Change = fn(&Path);
    let cases: Vec<(&str, Change, Vec<&str>, &str)> = vec![
        (
            "bad tag",
            |_| {},
            vec!["--tag-custom", "bad tag!"],
            "bad --tag-custom parameter 'bad tag!' specified",
        ),
        ("no tag", |_| {}, vec![], "no tag specified"),
        (
            "image not built",
            |d| {
                std::fs::write(
                    d.join("werf.yaml"),
                    "project: demo\nconfigVersion: 1\n---\nimage: backend\n---\nimage: worker\n",
                )
                .unwrap()
            },
            vec!["--tag-custom", "v1"],
            "'worker' is not built",
        ),
        (
            "templated werf.yaml",
            |d| {
                std::fs::write(
                    d.join("werf.yaml"),
                    "project: demo\nconfigVersion: 1\n---\nimage: {{ .Name }}\n",
                )
                .unwrap()
            },
            vec!["--tag-custom", "v1"],
            "render",
        ),
        (
            "missing blob",
            |d| {
                let idx = index(d);
                let hex = idx["manifests"][1]["digest"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:")
                    .to_string();
                let m: Value = serde_json::from_slice(
                    &std::fs::read(d.join(".werf/stages/blobs/sha256").join(&hex)).unwrap(),
                )
                .unwrap();
                let layer = m["layers"][1]["digest"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:")
                    .to_string();
                std::fs::remove_file(d.join(".werf/stages/blobs/sha256").join(layer)).unwrap();
            },
            vec!["--tag-custom", "v1"],
            "is missing from the layout",
        ),
        (
            "unknown stage name",
            |d| {
                let mut idx = index(d);
                idx["manifests"][0]["annotations"]["io.werf.stage"] = Value::from("compile");
                std::fs::write(
                    d.join(".werf/stages/index.json"),
                    serde_json::to_vec(&idx).unwrap(),
                )
                .unwrap();
            },
            vec!["--tag-custom", "v1"],
            "unknown stage name 'compile'",
        ),
        (
            "duplicate signature",
            |d| {
                let mut idx = index(d);
                let first = idx["manifests"][0].clone();
                idx["manifests"].as_array_mut().unwrap().push(first);
                std::fs::write(
                    d.join(".werf/stages/index.json"),
                    serde_json::to_vec(&idx).unwrap(),
                )
                .unwrap();
            },
            vec!["--tag-custom", "v1"],
            "duplicate signature",
        ),
    ];
    for (i, (what, change, args, message)) in cases.into_iter().enumerate() {
        let (_t, dir) = project();
        change(&dir);
        let repo = format!("{}/bad{i}", reg.host);
        let out = publish(&dir, &repo, &args);
        assert_failure(&out);
        assert!(out.stderr.contains(message), "{what}: {}", out.describe());
        assert!(
            !out.stderr.contains("panicked"),
            "{what}: {}",
            out.describe()
        );
        assert_eq!(
            out.stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1,
            "{what}: {}",
            out.describe()
        );
    }
    assert!(
        catalog(&reg).is_empty(),
        "no repository may have been created: {:?}",
        catalog(&reg)
    );
}

#[test]
fn slugify_and_stages_list() {
    let cases = [
        (
            "core/feature/ADD_SETTINGS",
            "core-feature-add-settings-df80fdc3",
        ),
        ("Features/MyFeature#169", "features-myfeature169-3167bc8c"),
        ("16.04", "16.04"),
    ];
    for (input, want) in cases {
        let out = run(werf_push().args(["slugify", "-f", "docker-tag", input]));
        assert_success(&out);
        assert_eq!(out.stdout.trim(), want, "{input}");
    }
    let out = run(werf_push().args(["stages", "list", "--json", "--dir", EXAMPLE]));
    assert_success(&out);
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let order: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["image"].as_str().unwrap(), r["stage"].as_str().unwrap()))
        .collect();
    assert_eq!(
        order,
        vec![
            ("backend", "from"),
            ("backend", "install"),
            ("backend", "setup"),
            ("frontend", "from"),
            ("frontend", "install")
        ]
    );
}

#[test]
fn a_multi_platform_stage_publishes_a_new_index_with_labelled_platform_images() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("project");
    let stages_dir = dir.join(".werf/stages");
    let index_digest = crate::support::layouts::index_image(&stages_dir, 11);
    let sig = "ab".repeat(28);
    let mut idx = index(&dir);
    idx["manifests"][0]["annotations"] = serde_json::json!({
        "org.opencontainers.image.ref.name": sig,
        "io.werf.image": "multi",
        "io.werf.stage": "dockerfile",
        "io.werf.signature": sig,
    });
    std::fs::write(
        stages_dir.join("index.json"),
        serde_json::to_vec(&idx).unwrap(),
    )
    .unwrap();
    let repo = format!("{}/mp", reg.host);
    assert_success(&publish(&dir, &repo, &["--tag-custom", "v1"]));
    let again = publish(&dir, &repo, &["--tag-custom", "v1", "--json"]);
    assert_success(&again);
    let s = summary(&again);
    assert_eq!(
        s["tags"][0]["status"], "up-to-date",
        "deterministic bytes: {s}"
    );
    assert_eq!(s["bytes_sent"], 0);

    let skopeo = Skopeo::new();
    let raw = skopeo.inspect_raw(&format!("{repo}/multi:v1"));
    let published: Value = serde_json::from_slice(&raw).unwrap();
    let stage: Value = serde_json::from_slice(
        &std::fs::read(
            stages_dir
                .join("blobs/sha256")
                .join(index_digest.trim_start_matches("sha256:")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(published["mediaType"], stage["mediaType"]);
    let (new, old) = (
        published["manifests"].as_array().unwrap(),
        stage["manifests"].as_array().unwrap(),
    );
    assert_eq!(new.len(), 2);
    for (n, o) in new.iter().zip(old) {
        assert_eq!(n["platform"], o["platform"], "platforms kept in order");
        assert_ne!(n["digest"], o["digest"], "a new manifest per platform");
        let child = format!("{repo}/multi@{}", n["digest"].as_str().unwrap());
        let l = labels(&skopeo, &child);
        assert_eq!(l["werf-image-name"], "multi", "{child}");
        assert_eq!(l["werf-content-signature"], sig.as_str(), "{child}");
        let old_layers = stage_layers(&dir, o["digest"].as_str().unwrap());
        assert_eq!(
            layers(&skopeo.inspect_raw(&child)),
            old_layers,
            "same layers: {child}"
        );
    }
}

#[test]
fn the_example_stages_cache_round_trips_through_stages_pull() {
    let reg = Registry::start();
    let (_t, dir) = project();
    let repo = format!("{}/rt", reg.host);
    assert_success(&publish(
        &dir,
        &repo,
        &["--tag-custom", "v1", "--with-stages"],
    ));
    // Runner B: an empty directory with only werf.yaml.
    let (_t2, b) = project();
    std::fs::remove_dir_all(b.join(".werf")).unwrap();
    let mut c = werf_push();
    c.args(["stages", "pull", "--repo", &repo, "--dir"]).arg(&b);
    assert_success(&run(&mut c));
    let key = |d: &Path| {
        let mut v = stages(d);
        v.sort();
        v
    };
    assert_eq!(
        key(&b),
        key(&dir),
        "every stage restored with its annotations"
    );
    let out = publish(
        &b,
        &repo,
        &["--tag-custom", "v1", "--with-stages", "--json"],
    );
    assert_success(&out);
    let s = summary(&out);
    assert_eq!(s["bytes_sent"], 0, "{s}");
    let tags = s["tags"].as_array().unwrap();
    assert!(!tags.is_empty(), "no tag in the summary: {s}");
    assert!(tags.iter().all(|t| t["status"] == "up-to-date"), "{s}");
}
