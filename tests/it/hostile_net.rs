//! Hostile registries and networks: answers through the
//! proxy (`tests/it/support/proxy_hostile.rs`) in front of a real `docker-registry`. A server
//! that takes a request and never answers, an upload the server stops reading, an answer
//! trickled one byte at a time: each is cut off by its timeout, retried (requests counted
//! at the proxy), and named in the error. A 512 MiB error body does not grow the process;
//! a tag-list page over its cap is refused naming it; an error echoing the credentials
//! prints them redacted, escaped and cut short. No test asserts wall time.

use std::time::Duration;

use crate::support::cmd::{self, assert_failure, assert_success};
use crate::support::proxy::{Proxy, ProxyConfig};
use crate::support::proxy_hostile::{Hostile, HostileKind};
use crate::support::registry::{basic, Registry, RegistryOptions, TEST_PASSWORD, TEST_USER};
use crate::support::scenario::*;

/// The error line of a failed run (`error: ...`).
#[track_caller]
fn arrivals(proxy: &Proxy, method: &str, path: &str) -> Vec<String> {
    proxy
        .stats()
        .arrivals
        .into_iter()
        .filter(|(m, t)| m == method && t.contains(path))
        .map(|(_, t)| t)
        .collect()
}

fn proxy_with(reg: &Registry, hostile: Vec<Hostile>) -> Proxy {
    Proxy::start(
        &reg.host,
        ProxyConfig {
            hostile,
            ..Default::default()
        },
    )
}

#[test]
fn silent_server_is_cut_off_by_the_response_timeout_and_retried() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let (digest, _) = big_image(&src, 64 * KIB, 50);

    // Two blob HEADs get no answer, then the registry answers again: the push succeeds.
    let silent_twice = Hostile::new(Some("HEAD"), "/blobs/sha256:", HostileKind::Silent).times(2);
    let proxy = proxy_with(&reg, vec![silent_twice]);
    let out = push(&[
        "--response-timeout",
        "1",
        &oci(&src),
        &format!("{}/silent:v1", proxy.host),
    ]);
    assert_success(&out);
    assert!(
        out.stderr.contains("--response-timeout") && out.stderr.contains("retry 1/"),
        "the retried timeout is not named on stderr\n{}",
        out.describe()
    );
    let heads = arrivals(&proxy, "HEAD", "/blobs/sha256:");
    let mut blobs = heads.clone();
    blobs.sort();
    blobs.dedup();
    assert_eq!(heads.len(), blobs.len() + 2, "HEADs: {heads:#?}");
    assert_reads_back_identical(&format!("{}/silent:v1", reg.host), &src, &digest);

    // A tag check that never gets an answer: named in the error after --retries.
    let always = Hostile::new(Some("HEAD"), "/manifests/", HostileKind::Silent);
    let proxy = proxy_with(&reg, vec![always]);
    let out = push(&[
        "--response-timeout",
        "0.5",
        "--retries",
        "2",
        &oci(&src),
        &format!("{}/silent2:v1", proxy.host),
    ]);
    assert_failure(&out);
    let line = error_line(&out);
    assert!(line.contains("--response-timeout"), "{line}");
    assert_eq!(out.code(), Some(4), "a network failure\n{}", out.describe());
    assert_eq!(arrivals(&proxy, "HEAD", "/manifests/").len(), 3);
    assert!(!reg.tag_exists("silent2", "v1"));
}

#[test]
fn upload_the_server_stops_reading_is_cut_off_by_the_stall_timeout_and_retried() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    big_image(&src, 32 * MIB, 51);
    // 2000 bytes/s: the small blobs get through; the 32 MiB one fills the socket buffers
    // and then moves 256 KiB (one piece of the body) every two minutes.
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            throttle: Some(2000),
            ..Default::default()
        },
    );
    let out = push(&[
        "--upload-strategy",
        "monolithic",
        "--stall-timeout",
        "1",
        "--retries",
        "2",
        &oci(&src),
        &format!("{}/stalled:v1", proxy.host),
    ]);
    assert_failure(&out);
    let line = error_line(&out);
    assert!(line.contains("--stall-timeout"), "{line}");
    assert_eq!(out.code(), Some(4), "a network failure\n{}", out.describe());
    // PUTs per blob digest: the big blob's first attempt and 2 retries, each cut off.
    let mut per_digest = std::collections::BTreeMap::<String, usize>::new();
    for (m, t) in proxy.stats().arrivals {
        if let (true, Some((_, d))) = (m == "PUT", t.split_once("digest=")) {
            *per_digest.entry(d.to_string()).or_default() += 1;
        }
    }
    let most = per_digest.values().max().copied().unwrap_or(0);
    assert_eq!(most, 3, "{per_digest:#?}\n{}", out.describe());
    assert!(
        out.stderr.matches("--stall-timeout").count() >= 3,
        "{}",
        out.describe()
    );
    assert!(!reg.tag_exists("stalled", "v1"));
}

/// A `Registry` of the library, connected through `proxy` with small timeouts.
async fn library_registry(proxy: &Proxy) -> werf_push_registry::Registry {
    use werf_push_transport::{RetryBudget, Timeouts, Transport, TransportOptions};
    let mut opts = TransportOptions::default();
    opts.certs_d = None;
    opts.timeouts = Timeouts::new(
        Duration::from_secs(2),
        Duration::from_secs(5),
        Duration::from_secs(1),
    );
    let budget = std::sync::Arc::new(RetryBudget::new(2, 40));
    let t = Transport::connect(&proxy.host, &opts, budget)
        .await
        .expect("connect through the proxy");
    werf_push_registry::Registry::new(t)
}

