//! Hostile answers to `stages pull` (issue 12, items 7 and 10): stage tags a registry holds
//! that are an empty index, or whose labels carry terminal escape codes, are reported as
//! unidentified, escaped, and never panic the puller.

use serde_json::json;
use werf_push::layout::{LayoutWriter, REF_NAME};
use werf_push::spec::media_type as mt;

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
    let (layer, diff_id) = gzip_layer("f", 100, 1);
    let ld = w.write_blob(&layer, mt::OCI_LAYER_GZIP).unwrap();
    let cfg = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "config": {"Labels": {"io.werf.image": "x\u{1b}]0;pwned\u{7}", "io.werf.stage": "from"}},
    });
    let cd = w
        .write_blob(&serde_json::to_vec(&cfg).unwrap(), mt::OCI_CONFIG)
        .unwrap();
    let m = json!({
        "schemaVersion": 2, "mediaType": mt::OCI_MANIFEST,
        "config": {"mediaType": mt::OCI_CONFIG, "digest": cd.digest.to_string(), "size": cd.size},
        "layers": [{"mediaType": mt::OCI_LAYER_GZIP, "digest": ld.digest.to_string(), "size": ld.size}],
    });
    let md = w
        .write_blob(&serde_json::to_vec(&m).unwrap(), mt::OCI_MANIFEST)
        .unwrap();
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
        .arg(&stages)
        .env("NO_COLOR", "1");
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
