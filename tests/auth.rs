//! Acceptance tests of issue 4 (credentials and token auth) against real servers:
//! `docker-registry` with htpasswd Basic auth or token auth (the token issuer of
//! `support::token`), and relays (`support::authproxy`) to slow a push down or to send its
//! uploads to another host. Every werf-push run gets an isolated environment: its own
//! HOME, XDG_RUNTIME_DIR, an empty certs.d, and none of the caller's DOCKER_CONFIG,
//! REGISTRY_AUTH_FILE, CI_* or WERF_* variables.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;
use tempfile::TempDir;

use support::authproxy::{Relay, RelayOptions};
use support::cmd::{self, assert_failure, assert_success, Output};
use support::layouts::{self, Format};
use support::registry::{http_request, Registry, RegistryOptions, TEST_PASSWORD, TEST_USER};
use support::token::{IssuerOptions, TokenIssuer, REFRESH_TOKEN};

/// A scratch environment for werf-push runs, with one small image in a layout.
struct Env {
    dir: TempDir,
    layout: PathBuf,
    digest: String,
}

impl Env {
    fn new(layer_sizes: &[usize]) -> Env {
        let dir = tempfile::Builder::new()
            .prefix("werf-push-auth-")
            .tempdir()
            .unwrap();
        for sub in ["home", "xdg", "certs.d", "bin"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let layout = dir.path().join("layout");
        let digest = layouts::image(&layout, layer_sizes, 7, Format::Oci, None);
        Env {
            dir,
            layout,
            digest,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn src(&self) -> String {
        format!("oci:{}", self.layout.display())
    }

    /// `werf-push ARGS...` with the isolated environment plus `env`.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = cmd::werf_push();
        c.args(args);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().to_string();
            if k.starts_with("WERF_") || k.starts_with("CI_") || k.starts_with("REGISTRY_") {
                c.env_remove(&k);
            }
        }
        for k in ["DOCKER_CONFIG", "SSL_CERT_FILE", "XDG_RUNTIME_DIR"] {
            c.env_remove(k);
        }
        c.env("HOME", self.path("home"))
            .env("XDG_RUNTIME_DIR", self.path("xdg"))
            .env("WERF_PUSH_CERTS_D", self.path("certs.d"))
            .env("NO_COLOR", "1");
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("PATH", path);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = cmd::run(&mut c);
        assert!(
            !out.stderr.contains("panicked"),
            "werf-push panicked\n{}",
            out.describe()
        );
        out
    }

    fn push(&self, dest: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let mut args = vec!["push", "--json"];
        args.extend_from_slice(extra);
        let src = self.src();
        args.push(&src);
        args.push(dest);
        self.run(&args, env)
    }
}

fn basic(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The manifest digest of `repo:tag` on a token-auth registry, read with a token of the
/// issuer's.
fn token_manifest_digest(
    reg: &Registry,
    issuer: &TokenIssuer,
    repo: &str,
    tag: &str,
) -> Option<String> {
    let token = issuer.token_for(&[&format!("repository:{repo}:pull")]);
    let auth = format!("Bearer {token}");
    let (status, headers, _) = http_request(
        "HEAD",
        &format!("{}/v2/{repo}/manifests/{tag}", reg.url()),
        &[
            ("Authorization", &auth),
            ("Accept", support::registry::MANIFEST_ACCEPT),
        ],
        &[],
    );
    (status == 200).then(|| {
        support::registry::header(&headers, "Docker-Content-Digest")
            .unwrap()
            .to_string()
    })
}

fn error_line(out: &Output) -> String {
    out.stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line\n{}", out.describe()))
        .to_string()
}

// ---------------------------------------------------------------------------------------
// htpasswd Basic auth: every credential source
// ---------------------------------------------------------------------------------------

#[test]
fn basic_auth_with_flags_and_env() {
    let reg = RegistryOptions::new().htpasswd().start();
    let env = Env::new(&[8 << 10]);
    let out = env.push(
        &format!("{}/flags:v1", reg.host),
        &[
            "--registry-username",
            TEST_USER,
            "--registry-password",
            TEST_PASSWORD,
        ],
        &[],
    );
    assert_success(&out);
    assert_eq!(
        reg.manifest_digest("flags", "v1").as_deref(),
        Some(env.digest.as_str())
    );
    let out = env.push(
        &format!("{}/env:v1", reg.host),
        &[],
        &[
            ("WERF_REGISTRY_USERNAME", TEST_USER),
            ("WERF_REGISTRY_PASSWORD", TEST_PASSWORD),
        ],
    );
    assert_success(&out);
    assert_eq!(
        reg.manifest_digest("env", "v1").as_deref(),
        Some(env.digest.as_str())
    );
    // --registry-password-stdin (a trailing newline is not part of the password).
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_werf-push"));
    c.args([
        "push",
        "--registry-username",
        TEST_USER,
        "--registry-password-stdin",
    ])
    .arg(env.src())
    .arg(format!("{}/stdin:v1", reg.host))
    .env("HOME", env.path("home"))
    .env("XDG_RUNTIME_DIR", env.path("xdg"))
    .env_remove("DOCKER_CONFIG")
    .env_remove("WERF_REGISTRY_PASSWORD")
    .env_remove("WERF_REGISTRY_USERNAME")
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{TEST_PASSWORD}\n").as_bytes())
        .unwrap();
    let done = child.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(reg.tag_exists("stdin", "v1"));
}

#[test]
fn basic_auth_with_docker_config_auths() {
    let reg = RegistryOptions::new().htpasswd().start();
    let env = Env::new(&[8 << 10]);
    // Through --docker-config, with the `auth` field; a decoy entry for another host.
    let cfg = format!(
        r#"{{"auths":{{"other.example.com":{{"auth":"{}"}},"{}":{{"auth":"{}"}}}}}}"#,
        basic("nobody", "nothing"),
        reg.host,
        basic(TEST_USER, TEST_PASSWORD)
    );
    write(&env.path("dc/config.json"), &cfg);
    let dc = env.path("dc");
    let out = env.push(
        &format!("{}/dc:v1", reg.host),
        &["--docker-config", dc.to_str().unwrap()],
        &[],
    );
    assert_success(&out);
    assert_eq!(
        reg.manifest_digest("dc", "v1").as_deref(),
        Some(env.digest.as_str())
    );
    // ~/.docker/config.json with username/password fields, as `http://host` key.
    let cfg = format!(
        r#"{{"auths":{{"http://{}/v2/":{{"username":"{TEST_USER}","password":"{TEST_PASSWORD}"}}}}}}"#,
        reg.host
    );
    write(&env.path("home/.docker/config.json"), &cfg);
    let out = env.push(&format!("{}/home:v1", reg.host), &[], &[]);
    assert_success(&out);
    assert!(reg.tag_exists("home", "v1"));
}

#[test]
fn basic_auth_with_credential_helper() {
    let reg = RegistryOptions::new().htpasswd().start();
    let env = Env::new(&[8 << 10]);
    let asked = env.path("helper-asked.txt");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nread -r server\necho \"$server\" >> {}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{TEST_USER}\",\"Secret\":\"{TEST_PASSWORD}\"}}' \"$server\"\n",
        asked.display()
    );
    let helper = env.path("bin/docker-credential-werftest");
    write(&helper, &script);
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    write(
        &env.path("dc/config.json"),
        &format!(
            r#"{{"credHelpers":{{"{}":"werftest"}},"auths":{{"{}":{{}}}}}}"#,
            reg.host, reg.host
        ),
    );
    let dc = env.path("dc");
    let out = env.push(
        &format!("{}/helper:v1", reg.host),
        &[],
        &[("DOCKER_CONFIG", dc.to_str().unwrap())],
    );
    assert_success(&out);
    assert!(reg.tag_exists("helper", "v1"));
    let asked = std::fs::read_to_string(&asked).unwrap();
    assert_eq!(
        asked.trim(),
        reg.host,
        "the helper is asked about the registry host"
    );

    // credsStore naming a helper that is not installed: a clear error naming it.
    write(
        &env.path("dc2/config.json"),
        r#"{"credsStore":"werf-push-missing"}"#,
    );
    let dc2 = env.path("dc2");
    let out = env.push(
        &format!("{}/helper:v2", reg.host),
        &[],
        &[("DOCKER_CONFIG", dc2.to_str().unwrap())],
    );
    assert_failure(&out);
    assert_eq!(out.code(), Some(5), "{}", out.describe());
    assert!(
        error_line(&out).contains("docker-credential-werf-push-missing"),
        "{}",
        out.describe()
    );
    assert!(!reg.tag_exists("helper", "v2"));
}

#[test]
fn basic_auth_with_podman_auth_json() {
    let reg = RegistryOptions::new().htpasswd().start();
    let env = Env::new(&[8 << 10]);
    let auth = format!(
        r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
        reg.host,
        basic(TEST_USER, TEST_PASSWORD)
    );
    // $XDG_RUNTIME_DIR/containers/auth.json
    write(&env.path("xdg/containers/auth.json"), &auth);
    assert_success(&env.push(&format!("{}/xdg:v1", reg.host), &[], &[]));
    assert!(reg.tag_exists("xdg", "v1"));
    // REGISTRY_AUTH_FILE wins over it (the XDG file now holds a wrong password).
    write(
        &env.path("xdg/containers/auth.json"),
        &format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            reg.host,
            basic(TEST_USER, "wrong")
        ),
    );
    write(&env.path("podman/auth.json"), &auth);
    let file = env.path("podman/auth.json");
    let out = env.push(
        &format!("{}/raf:v1", reg.host),
        &[],
        &[("REGISTRY_AUTH_FILE", file.to_str().unwrap())],
    );
    assert_success(&out);
    assert!(reg.tag_exists("raf", "v1"));
}

