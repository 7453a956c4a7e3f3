//! Real-network behaviour (latency, round trips, connection reuse), through the emulated wide-area path of
//! `support::wan` (a one-way delay on every byte, turns counted) in front of nginx (TLS,
//! HTTP/2) or of the registry itself. These tests assert round trips and request counts,
//! never wall times: the delay (50 ms one way) is far above scheduling jitter, so the
//! counts are stable on a loaded machine.

use crate::support::cmd::assert_success;
use crate::support::isolated::Env;
use crate::support::nginx::{Nginx, NginxOptions, TestCa};
use crate::support::registry::Registry;
use crate::support::wan::{Wan, WanOptions};

/// A 100 ms round trip without a bandwidth cap: every round trip shows, bytes cost nothing.
fn slow_path() -> WanOptions {
    WanOptions::new(100, 0.0)
}

struct TlsPath {
    env: Env,
    reg: Registry,
    nginx: Nginx,
    wan: Wan,
}

impl TlsPath {
    fn new(layers: &[usize]) -> TlsPath {
        let reg = Registry::start();
        let ca = TestCa::new("werf-push test CA");
        let nginx = Nginx::start(NginxOptions::new(&reg.host, &ca));
        let wan = Wan::start(&nginx.host, slow_path());
        let env = Env::new(layers);
        std::fs::write(env.path("ca.pem"), &ca.cert_pem).unwrap();
        TlsPath {
            env,
            reg,
            nginx,
            wan,
        }
    }

