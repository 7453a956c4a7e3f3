//! TLS: nginx (Debian package) terminating TLS with a
//! certificate from a test CA made in the test, HTTP/2 on, `X-Forwarded-Proto https`,
//! proxying to a real `docker-registry`. A push works with `--ca-file`, with Docker's
//! certs.d (`WERF_PUSH_CERTS_D` stands for `/etc/docker/certs.d`), with
//! `--skip-tls-verify-registry`, and fails with a clear certificate error (exit 4) without
//! them; HTTP/2 is what nginx saw for small requests, HTTP/1.1 for big bodies; a client certificate from certs.d passes mutual TLS.
//! Every werf-push run has an isolated environment (`support::isolated`: HOME,
//! XDG_RUNTIME_DIR, no SSL_CERT_FILE, DOCKER_CONFIG or WERF_* of the caller).

use std::path::{Path, PathBuf};

use crate::support::cmd::{self, assert_failure, assert_success, Output};
use crate::support::isolated::Env;
use crate::support::layouts::{self, Format};
use crate::support::nginx::{Nginx, NginxOptions, TestCa};
use crate::support::registry::Registry;

struct Setup {
    /// The isolated werf-push environment (`support::isolated`) with the image to push.
    env: Env,
    reg: Registry,
    nginx: Nginx,
    ca: TestCa,
}

impl Setup {
    fn new(mtls: bool) -> Setup {
        let reg = Registry::start();
        let ca = TestCa::new("werf-push test CA");
        let mut opts = NginxOptions::new(&reg.host, &ca);
        if mtls {
            opts = opts.client_ca(&ca.cert_pem);
        }
        let nginx = Nginx::start(opts);
        let env = Env::new(&[96 << 10, 8 << 10]);
        std::fs::write(env.path("ca.pem"), &ca.cert_pem).unwrap();
        Setup {
            env,
            reg,
            nginx,
            ca,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.env.path(p)
    }

    /// `werf-push push EXTRA... oci:LAYOUT NGINX/app:TAG` in the isolated environment plus
    /// `env`.
    fn push(&self, tag: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let (src, dest) = (self.env.src(), format!("{}/app:{tag}", self.nginx.host));
        let mut args = vec!["push"];
        args.extend_from_slice(extra);
        args.extend([src.as_str(), dest.as_str()]);
        self.env.run(&args, env)
    }

    #[track_caller]
    /// Puts the test CA in `certs.d/<host:port>/ca.crt`; returns that directory.
    fn trust_ca_in_certs_d(&self) -> PathBuf {
        let d = self.path(&format!("certs.d/{}", self.nginx.host));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("ca.crt"), &self.ca.cert_pem).unwrap();
        d
    }

    fn assert_pushed(&self, tag: &str) {
        assert_eq!(
            self.reg.manifest_digest("app", tag).as_deref(),
            Some(self.env.digest.as_str())
        );
    }
}

#[test]
fn push_with_ca_file_over_http2() {
    let s = Setup::new(false);
    let ca = s.path("ca.pem");
    let out = s.push("v1", &["--ca-file", ca.to_str().unwrap()], &[]);
    assert_success(&out);
    s.assert_pushed("v1");
    // Small requests multiplex on HTTP/2; bodies of 64 KiB or more (the 96 KiB layer) go
    // over HTTP/1.1, where no 64 KiB stream window holds them back.
    let log = s.nginx.access_log();
    let uploads: Vec<(&str, u64)> = log
        .lines()
        .filter(|l| l.starts_with("PUT ") || l.starts_with("PATCH ") || l.starts_with("POST "))
        .map(|l| (l, l.rsplit(' ').next().unwrap().parse().unwrap()))
        .collect();
    let big: Vec<_> = uploads.iter().filter(|(_, n)| *n > 96 << 10).collect();
    let small: Vec<_> = uploads.iter().filter(|(_, n)| *n < 32 << 10).collect();
    assert_eq!(big.len(), 1, "one request carries the 96 KiB layer: {log}");
    assert!(
        small.len() >= 3,
        "POSTs, the small layer and manifest: {log}"
    );
    for (l, _) in &big {
        assert!(
            l.contains(" HTTP/1.1 "),
            "a big body over HTTP/1.1: {l}\n{log}"
        );
    }
    for (l, _) in &small {
        assert!(
            l.contains(" HTTP/2.0 "),
            "HTTP/2 negotiated by ALPN: {l}\n{log}"
        );
    }
    // The registry wrote https Locations (X-Forwarded-Proto): no plain-HTTP request
    // reached nginx's TLS port, or the push would have failed.
    // SSL_CERT_FILE does the same as --ca-file.
    let out = s.push("v2", &[], &[("SSL_CERT_FILE", ca.to_str().unwrap())]);
    assert_success(&out);
    s.assert_pushed("v2");
}