#[test]
fn wrong_or_missing_credentials_fail_clearly() {
    let reg = RegistryOptions::new().htpasswd().start();
    let env = Env::new(&[8 << 10]);
    let out = env.push(
        &format!("{}/app:v1", reg.host),
        &[
            "--registry-username",
            TEST_USER,
            "--registry-password",
            "not-the-password",
        ],
        &[],
    );
    assert_failure(&out);
    assert_eq!(out.code(), Some(5), "{}", out.describe());
    let line = error_line(&out);
    assert!(
        line.contains(&reg.host) && line.contains("--registry-username/--registry-password"),
        "the error names the host and the credential source: {line}"
    );
    assert!(
        out.stderr.contains("hint: ") && out.stderr.contains("docker login"),
        "{}",
        out.describe()
    );
    assert!(!out.stderr.contains("not-the-password"));

    let out = env.push(&format!("{}/app:v1", reg.host), &[], &[]);
    assert_eq!(out.code(), Some(5), "{}", out.describe());
    assert!(
        error_line(&out).contains("no credentials were found"),
        "{}",
        out.describe()
    );
    assert!(!reg.tag_exists("app", "v1"));

    // A password without a user name is a usage error.
    let out = env.push(
        &format!("{}/app:v1", reg.host),
        &["--registry-password", "x"],
        &[],
    );
    assert_eq!(out.code(), Some(2), "{}", out.describe());
}

