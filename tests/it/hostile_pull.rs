//! Hostile answers to `stages pull`: stage tags a registry holds that are an empty index,
//! or whose labels carry terminal escape codes or names of 10,000 characters, are reported
//! (unidentified or skipped), escaped and cut, and never panic the puller.

use serde_json::json;
use werf_push_layout::{LayoutWriter, REF_NAME};
use werf_push_spec::media_type as mt;

use crate::support::cmd::{assert_success, run, werf_push};
use crate::support::layouts::gzip_layer;
use crate::support::registry::Registry;
use crate::support::scenario::{assert_no_panic, push, tmp};

const SIG_EMPTY: &str = "aaaa000000000000000000000000000000000000000000000000000a";
const SIG_ESC: &str = "bbbb000000000000000000000000000000000000000000000000000b";

#[test]
fn pull_survives_an_empty_index_and_escape_codes_in_labels() {
    let reg = Registry::start();
    let t = tmp();
    let dir = t.path().join("layout");
    let mut w = LayoutWriter::create(&dir).unwrap();
    let empty = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    let d = w.write_blob(empty, mt::OCI_INDEX).unwrap();
    w.add_entry(&d, json!({"annotations": {REF_NAME: "empty"}}));
    let md = labelled_stage(&w, "x\u{1b}]0;pwned\u{7}", "from");
    w.add_entry(&md, json!({"annotations": {REF_NAME: "esc"}}));
    w.commit().unwrap();
    for (name, sig) in [("empty", SIG_EMPTY), ("esc", SIG_ESC)] {
        let src = format!("oci:{}:{name}", dir.display());
        let dest = format!("{}/app:image-stage-{sig}", reg.host);
        let out = push(&[&src, &dest]);
        assert_success(&out);
    }
    let stages = t.path().join("pulled");
    for json_out in [false, true] {
        let mut c = werf_push();
        c.args([
            "stages",
            "pull",
            "--repo",
            &format!("{}/app", reg.host),
            "--stages-dir",
        ])
        .arg(&stages);
        if json_out {
            c.arg("--json");
        }
        let out = run(&mut c);
        assert_no_panic(&out);
        assert_success(&out);
        assert!(
            !out.stdout.contains('\u{1b}') && !out.stderr.contains('\u{1b}'),
            "a raw escape code reached the output\n{}",
            out.describe()
        );
        for sig in [SIG_EMPTY, SIG_ESC] {
            assert!(
                out.stdout.contains(&format!("image-stage-{sig}")),
                "tag {sig} not reported\n{}",
                out.describe()
            );
        }
        if json_out {
            let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            assert_eq!(v["unidentified"].as_array().map(Vec::len), Some(2), "{v}");
        }
    }
}

/// A stage manifest (one small layer) whose config labels name `image` and `stage`.
fn labelled_stage(w: &LayoutWriter, image: &str, stage: &str) -> werf_push_spec::Descriptor {
    let (layer, diff_id) = gzip_layer("f", 100, 1);
    let ld = w.write_blob(&layer, mt::OCI_LAYER_GZIP).unwrap();
    let cfg = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "config": {"Labels": {"io.werf.image": image, "io.werf.stage": stage}},
    });
    let cd = w
        .write_blob(&serde_json::to_vec(&cfg).unwrap(), mt::OCI_CONFIG)
        .unwrap();
    let m = json!({
        "schemaVersion": 2, "mediaType": mt::OCI_MANIFEST,
        "config": {"mediaType": mt::OCI_CONFIG, "digest": cd.digest.to_string(), "size": cd.size},
        "layers": [{"mediaType": mt::OCI_LAYER_GZIP, "digest": ld.digest.to_string(), "size": ld.size}],
    });
    w.write_blob(&serde_json::to_vec(&m).unwrap(), mt::OCI_MANIFEST)
        .unwrap()
}

const SIG_LONG_IMAGE: &str = "cccc000000000000000000000000000000000000000000000000000c";
const SIG_LONG_STAGE: &str = "cccc000000000000000000000000000000000000000000000000000d";

/// Regression: names from a registry were printed whole (10 KB lines): an image or stage
/// name of 10,000 characters is shown cut to 256 (then `…`), in text and in `--json`.
#[test]
fn names_from_a_registry_are_cut() {
    let reg = Registry::start();
    let t = tmp();
    let dir = t.path().join("layout");
    let mut w = LayoutWriter::create(&dir).unwrap();
    let long = "n".repeat(10_000);
    let cases = [
        ("image", labelled_stage(&w, &long, "from"), SIG_LONG_IMAGE),
        ("stage", labelled_stage(&w, "app", &long), SIG_LONG_STAGE),
    ];
    for (name, d, _) in &cases {
        w.add_entry(d, json!({"annotations": {REF_NAME: name}}));
    }
    w.commit().unwrap();
    for (name, _, sig) in &cases {
        let src = format!("oci:{}:{name}", dir.display());
        let out = push(&[&src, &format!("{}/app:image-stage-{sig}", reg.host)]);
        assert_success(&out);
    }
    let cut = format!("{}…", "n".repeat(256));
    for json_out in [false, true] {
        let mut c = werf_push();
        c.args([
            "stages",
            "pull",
            "--repo",
            &format!("{}/app", reg.host),
            "--stages-dir",
        ])
        .arg(t.path().join(format!("pulled-{json_out}")));
        if json_out {
            c.arg("--json");
        }
        let out = run(&mut c);
        assert_no_panic(&out);
        assert_success(&out);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            !all.contains(&"n".repeat(257)),
            "a name shown whole\n{}",
            out.describe()
        );
        // Both names, cut (the skipped stage is said on stderr too).
        let want = if json_out { 3 } else { 2 };
        assert_eq!(all.matches(&cut).count(), want, "{}", out.describe());
    }
}
