//! A registry on object storage, as Harbor and GitLab keep blobs in S3: `docker-registry`
//! with its S3 driver on moto's S3 emulator (`support::s3`). A few representative tests of
//! the filesystem registry run here too (publish with the stages cache, pull and publish
//! again, an interrupted push), and a stall of the store: a closing `PUT` whose answer
//! comes after the client's timeout, which the registry completed meanwhile, is not sent
//! again (werf-push asks with a `HEAD` first).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::layouts::read_blob;
use crate::support::proxy::{Proxy, ProxyConfig};
use crate::support::registry::{Registry, RegistryOptions};
use crate::support::s3::S3;
use crate::support::scenario::{
    assert_reads_back_identical, big_image, oci, push, push_command, tmp, MIB,
};

/// A registry on a fresh S3 emulator (the emulator lives as long as the registry).
fn s3_registry() -> (Registry, S3) {
    let s3 = S3::start();
    let reg = RegistryOptions::new()
        .s3(&s3.endpoint(), S3::BUCKET)
        .start();
    (reg, s3)
}

#[test]
fn publish_with_stages_pull_and_publish_again_on_s3() {
    let (reg, s3) = s3_registry();
    crate::stages_pull_transfer::round_trip(&reg);
    // The blobs are in the bucket, not on the registry's disk.
    let blobs = s3.keys("registry/docker/registry/v2/blobs/");
    assert!(blobs.iter().any(|k| k.ends_with("/data")), "{blobs:?}");
}

#[test]
fn push_reads_back_and_a_stalled_put_is_not_sent_again_on_s3() {
    let (reg, _s3) = s3_registry();
    let t = tmp();
    let src = t.path().join("src");
    let (digest, bytes) = big_image(&src, 3 * MIB, 61);
    // The store stalls on the big layer's PUT: the registry completes it, its answer
    // arrives 4 s later, past the 1 s --response-timeout.
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            hold_put_answer: Some((MIB as u64, Duration::from_secs(4))),
            ..Default::default()
        },
    );
    let out = push(&[
        "--response-timeout",
        "1",
        "--upload-strategy",
        "monolithic",
        "-v",
        &oci(&src),
        &format!("{}/stall:v1", proxy.host),
    ]);
    crate::support::cmd::assert_success(&out);
    let stats = proxy.stats();
    assert_eq!(stats.faults, 1, "the PUT's answer was held once");
    assert_eq!(
        stats.upload_bytes,
        bytes,
        "every blob sent once (the held one not again)\n{}",
        out.describe()
    );
    // After the unanswered PUT of the big layer, a HEAD of it said it was there.
    let manifest: serde_json::Value = serde_json::from_slice(&read_blob(&src, &digest)).unwrap();
    let big = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["size"].as_u64().unwrap() >= MIB as u64)
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let put = stats
        .arrivals
        .iter()
        .position(|(m, t)| m == "PUT" && t.contains(&big.replace(':', "%3A")))
        .expect("the big layer's PUT");
    let heads_after = stats.arrivals[put..]
        .iter()
        .filter(|(m, t)| m == "HEAD" && t.ends_with(&format!("/blobs/{big}")))
        .count();
    assert_eq!(heads_after, 1, "{:?}\n{}", stats.arrivals, out.describe());
    assert_reads_back_identical(&format!("{}/stall:v1", reg.host), &src, &digest);
}

#[test]
fn sigterm_mid_push_leaves_no_upload_session_on_s3() {
    let (reg, s3) = s3_registry();
    let t = tmp();
    let src = t.path().join("src");
    crate::support::layouts::image(
        &src,
        &[24 * MIB; 3],
        41,
        crate::support::layouts::Format::Oci,
        None,
    );
    let mut c = push_command(&[
        "--upload-strategy",
        "chunked",
        "--chunk-size",
        "4MiB",
        "--jobs",
        "3",
        &oci(&src),
        &format!("{}/stopped:v1", reg.host),
    ]);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("start werf-push");
    // Two chunks stored in two sessions: uploads are under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let patched: std::collections::BTreeSet<String> = reg
            .access_log()
            .into_iter()
            .filter(|r| r.method == "PATCH" && r.status == 202)
            .map(|r| r.path().to_string())
            .collect();
        if patched.len() >= 2 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the push ended ({status}) before two uploads were under way");
        }
        assert!(Instant::now() < deadline, "no uploads under way");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: signals the werf-push this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let out = child.wait_with_output().expect("wait for werf-push");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "stderr:\n{stderr}");
    assert!(!reg.tag_exists("stopped", "v1"), "a tag was written");
    // Sessions are those with a `startedat` or `data` key: a cancelled one leaves only
    // `hashstates/sha256/0` behind (see `scenario::upload_sessions`).
    let left: Vec<String> = s3
        .keys("registry/docker/registry/v2/repositories/stopped/_uploads/")
        .into_iter()
        .filter(|k| k.ends_with("/startedat") || k.ends_with("/data"))
        .collect();
    assert!(
        left.is_empty(),
        "upload sessions left in the bucket: {left:?}\n{stderr}"
    );
}
