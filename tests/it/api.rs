//! The library facade (`werf_push_api::Client`) against a real `docker-registry`, read back
//! with `skopeo`: a layout's image pushed to two tags, a werf project published with its
//! stages and the stages pulled back into an empty storage, and bad input refused before a
//! byte is written, each in the few lines a program using the library writes.

use std::path::Path;

use werf_push_api::{Client, Error, ErrorKind, Publish};

use crate::support::cmd::{run, werf_push};
use crate::support::layouts::{self, Format};
use crate::support::registry::{free_port, Registry};
use crate::support::scenario::{assert_reads_back_identical, oci, tmp, KIB};
use crate::support::skopeo::Skopeo;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

/// A client for the plain-HTTP test registry, anonymous.
fn client() -> Client {
    Client::builder().insecure(true).build()
}

#[test]
fn push_sends_a_layout_image_to_two_tags_that_skopeo_reads_back() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("oci");
    let digest = layouts::image(&src, &[64 * KIB, 4 * KIB], 7, Format::Oci, None);
    let dests = [format!("{}/app:v1", reg.host), format!("{}/app", reg.host)];
    let summary = block_on(client().push(&oci(&src), &dests)).expect("the push succeeds");
    assert_eq!(summary.tags.len(), 2, "{summary:?}");
    assert_eq!(
        summary.blobs_pushed, 3,
        "config and two layers: {summary:?}"
    );
    assert_reads_back_identical(&format!("{}/app:v1", reg.host), &src, &digest);
    // No tag given: `latest`, as docker push does.
    assert_reads_back_identical(&format!("{}/app:latest", reg.host), &src, &digest);
}

#[test]
fn bad_input_is_refused_with_its_class_and_nothing_is_written() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("oci");
    layouts::image(&src, &[4 * KIB], 8, Format::Oci, None);
    let wrong = format!("sha256:{}", "0".repeat(64));
    let cases: Vec<(String, Vec<String>, ErrorKind, &str)> = vec![
        (
            oci(&src),
            vec![format!("{}/app@{wrong}", reg.host)],
            ErrorKind::Usage,
            "names a digest",
        ),
        (
            oci(&src),
            vec![format!("{}/UPPER:v1", reg.host)],
            ErrorKind::Usage,
            "UPPER",
        ),
        (
            src.display().to_string(),
            vec![format!("{}/app:v1", reg.host)],
            ErrorKind::Usage,
            "(here: oci:",
        ),
        (
            oci(&t.path().join("missing")),
            vec![format!("{}/app:v1", reg.host)],
            ErrorKind::Usage,
            "missing",
        ),
    ];
    for (source, dests, kind, says) in cases {
        let e = block_on(client().push(&source, &dests)).expect_err(&source);
        let line = werf_push_api::error_chain(&e);
        assert_eq!(e.kind(), kind, "{source} {dests:?}: {line}");
        assert!(
            line.contains(says),
            "{source} {dests:?}: '{says}' in: {line}"
        );
    }
    let writes: Vec<_> = reg
        .requests()
        .into_iter()
        .filter(|(m, _)| m != "GET" && m != "HEAD")
        .collect();
    assert!(
        writes.is_empty(),
        "bad input wrote to the registry: {writes:?}"
    );
}

#[test]
fn an_unreachable_registry_is_a_network_error_with_the_summary() {
    let t = tmp();
    let src = t.path().join("oci");
    layouts::image(&src, &[4 * KIB], 9, Format::Oci, None);
    let client = Client::builder()
        .insecure(true)
        .retries(0, std::time::Duration::from_secs(1))
        .build();
    let dest = format!("127.0.0.1:{}/app:v1", free_port());
    match block_on(client.push(&oci(&src), [dest.as_str()])) {
        Err(e @ Error::Push { .. }) => assert_eq!(e.kind(), ErrorKind::Network, "{e}"),
        other => panic!("want a push failure, got {other:?}"),
    }
}

/// `werf-push stages add` of a directory holding `data`: one stage of image `backend`.
fn add_stage(stages: &Path, stage: &str, data: &str, parent: Option<&str>) -> String {
    let dir = stages.with_extension(format!("src-{stage}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data"), data).unwrap();
    let mut c = werf_push();
    c.args(["stages", "add", "--image", "backend", "--stage", stage])
        .args(["--json", "--from-dir"])
        .arg(&dir)
        .arg("--stages-dir")
        .arg(stages);
    if let Some(p) = parent {
        c.args(["--parent", p]);
    }
    let out = run(&mut c);
    assert!(out.success(), "{}", out.describe());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    v["signature"].as_str().unwrap().to_string()
}

#[test]
fn publish_with_stages_then_pull_stages_restores_the_chain() {
    let reg = Registry::start();
    let t = tmp();
    let project = t.path().join("project");
    let stages = project.join(".werf/stages");
    let from = add_stage(&stages, "from", "base", None);
    let install = add_stage(&stages, "install", "deps", Some(&from));
    let repo = format!("{}/project", reg.host);
    let client = client();

    let publish = Publish::new(&project, &stages, &repo)
        .tag_custom("v1")
        .with_stages(true);
    let published = block_on(client.publish(&publish)).expect("the publish succeeds");
    let reference = format!("{repo}/backend:v1");
    let entry = published
        .report
        .references
        .iter()
        .find(|r| r.reference == reference)
        .unwrap_or_else(|| panic!("{reference} in {:?}", published.report));
    let raw = Skopeo::new().inspect_raw(&reference);
    assert_eq!(
        crate::support::cmd::sha256_digest(&raw),
        entry.docker_image_digest,
        "the registry serves the reported digest"
    );
    for sig in [&from, &install] {
        assert!(
            reg.tag_exists("project", &format!("image-stage-{sig}")),
            "{sig}"
        );
    }

    let back = t.path().join("back");
    let report = block_on(client.pull_stages(&back, &repo)).expect("the pull succeeds");
    let mut pulled: Vec<_> = report.pulled.iter().map(|s| s.signature.clone()).collect();
    pulled.sort();
    let mut want = vec![from, install];
    want.sort();
    assert_eq!(pulled, want, "{report:?}");
    assert!(report.incomplete(&repo).is_none(), "{report:?}");
}
