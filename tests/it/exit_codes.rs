//! Exit codes: every error answers its class (`kind()`) and the command line maps
//! classes to exit codes in one place. One case per class through every command that
//! talks to a registry (push, publish, stages pull, bench), against real registries (plain,
//! htpasswd, read-only) and a proxy in front (a refusing tag list, a silent server for
//! the interrupt). Regression cases: a 401 in `stages pull` (was 1 with no login hint), a
//! stage that is a nested index (was 2 "see publish --help"), a connection lost in the
//! middle of a push (was 1).

use std::path::Path;
use std::time::Duration;

use crate::support::cmd::{run, werf_push, Output};
use crate::support::layouts::{image, Format};
use crate::support::proxy::{Proxy, ProxyConfig, StatusFault};
use crate::support::proxy_hostile::{Hostile, HostileKind};
use crate::support::registry::{Registry, RegistryOptions};
use crate::support::scenario::{assert_no_panic, tmp};

fn wp<S: AsRef<std::ffi::OsStr>>(args: &[S], extra: &[&str]) -> Output {
    let mut c = werf_push();
    c.args(args).args(extra);
    let out = run(&mut c);
    assert_no_panic(&out);
    out
}

#[track_caller]
fn expect(out: &Output, what: &str, code: i32) {
    assert_eq!(
        out.code(),
        Some(code),
        "{what}: exit code\n{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("error:"),
        "{what}: no error line\n{}",
        out.describe()
    );
}

/// `v` as owned strings.
fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// What the four commands that talk to a registry work on: an OCI layout (`src`), a
/// werf project (`project`) and a fresh stages directory (`out`).
#[derive(Clone, Copy)]
struct Inputs<'a> {
    src: &'a str,
    project: &'a str,
    out: &'a str,
}

impl Inputs<'_> {
    /// The four commands, as arguments for repository `codes` at registry `host`.
    fn commands(&self, host: &str) -> Vec<(&'static str, Vec<String>)> {
        vec![
            (
                "push",
                strings(&["push", self.src, &format!("{host}/codes:v1")]),
            ),
            (
                "publish",
                strings(&[
                    "publish",
                    "--dir",
                    self.project,
                    "--repo",
                    &format!("{host}/codes"),
                    "--tag-custom",
                    "v1",
                ]),
            ),
            (
                "stages pull",
                strings(&[
                    "stages",
                    "pull",
                    "--repo",
                    &format!("{host}/codes"),
                    "--stages-dir",
                    self.out,
                ]),
            ),
            (
                "bench",
                strings(&[
                    "bench",
                    "--repo",
                    &format!("{host}/codes-bench"),
                    "--blobs",
                    "1",
                    "--blob-size",
                    "64KiB",
                    "--rounds",
                    "1",
                    "--warm-rounds",
                    "0",
                ]),
            ),
        ]
    }
}

#[test]
fn every_class_through_every_registry_command() {
    let t = tmp();
    let src = t.path().join("layout");
    image(&src, &[4096], 3, Format::Oci, None);
    let src = format!("oci:{}", src.display());
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example");
    let out = t.path().join("pulled");
    let inputs = Inputs {
        src: &src,
        project: example.to_str().unwrap(),
        out: out.to_str().unwrap(),
    };
    let plain = Registry::start();
    publish_something_to_pull(&plain, &inputs);
    usage_errors_exit_2(&plain, &inputs);
    a_broken_stages_storage_exits_3(t.path(), &plain);
    nothing_listening_exits_4(&inputs);
    missing_credentials_exit_5_with_a_login_hint(&inputs);
    registry_refusals_exit_1(&plain, &inputs);
    ctrl_c_while_the_registry_is_silent_exits_130(&plain, &inputs);
}

/// Something to pull, so that a pull has work to fail at.
fn publish_something_to_pull(plain: &Registry, inputs: &Inputs) {
    let with_stages = wp(
        &[
            "publish".into(),
            "--dir".into(),
            inputs.project.into(),
            "--repo".into(),
            format!("{}/codes", plain.host),
            "--tag-custom".into(),
            "v1".into(),
            "--with-stages".into(),
        ],
        &[],
    );
    assert_eq!(with_stages.code(), Some(0), "{}", with_stages.describe());
}

