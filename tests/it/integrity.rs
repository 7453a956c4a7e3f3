//! Reliability, data integrity: a corrupted blob in the
//! layout is reported with its path and digest and no tag is written (even when the
//! registry's error bodies are plain text); Ctrl-C cancels open uploads, writes no manifest
//! and exits 130; four concurrent publishers of overlapping images all succeed and every
//! tag reads back identical with skopeo.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use werf_push_layout::LayoutWriter;

use crate::support::cmd::assert_failure;
use crate::support::layouts::{self, Format};
use crate::support::proxy::{Proxy, ProxyConfig};
use crate::support::registry::Registry;
use crate::support::scenario::*;

/// The error line of a failed run (`error: ...`).
#[track_caller]
#[test]
fn corrupted_blob_is_reported_with_path_and_digest_and_no_tag() {
    let reg = Registry::start();
    // (strategy, plain-text error bodies: the DIGEST_INVALID code is lost, the local hash
    // check finds it)
    let cases = [
        ("monolithic", false),
        ("chunked", false),
        ("monolithic", true),
        ("chunked", true),
    ];
    for (i, (strategy, plain)) in cases.into_iter().enumerate() {
        let t = tmp();
        let src = t.path().join("src");
        let (digest, blob_bytes) = big_image(&src, 2 * MIB, 20 + i as u64);
        let manifest: Value = serde_json::from_slice(&layouts::read_blob(&src, &digest)).unwrap();
        let victim = manifest["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let path = layouts::blob_path(&src, &victim);
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let proxy = Proxy::start(
            &reg.host,
            ProxyConfig {
                plain_text_errors: plain,
                ..Default::default()
            },
        );
        let repo = format!("corrupt{i}");
        let out = push(&[
            "--upload-strategy",
            strategy,
            "--chunk-size",
            "512KiB",
            &oci(&src),
            &format!("{}/{repo}:v1", proxy.host),
        ]);
        proxy.report(
            &format!("corrupted blob ({strategy}, plain={plain})"),
            blob_bytes,
        );
        assert_failure(&out);
        assert_eq!(out.code(), Some(3), "{}", out.describe());
        let line = error_line(&out);
        assert!(line.contains(&victim), "no digest in: {line}");
        assert!(
            line.contains(&path.display().to_string()),
            "no path in: {line}"
        );
        let puts: Vec<_> = proxy
            .stats()
            .log
            .into_iter()
            .filter(|l| l.method == "PUT" && l.target.contains("/manifests/"))
            .collect();
        assert!(puts.is_empty(), "manifest written: {puts:?}");
        assert!(!reg.tag_exists(&repo, "v1"));
    }
}

#[test]
fn ctrl_c_cancels_open_uploads_writes_no_manifest_and_exits_130() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let (_, blob_bytes) = big_image(&src, 8 * MIB, 30);
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            throttle: Some(2 << 20),
            ..Default::default()
        },
    );
    let mut c = push_command(&[&oci(&src), &format!("{}/stopped:v1", proxy.host)]);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().expect("start werf-push");
    // Wait until the big upload is under way.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !proxy.stats().log.iter().any(|l| l.method == "POST") {
        assert!(Instant::now() < deadline, "no upload started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(800));
    // The shell's own `kill`: no procps needed.
    let kill = std::process::Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .expect("run sh -c kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait for werf-push");
    let stderr = String::from_utf8_lossy(&out.stderr);
    proxy.report("Ctrl-C", blob_bytes);
    assert_eq!(out.status.code(), Some(130), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let log = proxy.stats().log;
    // The upload in flight finished within the drain time or was cut and cancelled: either
    // way the registry holds no session (tests/it/interrupt.rs checks it straight, unproxied).
    let left = upload_sessions(&reg, "stopped");
    assert!(left.is_empty(), "upload sessions left: {left:?}\n{log:#?}");
    assert!(
        !log.iter()
            .any(|l| l.target.contains("/manifests/") && l.method == "PUT"),
        "a manifest was written after Ctrl-C"
    );
    assert!(!reg.tag_exists("stopped", "v1"));
}

/// An image sharing a 2 MiB base layer with every other `i`, plus a layer of its own.
fn overlapping_image(dir: &Path, i: u64) -> String {
    let f = Format::Oci;
    let mut w = LayoutWriter::create(dir).expect("create layout");
    let layers = [
        layouts::gzip_layer("base.bin", 2 * MIB, 4242),
        layouts::gzip_layer("own.bin", 256 * KIB, 100 + i),
    ];
    let descs: Vec<_> = layers
        .iter()
        .map(|(b, _)| w.write_blob(b, f.layer_type()).unwrap())
        .collect();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Labels": { "publisher": i.to_string() } },
        "rootfs": { "type": "layers", "diff_ids": [layers[0].1, layers[1].1] },
    });
    let config = w
        .write_blob(&serde_json::to_vec(&config).unwrap(), f.config_type())
        .unwrap();
    let d = |d: &werf_push_spec::Descriptor| json!({ "mediaType": d.media_type, "digest": d.digest.to_string(), "size": d.size });
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": f.manifest_type(),
        "config": d(&config),
        "layers": descs.iter().map(d).collect::<Vec<_>>(),
    });
    let m = w
        .write_blob(
            &serde_json::to_vec_pretty(&manifest).unwrap(),
            f.manifest_type(),
        )
        .unwrap();
    w.add_entry(&m, json!({}));
    w.commit().unwrap();
    m.digest.to_string()
}