/// `--http1` (or `WERF_PUSH_HTTP1`) keeps every request on HTTP/1.1 although nginx offers
/// HTTP/2.
#[test]
fn http1_flag_keeps_requests_on_http1() {
    let s = Setup::new(false);
    let ca = s.path("ca.pem");
    let out = s.push("v1", &["--ca-file", ca.to_str().unwrap(), "--http1"], &[]);
    assert_success(&out);
    s.assert_pushed("v1");
    let out = s.push(
        "v2",
        &["--ca-file", ca.to_str().unwrap()],
        &[("WERF_PUSH_HTTP1", "1")],
    );
    assert_success(&out);
    s.assert_pushed("v2");
    let log = s.nginx.access_log();
    let requests: Vec<&str> = log.lines().filter(|l| l.contains(" /v2/")).collect();
    assert!(
        requests.iter().any(|l| l.starts_with("PUT ")),
        "uploads went through nginx: {log}"
    );
    for l in &requests {
        assert!(l.contains(" HTTP/1.1 "), "HTTP/1.1 only: {l}\n{log}");
    }
}

#[test]
fn push_with_docker_certs_d() {
    let s = Setup::new(false);
    s.trust_ca_in_certs_d();
    let out = s.push("v1", &[], &[]);
    assert_success(&out);
    s.assert_pushed("v1");
}

#[test]
fn untrusted_certificate_fails_clearly() {
    let s = Setup::new(false);
    let out = s.push("v1", &[], &[]);
    assert_failure(&out);
    assert_eq!(out.code(), Some(4), "{}", out.describe());
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("{}", out.describe()))
        .to_lowercase();
    assert!(
        error.contains("certificate") || error.contains("unknownissuer"),
        "{error}"
    );
    assert!(error.contains(&s.nginx.host), "names the host: {error}");
    assert!(
        error.contains("--ca-file") && error.contains("certs.d"),
        "{error}"
    );
    assert!(
        out.stderr.contains("hint: ") && out.stderr.contains("--skip-tls-verify-registry"),
        "{}",
        out.describe()
    );
    assert!(s.reg.manifest_digest("app", "v1").is_none());
}

/// A certificate for another name: the error says which names it has and which was used,
/// and the hint does not send the user to --ca-file (the CA is trusted).
#[test]
fn a_certificate_for_another_name_says_its_names() {
    let reg = Registry::start();
    let ca = TestCa::new("werf-push test CA");
    let (cert, key) = ca.issue(&["registry.example.com"], false);
    let nginx = Nginx::start(NginxOptions::new(&reg.host, &ca).cert(&cert, &key));
    let env = Env::new(&[8 << 10]);
    std::fs::write(env.path("ca.pem"), &ca.cert_pem).unwrap();
    let ca_file = env.path("ca.pem");
    let dest = format!("{}/app:v1", nginx.host);
    let out = env.run(
        &[
            "push",
            "--ca-file",
            ca_file.to_str().unwrap(),
            &env.src(),
            &dest,
        ],
        &[],
    );
    assert_eq!(out.code(), Some(4), "{}", out.describe());
    let error = crate::support::scenario::error_line(&out);
    assert!(
        error.contains("is not valid for the name used (127.0.0.1)")
            && error.contains("is only valid for registry.example.com"),
        "{}",
        out.describe()
    );
    let hint = out
        .stderr
        .lines()
        .find(|l| l.starts_with("hint: "))
        .unwrap_or_default();
    assert!(
        hint.contains("a host name the certificate has") && !hint.contains("--ca-file"),
        "{}",
        out.describe()
    );
}

#[test]
fn skip_tls_verify_pushes() {
    let s = Setup::new(false);
    let out = s.push("v1", &["--skip-tls-verify-registry"], &[]);
    assert_success(&out);
    s.assert_pushed("v1");
    // Regression: boolean environment variables take werf's `1`/`yes` too, not only
    // `true` (`WERF_INSECURE_REGISTRY=1` was a usage error).
    let out = s.push(
        "v2",
        &[],
        &[
            ("WERF_SKIP_TLS_VERIFY_REGISTRY", "1"),
            ("WERF_INSECURE_REGISTRY", "yes"),
        ],
    );
    assert_success(&out);
    s.assert_pushed("v2");
}