/// usage (2): a repository name in upper case, for each command.
fn usage_errors_exit_2(plain: &Registry, inputs: &Inputs) {
    for (name, args) in inputs.commands(&format!("{}/UPPER", plain.host)) {
        expect(&wp(&args, &[]), &format!("usage: {name}"), 2);
    }
}

/// layout (3): a broken layout or stages storage.
fn a_broken_stages_storage_exits_3(dir: &Path, plain: &Registry) {
    let broken = dir.join("broken");
    std::fs::create_dir_all(broken.join(".werf/stages/blobs/sha256")).unwrap();
    std::fs::write(
        broken.join(".werf/stages/oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(broken.join(".werf/stages/index.json"), b"{ not json").unwrap();
    let b = broken.to_str().unwrap();
    let bs = format!("oci:{b}/.werf/stages");
    let bout = format!("{b}/.werf/stages");
    let (repo, bench) = (
        format!("{}/codes", plain.host),
        format!("{}/codes-bench", plain.host),
    );
    let cases = [
        ("push", strings(&["push", &bs, &format!("{repo}:v2")])),
        (
            "publish",
            strings(&["publish", "--dir", b, "--repo", &repo, "--tag-custom", "v2"]),
        ),
        (
            "stages pull",
            strings(&["stages", "pull", "--repo", &repo, "--stages-dir", &bout]),
        ),
        (
            "bench",
            strings(&[
                "bench",
                "--repo",
                &bench,
                "--from",
                &bs,
                "--rounds",
                "1",
                "--warm-rounds",
                "0",
            ]),
        ),
    ];
    for (name, args) in cases {
        expect(&wp(&args, &[]), &format!("layout: {name}"), 3);
    }
}

/// network (4): nothing listens there.
fn nothing_listening_exits_4(inputs: &Inputs) {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    for (name, args) in inputs.commands(&dead) {
        expect(
            &wp(&args, &["--retries", "1"]),
            &format!("network: {name}"),
            4,
        );
    }
}

/// auth (5): a registry with htpasswd and no credentials; a login hint.
fn missing_credentials_exit_5_with_a_login_hint(inputs: &Inputs) {
    let locked = RegistryOptions::new().htpasswd().start();
    for (name, args) in inputs.commands(&locked.host) {
        let o = wp(&args, &[]);
        expect(&o, &format!("auth: {name}"), 5);
        assert!(
            o.stderr.contains("hint: log in"),
            "auth: {name}: no login hint\n{}",
            o.describe()
        );
    }
}

/// registry (1): a read-only registry refuses writes; a tag list that always fails.
fn registry_refusals_exit_1(plain: &Registry, inputs: &Inputs) {
    let readonly = RegistryOptions::new()
        .storage_extra("maintenance:\n  readonly:\n    enabled: true")
        .start();
    for (name, args) in inputs.commands(&readonly.host) {
        if name == "stages pull" {
            continue; // reads work on a read-only registry: below, through a proxy
        }
        expect(&wp(&args, &[]), &format!("registry: {name}"), 1);
    }
    let refusing = Proxy::start(
        &plain.host,
        ProxyConfig {
            status_faults: vec![StatusFault::new(Some("GET"), "/tags/list", 500).times(u32::MAX)],
            ..Default::default()
        },
    );
    let pull = &inputs.commands(&refusing.host)[2].1;
    expect(&wp(pull, &["--retries", "1"]), "registry: stages pull", 1);
}

/// interrupted (130): Ctrl-C while the registry is silent.
fn ctrl_c_while_the_registry_is_silent_exits_130(plain: &Registry, inputs: &Inputs) {
    let silent = Proxy::start(
        &plain.host,
        ProxyConfig {
            hostile: vec![
                Hostile::new(Some("HEAD"), "/", HostileKind::Silent),
                Hostile::new(Some("GET"), "/tags/list", HostileKind::Silent),
                Hostile::new(Some("POST"), "/blobs/uploads", HostileKind::Silent),
            ],
            ..Default::default()
        },
    );
    let out = format!("{}-int", inputs.out);
    let inputs = Inputs {
        out: &out,
        ..*inputs
    };
    for (name, args) in inputs.commands(&silent.host) {
        let mut c = werf_push();
        c.args(&args)
            .args(["--response-timeout", "20"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = c.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        // SAFETY: sending SIGINT to our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(130),
            "interrupted: {name}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// A 401 in `stages pull` is an auth failure (5) with a login hint (was exit 1, no hint).
#[test]
fn unauthorized_pull_exits_5_with_a_login_hint() {
    let t = tmp();
    let locked = RegistryOptions::new().htpasswd().start();
    let stages = t.path().join("s");
    let args = [
        "stages",
        "pull",
        "--repo",
        &format!("{}/x", locked.host),
        "--stages-dir",
        stages.to_str().unwrap(),
    ];
    let out = wp(&args, &[]);
    expect(&out, "pull 401", 5);
    assert!(
        out.stderr.contains("hint: log in with `docker login"),
        "{}",
        out.describe()
    );
}

/// A stage that is an index of an index is a broken stages storage (3), not a usage error.
#[test]
fn a_nested_index_stage_exits_3() {
    use serde_json::json;
    use werf_push_layout::{LayoutWriter, REF_NAME};
    use werf_push_spec::media_type as mt;
    let t = tmp();
    let project = t.path().join("p");
    let stages = project.join(".werf/stages");
    let inner_dir = t.path().join("inner");
    let child = image(&inner_dir, &[1024], 9, Format::Oci, None);
    // Copy the child image's blobs into the storage, then wrap it twice in indexes.
    std::fs::create_dir_all(stages.join("blobs/sha256")).unwrap();
    for e in std::fs::read_dir(inner_dir.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), stages.join("blobs/sha256").join(e.file_name())).unwrap();
    }
    let mut w = LayoutWriter::create(&stages).unwrap();
    let size = std::fs::metadata(
        stages
            .join("blobs/sha256")
            .join(child.trim_start_matches("sha256:")),
    )
    .unwrap()
    .len();
    let inner = json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": [
        {"mediaType": mt::OCI_MANIFEST, "digest": child, "size": size, "platform": {"os": "linux", "architecture": "amd64"}}]});
    let id = w
        .write_blob(&serde_json::to_vec(&inner).unwrap(), mt::OCI_INDEX)
        .unwrap();
    let outer = json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": [
        {"mediaType": mt::OCI_INDEX, "digest": id.digest.to_string(), "size": id.size}]});
    let od = w
        .write_blob(&serde_json::to_vec(&outer).unwrap(), mt::OCI_INDEX)
        .unwrap();
    let sig = "abcdef0123";
    w.add_entry(&od, json!({"annotations": {REF_NAME: sig, "io.werf.image": "app", "io.werf.stage": "from", "io.werf.signature": sig}}));
    w.commit().unwrap();
    let reg = Registry::start();
    let args = [
        "publish",
        "--dir",
        project.to_str().unwrap(),
        "--repo",
        &format!("{}/n", reg.host),
        "--tag-custom",
        "v1",
    ];
    let out = wp(&args, &[]);
    expect(&out, "nested index", 3);
    assert!(
        !out.stderr.contains("see `werf-push publish --help`"),
        "{}",
        out.describe()
    );
}

/// A connection that keeps being cut in the middle of an upload is a network failure (4)
/// once the retries are spent (was exit 1).
#[test]
fn a_connection_lost_mid_push_exits_4() {
    let t = tmp();
    let src = t.path().join("l");
    image(&src, &[1 << 20], 4, Format::Oci, None);
    let reg = Registry::start();
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            cut_at: (0..50).map(|i| 1000 + i * 300_000).collect(),
            ..Default::default()
        },
    );
    let args = [
        "push",
        "--retries",
        "1",
        "--upload-strategy",
        "monolithic",
        &format!("oci:{}", src.display()),
        &format!("{}/cut:v1", proxy.host),
    ];
    let out = wp(&args, &[]);
    expect(&out, "cut", 4);
    assert!(!reg.tag_exists("cut", "v1"));
}
