//! Credentials: `docker-registry` with htpasswd Basic auth
//! reached through each credential source (flags, env, stdin, Docker `config.json`
//! `auths`, a credential helper script, podman `auth.json`), wrong or missing credentials,
//! secrets kept out of every output at `-vv`, and no `Authorization` to an upload
//! `Location` on another host (relays of `support::authproxy`). Token auth is in
//! `tests/it/token_auth.rs`. Every werf-push run is isolated (`support::isolated`).

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::support::authproxy::{Relay, RelayOptions};
use crate::support::cmd::{assert_failure, assert_success};
use crate::support::isolated::{basic, error_line, write, Env, USER_FLAGS};
use crate::support::registry::{RegistryOptions, TEST_PASSWORD, TEST_USER};
use crate::support::token::{IssuerOptions, TokenIssuer};

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
    let mut c = crate::support::cmd::werf_push();
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
    // What failed leads (authentication at the registry), then what it stopped; as
    // docs/troubleshooting.md quotes it.
    let lead = format!(
        "error: registry {} did not accept the credentials from",
        reg.host
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with(&lead) && l.contains("(while: ")),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("hint: ") && out.stderr.contains("docker login"),
        "{}",
        out.describe()
    );
    assert!(!out.stderr.contains("not-the-password"));

    let out = env.push(&format!("{}/app:v1", reg.host), &[], &[]);
    assert_eq!(out.code(), Some(5), "{}", out.describe());
    let lead = format!(
        "error: registry {} requires authentication and no credentials were found for it",
        reg.host
    );
    assert!(
        out.stderr.lines().any(|l| l.starts_with(&lead)),
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
// Secrets and foreign hosts
// ---------------------------------------------------------------------------------------

#[test]
fn secrets_never_reach_output_at_any_verbosity() {
    let env = Env::new(&[8 << 10]);
    tokens_and_the_password_never_reach_output_at_vv(&env);
    basic_credentials_never_reach_output_at_vv_nor_a_failures_message(&env);
}

/// Token auth at -vv: requests and headers are shown, the password, the Basic
/// credentials and the tokens never (in stderr or stdout).
fn tokens_and_the_password_never_reach_output_at_vv(env: &Env) {
    let issuer = TokenIssuer::start(IssuerOptions::new());
    let reg = issuer.registry_options().start();
    let vv = [&["-vv"][..], &USER_FLAGS].concat();
    let out = env.push(&format!("{}/quiet:v1", reg.host), &vv, &[]);
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
}

/// Basic auth at -vv (credentials from the environment), and a failure's message (a
/// wrong password): neither password nor its Basic credentials are shown.
fn basic_credentials_never_reach_output_at_vv_nor_a_failures_message(env: &Env) {
    let reg = RegistryOptions::new().htpasswd().start();
    let basic_header = basic(TEST_USER, TEST_PASSWORD);
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
