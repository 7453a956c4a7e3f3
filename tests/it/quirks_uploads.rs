//! Blob and upload quirks of the push quirks survey (rows 3, 5-11, 18, 19
//! of docs/reliability.md): each reproduced by the proxy in front of a real
//! `docker-registry` (`support::proxy_quirks`), the push finishing with the image read back
//! identical by skopeo, or, where no client can succeed (ECR without the repository), the
//! error naming cause and fix.

use crate::quirks::{count, push_to, through, CHUNKED};
use crate::support::cmd::{assert_failure, assert_success};
use crate::support::nginx::{Nginx, NginxOptions, TestCa};
use crate::support::proxy::{cut_offsets, Logged, Proxy, ProxyConfig, StatusFault};
use crate::support::proxy_quirks::Quirk;
use crate::support::registry::Registry;
use crate::support::scenario::*;

fn quirks(q: Vec<Quirk>) -> ProxyConfig {
    ProxyConfig {
        quirks: q,
        ..Default::default()
    }
}

fn upload_puts(log: &[Logged]) -> Vec<&Logged> {
    log.iter()
        .filter(|l| l.method == "PUT" && l.target.contains("/blobs/uploads/"))
        .collect()
}

/// Row 3, GHCR and GitLab: a blob HEAD answers 307 to presigned storage, where a HEAD gets
/// 403. Existence checks follow no redirect: the 307 says "present", nothing is uploaded.
#[test]
fn ghcr_blob_head_redirect_means_present() {
    let reg = Registry::start();
    let cfg = quirks(vec![Quirk::BlobHeadRedirect]);
    let t = tmp();
    let src = t.path().join("src");
    let (digest, _) = big_image(&src, 256 * KIB, 31);
    let proxy = Proxy::start(&reg.host, cfg.clone());
    assert_success(&push_to(&proxy, &src, "redirect", &[]));
    // Same repository, another tag: every blob is there.
    let proxy = Proxy::start(&reg.host, cfg);
    let out = push(&[&oci(&src), &format!("{}/redirect:v2", proxy.host)]);
    assert_success(&out);
    let s = proxy.stats();
    assert!(count(&s.log, "HEAD", 307) >= 2, "{:#?}", s.log);
    assert_eq!(
        count(&s.log, "POST", 202),
        0,
        "uploaded again: {:#?}",
        s.log
    );
    assert!(
        !s.arrivals.iter().any(|(_, t)| t.starts_with("/storage/")),
        "a redirect was followed: {:#?}",
        s.arrivals
    );
    for tag in ["v1", "v2"] {
        assert_reads_back_identical(&format!("{}/redirect:{tag}", reg.host), &src, &digest);
    }
}

/// Row 5, Artifactory: a chunked upload "succeeded" but the registry kept the last chunk
/// only. The HEAD after the closing PUT finds it, and the blob goes again in one PATCH.
#[test]
fn artifactory_chunked_upload_checked_after_the_put() {
    let reg = Registry::start();
    let cfg = quirks(vec![Quirk::KeepsLastChunkOnly]);
    let (log, _) = through(&reg, "lastchunk", cfg.clone(), 3 * MIB, &CHUNKED);
    assert!(count(&log, "PUT", 201) >= 1, "{log:#?}");
    assert!(
        upload_puts(&log)
            .iter()
            .any(|l| l.len == 0 && l.status == 201),
        "no empty closing PUT after one PATCH: {log:#?}"
    );
    // The Artifactory profile sends one PATCH and an empty PUT from the start.
    let (log, _) = through(
        &reg,
        "lastchunk-af",
        cfg,
        3 * MIB,
        &["--registry-profile", "artifactory"],
    );
    let puts = upload_puts(&log);
    assert!(puts.iter().all(|l| l.len == 0), "{log:#?}");
    assert_eq!(
        count(&log, "PATCH", 202),
        puts.len(),
        "one PATCH per blob: {log:#?}"
    );
}

