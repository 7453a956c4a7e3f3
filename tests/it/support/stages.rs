//! Helpers of the stages tests (`stages_*.rs`; the example project's stages too):
//! `werf-push` run on a stages storage (`--stages-dir`) and its JSON output, the storage's
//! entries read back, runner A's storage (two images, one stage with a large layer) and
//! that storage published `--with-stages`, and `stages pull` runs checked for panics.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::cmd::{assert_success, run, werf_push, Output};
use super::layouts::{index_json, layer_digests, random_bytes, read_blob};
use super::registry::Registry;
use super::scenario::assert_no_panic;

/// `werf-push ARGS... --stages-dir STAGES`, whatever its status.
pub fn wp(args: &[&str], stages: &Path) -> Output {
    let mut c = werf_push();
    c.args(args).arg("--stages-dir").arg(stages);
    run(&mut c)
}

/// [`wp`], which must succeed.
pub fn ok(args: &[&str], stages: &Path) -> Output {
    let out = wp(args, stages);
    assert_success(&out);
    out
}

/// The JSON `out` printed on stdout (panics, showing `out`, when it is not JSON).
pub fn json_out(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("JSON: {e}\n{}", out.describe()))
}

/// [`entry_list`] as a set.
pub fn entries(stages: &Path) -> BTreeSet<(String, String, String, String)> {
    entry_list(stages).into_iter().collect()
}

/// (image, stage, signature, manifest digest) of every entry of the stages storage
/// `stages`, in the order of its `index.json`; each entry's ref name is checked to be its
/// signature.
pub fn entry_list(stages: &Path) -> Vec<(String, String, String, String)> {
    index_json(stages)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let a = &m["annotations"];
            let s = |k: &str| a[k].as_str().unwrap().to_string();
            assert_eq!(
                a["org.opencontainers.image.ref.name"],
                a["io.werf.signature"]
            );
            (
                s("io.werf.image"),
                s("io.werf.stage"),
                s("io.werf.signature"),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Blob `digest` of the layout `layout` (a manifest or a config), parsed.
pub fn manifest(layout: &Path, digest: &str) -> Value {
    serde_json::from_slice(&read_blob(layout, digest)).unwrap()
}

/// Runner A's storage: image backend (from, install with a large layer), frontend (from).
pub fn runner_a(tmp: &Path, big: usize) -> PathBuf {
    let stages = tmp.join("a-stages");
    let dir = |name: &str, data: Vec<u8>| {
        let d = tmp.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("data"), data).unwrap();
        d
    };
    let from = dir("from", b"base".to_vec());
    let install = dir("install", random_bytes(7, big));
    let front = dir("front", b"frontend".to_vec());
    let f = json_out(&ok(
        &[
            "stages",
            "add",
            "--image",
            "backend",
            "--stage",
            "from",
            "--from-dir",
            from.to_str().unwrap(),
            "--json",
        ],
        &stages,
    ));
    ok(
        &[
            "stages",
            "add",
            "--image",
            "backend",
            "--stage",
            "install",
            "--from-dir",
            install.to_str().unwrap(),
            "--parent",
            f["signature"].as_str().unwrap(),
        ],
        &stages,
    );
    ok(
        &[
            "stages",
            "add",
            "--image",
            "frontend",
            "--stage",
            "from",
            "--from-dir",
            front.to_str().unwrap(),
        ],
        &stages,
    );
    stages
}

/// The layer digest of the `install` stage of [`runner_a`]'s storage `stages` (its large
/// layer).
pub fn big_layer(stages: &Path) -> String {
    entries(stages)
        .iter()
        .filter(|e| e.1 == "install")
        .map(|e| layer_digests(&manifest(stages, &e.3)).pop().unwrap())
        .next()
        .unwrap()
}

/// runner_a's project (backend from and install with a layer of `big` bytes, frontend
/// from) published with `--with-stages` to `REG/app`; returns its storage.
pub fn published(reg: &Registry, tmp: &Path, big: usize) -> std::path::PathBuf {
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

/// `werf-push publish --dir DIR --repo REPO --tag-custom TAG --with-stages --json` with
/// the stages storage `DIR/.werf/stages`, which must succeed; its JSON summary.
pub fn publish(dir: &Path, repo: &str, tag: &str) -> Value {
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

/// `werf-push stages pull --repo PROXY/app EXTRA...` into `stages`, checked for panics.
pub fn pull_through(proxy: &str, stages: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["stages", "pull", "--repo"];
    let repo = format!("{proxy}/app");
    args.push(&repo);
    args.extend_from_slice(extra);
    let out = wp(&args, stages);
    assert_no_panic(&out);
    out
}