// ---------------------------------------------------------------------------------------
// Token auth
// ---------------------------------------------------------------------------------------

const USER_FLAGS: [&str; 4] = [
    "--registry-username",
    TEST_USER,
    "--registry-password",
    TEST_PASSWORD,
];

/// A push through a throttled relay (256 KiB/s, 128 KiB chunks, ~4 s for a 1 MiB layer)
/// while tokens live 2 s. `reported` is the `expires_in` the issuer claims.
fn slow_token_push(reported: Option<u64>) -> (Registry, TokenIssuer, Relay, Env, Output) {
    let mut opts = IssuerOptions::new().lifetime(2);
    if let Some(r) = reported {
        opts = opts.reported_expires_in(r);
    }
    let issuer = TokenIssuer::start(opts);
    let reg = issuer.registry_options().start();
    let relay = Relay::start(RelayOptions::new(&reg.host).throttle(256 << 10));
    let env = Env::new(&[1 << 20]);
    let mut args = USER_FLAGS.to_vec();
    args.extend([
        "--upload-strategy",
        "chunked",
        "--chunk-size",
        "128KiB",
        "-j",
        "1",
    ]);
    let out = env.push(&format!("{}/slow:v1", relay.host), &args, &[]);
    (reg, issuer, relay, env, out)
}

#[test]
fn token_refreshed_when_the_registry_says_it_expired() {
    // The issuer claims 300 s, the registry refuses the token after 2 s: only the
    // registry's new 401 mid-push tells werf-push, which must refresh and resend.
    let (reg, issuer, relay, env, out) = slow_token_push(Some(300));
    assert_success(&out);
    assert_eq!(
        token_manifest_digest(&reg, &issuer, "slow", "v1").as_deref(),
        Some(env.digest.as_str())
    );
    let log = relay.requests();
    let first_authorised = log
        .iter()
        .position(|r| r.header("authorization").is_some())
        .expect("some request carried a token");
    let mid_push_401 = log[first_authorised..]
        .iter()
        .filter(|r| r.status == 401 && r.header("authorization").is_some())
        .count();
    assert!(mid_push_401 >= 1, "the push outlasted a token: {log:#?}");
    let tokens = issuer
        .log()
        .iter()
        .filter(|t| t.status == 200 && t.scopes.iter().any(|s| s == "repository:slow:pull,push"))
        .count();
    assert!(tokens >= 2, "{:#?}", issuer.log());
}