/// Row 6, Artifactory: POST then a PUT carrying the body gets 404 BLOB_UNKNOWN; POST,
/// PATCH, empty PUT works. Unknown registry: one 404, then that; the profile: no 404.
#[test]
fn artifactory_put_with_body_refused() {
    let reg = Registry::start();
    let cfg = quirks(vec![Quirk::PutBodyRefused]);
    let (log, _) = through(&reg, "putbody", cfg.clone(), 512 * KIB, &[]);
    assert!(count(&log, "PUT", 404) >= 1, "{log:#?}");
    let (log, _) = through(
        &reg,
        "putbody-af",
        cfg,
        512 * KIB,
        &["--registry-profile", "artifactory"],
    );
    assert_eq!(count(&log, "PUT", 404), 0, "{log:#?}");
}

/// Row 7, Zot and Aliyun: `Range` covers the last chunk only, `0--1` for an empty upload;
/// offsets come from the bytes sent, and after a cut the nonsense `Range` does not lead
/// the upload astray.
#[test]
fn zot_range_per_chunk_is_not_trusted() {
    let reg = Registry::start();
    let cfg = ProxyConfig {
        quirks: vec![Quirk::RangePerChunk],
        cut_at: cut_offsets(7, 1, 3 * MIB as u64),
        ..Default::default()
    };
    let (log, _) = through(&reg, "zotrange", cfg, 4 * MIB, &CHUNKED);
    assert!(count(&log, "PATCH", 202) >= 4, "{log:#?}");
}

/// Row 8, ECR: `Range` stops moving after the first chunk; a PATCH re-sent from the
/// status's `Range` after a cut gets 416. The upload starts over (a bounded number of
/// times) and finishes.
#[test]
fn ecr_stale_range_after_a_cut_starts_over() {
    let reg = Registry::start();
    let cfg = ProxyConfig {
        stale_range: true,
        quirks: vec![Quirk::StaleStatusRange],
        cut_at: vec![(5 * MIB / 2) as u64],
        ..Default::default()
    };
    let (log, _) = through(&reg, "stale416", cfg, 4 * MIB, &CHUNKED);
    assert!(count(&log, "PATCH", 416) >= 1, "{log:#?}");
    assert!(
        count(&log, "PATCH", 416) <= 2,
        "416 retries unbounded: {log:#?}"
    );
}

/// Row 9, ECR: a POST to a repository that does not exist drops the connection. After
/// the retries the error says the repository may not exist and how to create it.
#[test]
fn ecr_missing_repository_named_after_retries() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    big_image(&src, 16 * KIB, 32);
    let proxy = Proxy::start(&reg.host, quirks(vec![Quirk::EofOnUploadStart]));
    let out = push_to(&proxy, &src, "norepo", &["--retries", "2"]);
    assert_failure(&out);
    assert_eq!(out.code(), Some(4), "{}", out.describe());
    assert!(
        out.stderr.contains("repository may not exist")
            && out.stderr.contains("aws ecr create-repository"),
        "{}",
        out.describe()
    );
    assert!(count(&proxy.stats().log, "POST", 0) >= 3, "no retries");
    assert!(!reg.tag_exists("norepo", "v1"));
}

/// Row 10, ECR Public: mounts fail, the closing PUT of a chunked upload gets 400
/// BLOB_UPLOAD_INVALID. The profile (detected for public.ecr.aws) tries no mount and sends
/// every blob in one PUT.
#[test]
fn ecr_public_no_mounts_one_request_uploads() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let (digest, _) = big_image(&src, 2 * MIB, 33);
    let proxy = Proxy::start(&reg.host, quirks(vec![Quirk::EcrPublic]));
    let (a, b) = (
        format!("{}/ecrpub-a:v1", proxy.host),
        format!("{}/ecrpub-b:v1", proxy.host),
    );
    let out = push(&[
        "--registry-profile",
        "ecr-public",
        "--monolithic-max",
        "1MiB",
        "--jobs",
        "1",
        &oci(&src),
        &a,
        &b,
    ]);
    assert_success(&out);
    let log = proxy.stats().log;
    assert!(!log.iter().any(|l| l.target.contains("mount=")), "{log:#?}");
    assert!(!log.iter().any(|l| l.method == "PATCH"), "{log:#?}");
    for r in ["ecrpub-a", "ecrpub-b"] {
        assert_reads_back_identical(&format!("{}/{r}:v1", reg.host), &src, &digest);
    }
}