#[tokio::test(flavor = "multi_thread")]
async fn trickled_answer_is_cut_off_by_the_stall_timeout_and_retried() {
    let reg = Registry::start();
    let trickle = HostileKind::Trickle {
        status: 200,
        len: 100_000,
        every: Duration::from_millis(100),
    };
    let proxy = proxy_with(&reg, vec![Hostile::new(Some("GET"), "/tags/list", trickle)]);
    let r = library_registry(&proxy).await;
    let err = r
        .list_tags("trickled", None, "tags", usize::MAX, |_| true)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("--stall-timeout"), "{err}");
    assert_eq!(arrivals(&proxy, "GET", "/tags/list").len(), 3, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_list_page_over_its_cap_is_refused_naming_it() {
    let reg = Registry::start();
    let huge = HostileKind::Huge {
        status: 200,
        len: 20 << 20,
    };
    let proxy = proxy_with(&reg, vec![Hostile::new(Some("GET"), "/tags/list", huge)]);
    let r = library_registry(&proxy).await;
    let err = r
        .list_tags("huge", None, "tags", usize::MAX, |_| true)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("16 MiB") && err.contains("tag-list page"),
        "{err}"
    );
    assert_eq!(arrivals(&proxy, "GET", "/tags/list").len(), 1, "{err}");
}

#[test]
fn huge_error_body_is_cut_and_the_process_stays_small() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    big_image(&src, 64 * KIB, 52);
    let huge = HostileKind::Huge {
        status: 400,
        len: 512 << 20,
    };
    let proxy = proxy_with(
        &reg,
        vec![Hostile::new(Some("POST"), "/blobs/uploads/", huge)],
    );
    // GNU time reports the peak resident size of werf-push itself.
    let mut c = std::process::Command::new("/usr/bin/time");
    c.args([
        "-f",
        "maxrss_kib=%M",
        env!("CARGO_BIN_EXE_werf-push"),
        "push",
    ])
    .args([oci(&src), format!("{}/huge:v1", proxy.host)]);
    // werf-push runs under `time`: the same environment as `cmd::werf_push()`'s.
    cmd::scrub(&mut c);
    let out = cmd::run(&mut c);
    assert_no_panic(&out);
    assert_failure(&out);
    let line = error_line(&out);
    assert!(line.contains("400"), "{line}");
    assert!(line.len() < 1000, "{} characters: {line}", line.len());
    let rss: u64 = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss line\n{}", out.describe()));
    println!("peak RSS {rss} KiB for a 512 MiB error body");
    assert!(rss < 128 << 10, "peak RSS {rss} KiB\n{}", out.describe());
}

#[test]
fn credentials_echoed_by_a_registry_are_redacted_escaped_and_cut() {
    let reg = RegistryOptions::new().htpasswd().start();
    let t = tmp();
    let src = t.path().join("src");
    big_image(&src, 64 * KIB, 53);
    let echo = Hostile::new(
        Some("POST"),
        "/blobs/uploads/",
        HostileKind::EchoAuthorization,
    );
    let proxy = proxy_with(&reg, vec![echo]);
    let basic = basic(TEST_USER, TEST_PASSWORD);
    for verbosity in [None, Some("-vv")] {
        let mut args = vec![
            "--registry-username",
            TEST_USER,
            "--registry-password",
            TEST_PASSWORD,
        ];
        args.extend(verbosity);
        let dest = format!("{}/echo:v1", proxy.host);
        let src = oci(&src);
        args.extend([src.as_str(), dest.as_str()]);
        let out = push(&args);
        assert_failure(&out);
        let line = error_line(&out);
        assert!(line.contains("<redacted>"), "{line}");
        for secret in [basic.as_str(), TEST_PASSWORD] {
            assert!(
                !out.stderr.contains(secret),
                "{secret} printed\n{}",
                out.stderr
            );
        }
        assert!(!out.stderr.contains('\u{1b}'), "raw escape printed\n{line}");
        assert!(line.contains("\\u{1b}[31mgotcha"), "{line}");
        assert!(line.len() < 1000, "{} characters: {line}", line.len());
    }
}

#[test]
fn server_that_accepts_and_never_speaks_is_a_timeout_retried_not_a_tls_error() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(conn);
        }
    });
    let t = tmp();
    let src = t.path().join("src");
    big_image(&src, 4 * KIB, 54);
    let out = push(&[
        "--connect-timeout",
        "0.5",
        "--response-timeout",
        "0.5",
        "--retries",
        "1",
        &oci(&src),
        &format!("{host}/mute:v1"),
    ]);
    assert_failure(&out);
    let line = error_line(&out);
    assert!(
        line.contains("--connect-timeout") || line.contains("--response-timeout"),
        "{line}"
    );
    println!("{line}");
    assert!(!line.contains("TLS"), "blamed on TLS: {line}");
    assert_eq!(out.code(), Some(4), "{}", out.describe());
    // HTTPS and plain HTTP at once (a registry on this machine), twice: the first try and
    // 1 retry; and once the existence checks' client opening its connection beside the
    // first probe.
    assert_eq!(accepted.load(Ordering::SeqCst), 5, "{}", out.describe());
}