#[test]
fn client_certificate_from_certs_d() {
    let s = Setup::new(true);
    let d = s.trust_ca_in_certs_d();
    // Without a client certificate nginx refuses: a TLS error that says so.
    let out = s.push("v0", &[], &[]);
    assert_failure(&out);
    assert_eq!(out.code(), Some(4), "{}", out.describe());
    assert!(
        out.stderr.contains("requires a client certificate"),
        "{}",
        out.describe()
    );
    assert!(s.reg.manifest_digest("app", "v0").is_none());
    let (cert, key) = s.ca.issue(&["werf-push-client"], true);
    std::fs::write(d.join("client.cert"), cert).unwrap();
    std::fs::write(d.join("client.key"), key).unwrap();
    let out = s.push("v1", &[], &[]);
    assert_success(&out);
    s.assert_pushed("v1");
}

/// A self-signed certificate made by a plain `openssl req -x509` is marked as a CA; rustls
/// alone refuses it as the server's certificate (`CaUsedAsEndEntity`). Trusted with
/// `--ca-file` or in certs.d it works, as with curl and skopeo; untrusted, the error says
/// so in words (no Rust debug text).
#[test]
fn a_self_signed_openssl_certificate_works_when_trusted() {
    let reg = Registry::start();
    let dir = tempfile::Builder::new()
        .prefix("werf-push-tls-")
        .tempdir()
        .unwrap();
    let (crt, key) = (dir.path().join("self.crt"), dir.path().join("self.key"));
    openssl_makes_a_self_signed_ca_certificate(&crt, &key);
    let ca = TestCa::new("unused");
    let opts = NginxOptions::new(&reg.host, &ca).cert(
        &std::fs::read_to_string(&crt).unwrap(),
        &std::fs::read_to_string(&key).unwrap(),
    );
    let nginx = Nginx::start(opts);
    let layout = dir.path().join("layout");
    let digest = layouts::image(&layout, &[32 << 10], 5, Format::Oci, None);
    let certs_d = dir.path().join("certs.d");
    std::fs::create_dir_all(certs_d.join(&nginx.host)).unwrap();
    let push = |tag: &str, extra: &[&str]| {
        let mut c = cmd::werf_push();
        c.arg("push").args(extra);
        c.arg(format!("oci:{}", layout.display()));
        c.arg(format!("{}/self:{tag}", nginx.host));
        c.env("WERF_PUSH_CERTS_D", &certs_d);
        cmd::run(&mut c)
    };
    let out = push("untrusted", &[]);
    assert_failure(&out);
    assert_eq!(out.code(), Some(4), "{}", out.describe());
    assert!(
        out.stderr
            .contains("not trusted here; to trust it, pass --ca-file"),
        "{}",
        out.describe()
    );
    assert!(
        !out.stderr.contains("Other(") && !out.stderr.contains("UnknownIssuer"),
        "debug text: {}",
        out.describe()
    );
    let out = push("v1", &["--ca-file", crt.to_str().unwrap()]);
    assert_success(&out);
    assert_eq!(
        reg.manifest_digest("self", "v1").as_deref(),
        Some(digest.as_str())
    );
    std::fs::copy(&crt, certs_d.join(&nginx.host).join("ca.crt")).unwrap();
    let out = push("v2", &[]);
    assert_success(&out);
    assert_eq!(
        reg.manifest_digest("self", "v2").as_deref(),
        Some(digest.as_str())
    );
}

/// `openssl req -x509` writes a self-signed certificate for 127.0.0.1 and localhost
/// (`crt`) and its key; openssl flags it as a CA.
fn openssl_makes_a_self_signed_ca_certificate(crt: &Path, key: &Path) {
    let out = cmd::run(std::process::Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        crt.to_str().unwrap(),
    ]));
    assert_success(&out);
    let text = cmd::run(std::process::Command::new("openssl").args([
        "x509",
        "-noout",
        "-text",
        "-in",
        crt.to_str().unwrap(),
    ]));
    assert!(
        text.stdout.contains("CA:TRUE"),
        "openssl made no CA-flagged certificate: {}",
        text.stdout
    );
}