/// Row 11, Harbor and Nexus: a mount refused with 400 (Harbor's top-level `from=`), like
/// 401/403 (`quirks.rs`), means "not mounted": the blob is uploaded.
#[test]
fn mount_refused_with_400_falls_back_to_upload() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let (digest, _) = big_image(&src, 256 * KIB, 34);
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            mount_status: Some(400),
            ..Default::default()
        },
    );
    let (a, b) = (
        format!("{}/mount400a:v1", proxy.host),
        format!("{}/mount400b:v1", proxy.host),
    );
    assert_success(&push(&["--jobs", "1", &oci(&src), &a, &b]));
    let log = proxy.stats().log;
    assert!(
        count(&log, "POST", 400) >= 1,
        "no mount was tried: {log:#?}"
    );
    for r in ["mount400a", "mount400b"] {
        assert_reads_back_identical(&format!("{}/{r}:v1", reg.host), &src, &digest);
    }
}

/// Row 18, GHCR: a 403 whose body says "secondary rate limit" backs off like a 429; a
/// permission 403 is not retried.
#[test]
fn ghcr_rate_limit_403_retried_permission_403_not() {
    let reg = Registry::start();
    let limited = |method| {
        StatusFault::new(Some(method), "/blobs/uploads/", 403)
            .times(2)
            .body("DENIED", "You have exceeded a secondary rate limit")
    };
    let cfg = ProxyConfig {
        status_faults: vec![limited("POST"), limited("PUT")],
        ..Default::default()
    };
    let (log, _) = through(&reg, "ratelimit", cfg, 64 * KIB, &[]);
    assert_eq!(count(&log, "POST", 403), 2, "{log:#?}");
    assert_eq!(count(&log, "PUT", 403), 2, "{log:#?}");

    let t = tmp();
    let src = t.path().join("src");
    big_image(&src, 64 * KIB, 35);
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            status_faults: vec![StatusFault::new(Some("PUT"), "/blobs/uploads/", 403)
                .times(u32::MAX)
                .body("DENIED", "permission_denied: write_package")],
            ..Default::default()
        },
    );
    let out = push_to(&proxy, &src, "nowrite", &["--jobs", "1"]);
    assert_failure(&out);
    assert_eq!(out.code(), Some(5), "{}", out.describe());
    assert!(out.stderr.contains("write_package"), "{}", out.describe());
    let log = proxy.stats().log;
    let puts: Vec<_> = upload_puts(&log)
        .iter()
        .map(|l| l.target.split("digest=").nth(1).unwrap_or("").to_string())
        .collect();
    let distinct: std::collections::BTreeSet<_> = puts.iter().collect();
    assert!(!puts.is_empty());
    assert_eq!(
        puts.len(),
        distinct.len(),
        "a permission 403 was retried: {log:#?}"
    );
}

/// Row 19, Google Artifact Registry: upload POST answers carry ~21 KB of headers; a
/// 32 KiB header passes, over HTTP/1.1 and over HTTP/2 (nginx in front of the proxy).
#[test]
fn gar_32k_header_on_upload_answers() {
    let reg = Registry::start();
    let cfg = quirks(vec![Quirk::BigHeader(32 * KIB)]);
    let (log, _) = through(&reg, "bigheader", cfg.clone(), 256 * KIB, &[]);
    assert!(count(&log, "POST", 202) >= 2, "{log:#?}");

    let proxy = Proxy::start(&reg.host, cfg);
    let ca = TestCa::new("werf-push quirks CA");
    let nginx = Nginx::start(NginxOptions::new(&proxy.host, &ca));
    let t = tmp();
    let src = t.path().join("src");
    let (digest, _) = big_image(&src, 256 * KIB, 36);
    let ca_file = t.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    let out = push(&[
        "--ca-file",
        ca_file.to_str().unwrap(),
        &oci(&src),
        &format!("{}/bigheader-h2:v1", nginx.host),
    ]);
    assert_success(&out);
    assert!(
        nginx
            .access_log()
            .contains("POST /v2/bigheader-h2/blobs/uploads/ HTTP/2.0 202"),
        "{}",
        nginx.access_log()
    );
    assert!(proxy.stats().quirks >= 2);
    assert_reads_back_identical(&format!("{}/bigheader-h2:v1", reg.host), &src, &digest);
}