#[test]
fn four_concurrent_publishers_of_overlapping_images_all_succeed() {
    let reg = Registry::start();
    let t = tmp();
    let images: Vec<(std::path::PathBuf, String)> = (0..4u64)
        .map(|i| {
            let dir = t.path().join(format!("src{i}"));
            let digest = overlapping_image(&dir, i);
            (dir, digest)
        })
        .collect();
    // Two publishers per repository, and every one also into a repository all share.
    let refs = |i: usize| {
        vec![
            format!("{}/team{}/app:p{i}", reg.host, i % 2),
            format!("{}/shared/app:p{i}", reg.host),
        ]
    };
    let handles: Vec<_> = images
        .iter()
        .enumerate()
        .map(|(i, (dir, _))| {
            let mut args = vec![oci(dir)];
            args.extend(refs(i));
            std::thread::spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                push(&args)
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let out = h.join().expect("publisher thread");
        assert!(out.success(), "publisher {i} failed\n{}", out.describe());
    }
    for (i, (dir, digest)) in images.iter().enumerate() {
        for r in refs(i) {
            assert_reads_back_identical(&r, dir, digest);
        }
    }
    println!("4 concurrent publishers: 0 faults injected, 8 tags read back identical");
}

/// A blob the registry stores under a sha512 digest is verified in sha512 when read back:
/// the registry's bytes pass, the same bytes with one flipped on the way (a proxy) are
/// refused naming the digest.
#[tokio::test(flavor = "multi_thread")]
async fn pulled_blob_with_a_sha512_digest_is_verified() {
    use crate::support::cutproxy::{CutProxy, Fault};
    use sha2::Digest as _;
    use werf_push_spec::{Descriptor, Digest};
    use werf_push_transport::{Body, RetryBudget, Transport, TransportOptions};
    let reg = Registry::start();
    let content = bytes::Bytes::from(vec![7u8; 5000]);
    let hex: String = sha2::Sha512::digest(&content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let digest = Digest::parse(&format!("sha512:{hex}")).unwrap();
    let client = |host: String| async move {
        let mut opts = TransportOptions::default();
        opts.certs_d = None;
        let budget = std::sync::Arc::new(RetryBudget::new(2, 40));
        let t = Transport::connect(&host, &opts, budget).await.unwrap();
        werf_push_registry::Registry::new(t)
    };
    let direct = client(reg.host.clone()).await;
    let s = direct.start_upload("sha512").await.unwrap();
    direct
        .finish_upload(&s, &digest, Body::Bytes(content.clone()))
        .await
        .expect("docker-registry stores a sha512 blob");
    let d = Descriptor::new(
        "application/octet-stream",
        digest.clone(),
        content.len() as u64,
    );
    let got = direct.get_small_blob("sha512", &d, 1 << 20).await.unwrap();
    assert_eq!(got, content);
    let flip = CutProxy::start(&reg.host, &digest.to_string(), Fault::Corrupt(100));
    let err = client(flip.host.clone())
        .await
        .get_small_blob("sha512", &d, 1 << 20)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&digest.to_string()), "{err}");
    assert!(!flip.requests("GET /v2/sha512/blobs/").is_empty(), "{err}");
}