#[test]
fn token_renewed_before_it_expires() {
    // The issuer tells the truth (`expires_in` 2): werf-push renews each token before
    // the registry would refuse it, so no request carrying a token is refused.
    let (reg, issuer, relay, env, out) = slow_token_push(None);
    assert_success(&out);
    assert_eq!(
        token_manifest_digest(&reg, &issuer, "slow", "v1").as_deref(),
        Some(env.digest.as_str())
    );
    let tokens = issuer.log().iter().filter(|t| t.status == 200).count();
    assert!(
        tokens >= 2,
        "several 2 s tokens over a ~4 s push: {:#?}",
        issuer.log()
    );
    let refused: Vec<_> = relay
        .requests()
        .into_iter()
        .filter(|r| r.status == 401 && r.header("authorization").is_some())
        .collect();
    assert!(refused.is_empty(), "tokens renewed early: {refused:#?}");
}

#[test]
fn mount_asks_for_and_gets_the_source_pull_scope() {
    let issuer = TokenIssuer::start(IssuerOptions::new());
    let reg = issuer.registry_options().start();
    let env = Env::new(&[64 << 10]);
    let mut args = vec!["push", "--json"];
    args.extend(USER_FLAGS);
    let src = env.src();
    let (a, b) = (
        format!("{}/src-repo:v1", reg.host),
        format!("{}/dst-repo:v1", reg.host),
    );
    args.extend([src.as_str(), a.as_str(), b.as_str()]);
    let out = env.run(&args, &[]);
    assert_success(&out);
    let summary: Value = serde_json::from_slice(&out.stdout_bytes).unwrap();
    assert!(
        summary["blobs_mounted"].as_u64().unwrap() >= 1,
        "{summary:#}"
    );
    let mount = issuer
        .log()
        .into_iter()
        .find(|t| {
            t.scopes
                .iter()
                .any(|s| s.ends_with(":pull") && s.contains("-repo"))
        })
        .unwrap_or_else(|| {
            panic!(
                "no token asked for a source pull scope: {:#?}",
                issuer.log()
            )
        });
    let (from, to) = if mount
        .scopes
        .contains(&"repository:src-repo:pull".to_string())
    {
        ("src-repo", "dst-repo")
    } else {
        ("dst-repo", "src-repo")
    };
    for want in [
        format!("repository:{from}:pull"),
        format!("repository:{to}:pull,push"),
    ] {
        assert!(mount.scopes.contains(&want), "asked {want}: {mount:?}");
        assert!(mount.granted.contains(&want), "granted {want}: {mount:?}");
    }
    for repo in ["src-repo", "dst-repo"] {
        assert_eq!(
            token_manifest_digest(&reg, &issuer, repo, "v1").as_deref(),
            Some(env.digest.as_str())
        );
    }
}

#[test]
fn token_without_push_scope_is_denied_with_a_hint() {
    let issuer = TokenIssuer::start(IssuerOptions::new().grant(|account, _, asked| {
        asked
            .iter()
            .filter(|a| account.is_some() && *a == "pull")
            .cloned()
            .collect()
    }));
    let reg = issuer.registry_options().start();
    let env = Env::new(&[8 << 10]);
    let out = env.push(&format!("{}/readonly:v1", reg.host), &USER_FLAGS, &[]);
    assert_failure(&out);
    assert_eq!(out.code(), Some(5), "{}", out.describe());
    assert!(error_line(&out).contains("denied"), "{}", out.describe());
    assert!(
        out.stderr
            .contains("hint: the account lacks push rights on that repository"),
        "{}",
        out.describe()
    );
    assert!(token_manifest_digest(&reg, &issuer, "readonly", "v1").is_none());
}