    fn push(&self, tag: &str, extra: &[&str]) {
        let ca = self.env.path("ca.pem");
        let mut args = vec!["--ca-file", ca.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = self
            .env
            .push(&format!("{}/app:{tag}", self.wan.host), &args, &[]);
        assert_success(&out);
        assert_eq!(
            self.reg.manifest_digest("app", tag).as_deref(),
            Some(self.env.digest.as_str()),
            "pushed through the path"
        );
    }
}

/// nginx gives each HTTP/2 stream a 64 KiB window: a 4 MiB layer sent over HTTP/2 waits
/// for a WINDOW_UPDATE 64 times, one round trip each. Bodies go over HTTP/1.1, so the whole
/// push is a handful of round trips, and the layer's request reached nginx as HTTP/1.1
/// while the small requests multiplexed on HTTP/2.
#[test]
fn a_big_layer_is_not_held_to_the_http2_window() {
    let p = TlsPath::new(&[4 << 20]);
    p.push("v1", &[]);
    let trips = p.wan.round_trips();
    let log = p.nginx.access_log();
    // TCP + TLS + ping, tag check, blob checks, POST, TCP + TLS for the body's connection,
    // PUT, manifest: 10 if nothing overlaps (TLS session tickets and HTTP/2 control frames
    // count as turns too, up to 16 here). Over HTTP/2 the body alone needs 64.
    assert!(
        (6..=20).contains(&trips),
        "{trips} round trips for one 4 MiB layer\n{log}"
    );
    let body = log
        .lines()
        .filter(|l| l.starts_with("PUT /v2/app/blobs/uploads/") || l.starts_with("PATCH "))
        .find(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap() > 4 << 20);
    let body = body.unwrap_or_else(|| panic!("no request carried the layer:\n{log}"));
    assert!(body.contains(" HTTP/1.1 "), "{body}\n{log}");
    assert!(
        log.lines()
            .any(|l| l.starts_with("PUT /v2/app/manifests/v1 HTTP/2.0")),
        "the manifest went over HTTP/2\n{log}"
    );
    // The body's connection was opened ahead, while the checks and the POST ran: it served
    // a `GET /v2/` before the layer (else its TCP and TLS handshakes come after the POST).
    let conn = body.split(' ').find(|f| f.starts_with("conn=")).unwrap();
    let before_body = log.split(body).next().unwrap();
    assert!(
        before_body
            .lines()
            .any(|l| l.starts_with("GET /v2/ HTTP/1.1 200 ") && l.contains(&format!(" {conn} "))),
        "the layer's connection ({conn}) was not opened ahead of it\n{log}"
    );
    // Up to date: no upload, so no connection opened for one.
    let warmed = |log: &str| log.matches("GET /v2/ HTTP/1.1 200 ").count();
    let n = warmed(&log);
    assert!(n >= 1, "{log}");
    p.push("v1", &[]);
    let log = p.nginx.access_log();
    assert!(
        log.matches("HEAD /v2/app/manifests/v1 ").count() >= 2,
        "{log}"
    );
    assert_eq!(
        warmed(&log),
        n,
        "a warm push opened upload connections\n{log}"
    );
}

/// `publish --with-stages` of the example project (2 images, 5 stages) with 10 tags per
/// image, through the path in front of the plain registry.
fn publish_through(wan: &Wan, dir: &std::path::Path) -> crate::support::cmd::Output {
    let mut c = crate::support::cmd::werf_push();
    c.arg("publish")
        .arg("--dir")
        .arg(dir)
        .arg("--repo")
        .arg(format!("{}/app", wan.host))
        .arg("--with-stages");
    for i in 0..10 {
        c.arg("--tag-custom").arg(format!("t{i}"));
    }
    crate::support::cmd::run(&mut c)
}

/// A cold publish is one pipeline: every tag checked at once, each blob uploaded once and
/// mounted into the other repositories at once without a HEAD before, each manifest
/// written as soon as its blobs are there. A warm one is the tag checks alone, all in one
/// round trip (25 tags; 8 at a time took 4).
#[test]
fn publish_is_a_few_round_trips_cold_and_warm() {
    let reg = Registry::start();
    let wan = Wan::start(&reg.host, slow_path());
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("project");
    crate::support::layouts::copy_dir(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/example")),
        &dir,
    );
    let out = publish_through(&wan, &dir);
    assert_success(&out);
    let cold = (wan.round_trips(), wan.requests());
    wan.reset_counts();
    let before = reg.requests().len();
    let out = publish_through(&wan, &dir);
    assert_success(&out);
    let warm = (wan.round_trips(), wan.requests());
    // Cold: connect, ping, tag checks (on new connections: a handshake each), HEAD, POST,
    // PUT of the first repository, the mounts, the manifests: about 9, and a handshake
    // for each wave that needs more connections (plain HTTP/1.1). Phases and 8 at a time
    // took over 20.
    assert!(
        cold.0 <= 13,
        "cold publish: {cold:?} (round trips, requests)"
    );
    eprintln!("cold publish: {cold:?}, warm: {warm:?} (round trips, requests)");
    // Warm: connect, ping (the HTTPS probe at the same time), a handshake for the parallel
    // checks' connections, the checks.
    assert!(
        warm.0 <= 5,
        "warm publish: {warm:?} (round trips, requests)\n{:#?}",
        &reg.requests()[before..]
    );
    assert_eq!(
        reg.requests().len() - before,
        1 + 25,
        "warm: the ping and one HEAD per tag"
    );
    // Nothing is uploaded again: the bytes sent up are request heads alone.
    let (up, down) = wan.bytes();
    assert!(
        up < 64 << 10,
        "warm publish sent {up} bytes up ({down} down): a body was sent again"
    );
}

/// Over plain HTTP every request speaks HTTP/1.1 anyway, so a layer's body takes a
/// connection the checks and the POST left idle instead of opening one more (a TCP
/// handshake, a round trip, per upload).
#[test]
fn plain_http_bodies_reuse_the_connections_of_small_requests() {
    let reg = Registry::start();
    let wan = Wan::start(&reg.host, slow_path());
    let env = Env::new(&[4 << 20]);
    let out = env.push(&format!("{}/app:v1", wan.host), &[], &[]);
    assert_success(&out);
    assert_eq!(
        reg.manifest_digest("app", "v1").as_deref(),
        Some(env.digest.as_str())
    );
    // Six for the HTTPS attempts, the ping and the checks and POSTs running side by side
    // (two blobs); the layer's body then takes one of them, where it opened a seventh.
    assert_eq!(wan.connections(), 6, "connections through the path");
}
