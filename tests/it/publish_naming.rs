//! How `werf-push publish` names and labels what it pushes, against a real docker-registry
//! (read back with skopeo): every tag strategy in multirepo mode with werf's labels and the
//! stage's layers, monorepo and nameless images, an explicit mode that contradicts the
//! registry refused before any request, one image published by name, the publish report
//! with every tag, and `slugify` and `stages list` of the example.

use crate::support::cmd::{assert_failure, assert_success, run, werf_push};
use crate::support::example::{
    index, labels, last_stage, layers, project, publish, stage_layers, EXAMPLE,
};
use crate::support::registry::Registry;
use crate::support::skopeo::Skopeo;
use serde_json::Value;

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
