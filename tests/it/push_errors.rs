//! Connection and reference errors of a push: one `error:` line (then only hints), the
//! exit code of its kind, no panic. An unreachable registry (exit 4, reported within a
//! minute); an invalid reference (a usage error, exit 2, naming the bad part); an HTTPS
//! certificate not trusted (exit 4, with or without `--insecure-registry`, a hint naming
//! `--ca-file`); a plain-HTTP registry spoken to over HTTPS only (the transport's one-line
//! error names `--insecure-registry`).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use werf_push_transport::{RetryBudget, Transport, TransportError, TransportOptions};

use crate::support::cmd::{self, assert_success};
use crate::support::layouts::{self, Format};
use crate::support::process::Service;
use crate::support::push::{assert_code, assert_only_the_error};
use crate::support::registry::{free_port, Registry};
use crate::support::scenario::{oci, push, tmp, KIB};

/// A small valid layout to push in the error tests.
fn small_layout(t: &TempDir) -> PathBuf {
    let src = t.path().join("src");
    layouts::image(&src, &[4 * KIB], 9, Format::Oci, None);
    src
}

#[test]
fn unreachable_registry_is_a_one_line_error() {
    let t = tmp();
    let src = small_layout(&t);
    // 127.0.0.2 (loopback too): the test registries and servers all listen on 127.0.0.1,
    // so none of them can take this port between now and the push.
    let port = TcpListener::bind("127.0.0.2:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.2:0")
        .port();
    let host = format!("127.0.0.2:{port}");
    let started = Instant::now();
    let out = push(&[&oci(&src), &format!("{host}/app:v1")]);
    assert_code(&out, 4);
    let line = assert_only_the_error(&out);
    assert!(
        line.contains(&host) && line.contains("cannot reach"),
        "{}",
        out.describe()
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "an unreachable registry took {:?} to report",
        started.elapsed()
    );
}

#[test]
fn invalid_reference_is_a_usage_error_naming_the_bad_part() {
    let t = tmp();
    let src = small_layout(&t);
    let port = free_port();
    let cases = [
        (format!("127.0.0.1:{port}/UPPER:tag"), "repository", "UPPER"),
        (format!("127.0.0.1:{port}/app:-bad"), "tag", "-bad"),
        (
            format!("127.0.0.1:{port}/app@sha256:1234"),
            "digest",
            "sha256:1234",
        ),
        (
            "127.0.0.1:99999/app:v1".to_string(),
            "registry host",
            "99999",
        ),
        (format!("127.0.0.1:{port}/a//b:v1"), "repository", "empty"),
    ];
    for (reference, part, bad) in cases {
        let out = push(&[&oci(&src), &reference]);
        assert_code(&out, 2);
        let line = assert_only_the_error(&out);
        assert!(
            line.contains(part) && line.contains(bad),
            "{reference}: the error should name the {part} ('{bad}')\n{}",
            out.describe()
        );
    }
}

/// `openssl s_server -www` with a fresh self-signed certificate; stopped on drop.
struct TlsServer {
    _child: Service,
    port: u16,
    _dir: TempDir,
}

impl TlsServer {
    fn start() -> TlsServer {
        let dir = tmp();
        let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        let out = cmd::run(
            Command::new("openssl")
                .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes"])
                .args(["-subj", "/CN=localhost", "-days", "1"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert),
        );
        assert_success(&out);
        for _ in 0..5 {
            let port = free_port();
            let mut cmd = Command::new("openssl");
            cmd.args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
                .arg("-cert")
                .arg(&cert)
                .arg("-key")
                .arg(&key)
                .arg("-www")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            let mut child = Service::spawn(&mut cmd, "openssl s_server")
                .unwrap_or_else(|e| panic!("cannot start openssl s_server (install openssl): {e}"));
            // s_server prints ACCEPT once it has bound the port (so the port is its own, not
            // a parallel test's); keep draining stdout so that it never blocks on it.
            let stdout = child.take_stdout().expect("s_server stdout");
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.trim() == "ACCEPT" {
                        let _ = tx.send(());
                    }
                }
            });
            if rx.recv_timeout(Duration::from_secs(10)).is_ok() {
                return TlsServer {
                    _child: child,
                    port,
                    _dir: dir,
                };
            }
            // Lost the port (s_server exited), or too slow: try another.
            child.stop();
        }
        panic!("openssl s_server did not start");
    }
}

#[test]
fn untrusted_https_certificate_is_a_one_line_error_with_a_ca_file_hint() {
    let t = tmp();
    let src = small_layout(&t);
    let server = TlsServer::start();
    let dest = format!("127.0.0.1:{}/app:v1", server.port);
    // As is (a loopback registry: plain HTTP is tried after HTTPS), and with
    // --insecure-registry (plain HTTP allowed): HTTP to the TLS port fails too, and the
    // certificate problem is what gets reported.
    for extra in [None, Some("--insecure-registry")] {
        let mut args: Vec<&str> = extra.into_iter().collect();
        let src = oci(&src);
        args.extend([src.as_str(), dest.as_str()]);
        let out = push(&args);
        assert_code(&out, 4);
        let line = assert_only_the_error(&out);
        let lower = line.to_lowercase();
        assert!(
            lower.contains("tls") && lower.contains("certificate"),
            "{extra:?}: the error should say TLS/certificate\n{}",
            out.describe()
        );
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with("hint: ") && l.contains("--ca-file")),
            "{extra:?}: a hint should name --ca-file\n{}",
            out.describe()
        );
    }
}

#[tokio::test]
async fn plain_http_registry_spoken_to_over_https_says_insecure_registry() {
    let reg = Registry::start();
    let mut https_only = TransportOptions::default();
    https_only.local_http_fallback = false;
    let err = Transport::connect(&reg.host, &https_only, Arc::new(RetryBudget::default()))
        .await
        .expect_err("HTTPS to a plain-HTTP registry must fail");
    assert!(
        matches!(err, TransportError::PlainHttp { .. }),
        "expected PlainHttp, got {err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("--insecure-registry"), "{msg}");
    assert!(msg.contains(&reg.host), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg:?}");

    // The control: the same registry is reachable once plain HTTP is allowed.
    let mut insecure = TransportOptions::default();
    insecure.insecure = true;
    insecure.local_http_fallback = false;
    let t = Transport::connect(&reg.host, &insecure, Arc::new(RetryBudget::default()))
        .await
        .expect("plain HTTP with insecure: true");
    assert_eq!(t.url("/v2/").scheme(), "http");
}