#[test]
fn identity_token_is_an_oauth2_refresh_token() {
    let issuer = TokenIssuer::start(IssuerOptions::new());
    let reg = issuer.registry_options().start();
    let env = Env::new(&[8 << 10]);
    write(
        &env.path("home/.docker/config.json"),
        &format!(
            r#"{{"auths":{{"{}":{{"auth":"{}","identitytoken":"{REFRESH_TOKEN}"}}}}}}"#,
            reg.host,
            basic("<token>", "")
        ),
    );
    let out = env.push(&format!("{}/oauth:v1", reg.host), &[], &[]);
    assert_success(&out);
    let log = issuer.log();
    assert!(
        log.iter()
            .all(|t| t.method == "POST" && t.account.as_deref() == Some(TEST_USER)),
        "{log:#?}"
    );
    assert!(token_manifest_digest(&reg, &issuer, "oauth", "v1").is_some());
}

// ---------------------------------------------------------------------------------------
// Secrets and foreign hosts
// ---------------------------------------------------------------------------------------

#[test]
fn secrets_never_reach_output_at_any_verbosity() {
    let issuer = TokenIssuer::start(IssuerOptions::new());
    let reg = issuer.registry_options().start();
    let env = Env::new(&[8 << 10]);
    let out = env.push(
        &format!("{}/quiet:v1", reg.host),
        &[
            "-vv",
            "--registry-username",
            TEST_USER,
            "--registry-password",
            TEST_PASSWORD,
        ],
        &[],
    );
    assert_success(&out);
    let tokens = issuer.tokens();
    assert!(!tokens.is_empty());
    let basic_header = basic(TEST_USER, TEST_PASSWORD);
    let summary: Value = serde_json::from_slice(&out.stdout_bytes).unwrap();
    assert!(summary["tags"].is_array());
    for (what, text) in [("stderr", &out.stderr), ("stdout", &out.stdout)] {
        assert!(
            !text.contains(TEST_PASSWORD),
            "password in {what}\n{}",
            out.describe()
        );
        assert!(!text.contains(&basic_header), "Basic credentials in {what}");
        for t in &tokens {
            // Any 20-character piece of the signature is enough to leak it.
            let sig = t.rsplit('.').next().unwrap();
            assert!(
                !text.contains(&sig[..20]),
                "a token in {what}\n{}",
                out.describe()
            );
        }
    }
    assert!(
        out.stderr.contains("-->"),
        "-vv shows requests: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("authorization: <redacted>"),
        "-vv shows headers, credentials redacted: {}",
        out.stderr
    );

    // Basic auth at -vv, and a failure's message.
    let reg = RegistryOptions::new().htpasswd().start();
    let out = env.push(
        &format!("{}/quiet:v1", reg.host),
        &["-vv"],
        &[
            ("WERF_REGISTRY_USERNAME", TEST_USER),
            ("WERF_REGISTRY_PASSWORD", TEST_PASSWORD),
        ],
    );
    assert_success(&out);
    let out2 = env.push(
        &format!("{}/quiet:v2", reg.host),
        &[
            "-vv",
            "--registry-username",
            TEST_USER,
            "--registry-password",
            "wrong-secret-value",
        ],
        &[],
    );
    assert_failure(&out2);
    for o in [&out, &out2] {
        for text in [&o.stderr, &o.stdout] {
            for secret in [
                TEST_PASSWORD.to_string(),
                basic_header.clone(),
                "wrong-secret-value".into(),
                basic(TEST_USER, "wrong-secret-value"),
            ] {
                assert!(!text.contains(&secret), "{}", o.describe());
            }
        }
    }
}

#[test]
fn no_authorization_to_a_foreign_upload_location() {
    let reg = RegistryOptions::new().htpasswd().start();
    // 127.0.0.2: another host, which authorises uploads itself (like blob storage).
    let foreign = Relay::start(
        RelayOptions::new(&reg.host)
            .bind("127.0.0.2")
            .inject_auth(&format!("Basic {}", basic(TEST_USER, TEST_PASSWORD))),
    );
    let front = Relay::start(RelayOptions::new(&reg.host).location_to(&foreign.host));
    let env = Env::new(&[64 << 10]);
    let out = env.push(&format!("{}/far:v1", front.host), &USER_FLAGS, &[]);
    assert_success(&out);
    assert!(reg.tag_exists("far", "v1"));
    let far = foreign.requests();
    assert!(
        far.iter().any(|r| r.method == "PUT"),
        "uploads went to the foreign host: {far:#?}"
    );
    for r in &far {
        assert!(
            r.header("authorization").is_none(),
            "Authorization sent to {}: {r:?}",
            foreign.host
        );
    }
    assert!(front
        .requests()
        .iter()
        .any(|r| r.header("authorization").is_some()));
}
