//! Auth quirks of the push quirks survey (rows 11-14 of
//! docs/reliability.md): GitLab's token service refusing a mount scope, Quay's pull-only
//! token for a repository not there yet, Nexus's `BASIC` in upper case, ACR's Basic
//! challenge to a bad password. The token issuer (`support::token`) and the quirk proxy
//! (`support::proxy_quirks`) stand in front of a real `docker-registry`; every run is
//! isolated (`support::isolated`).

use crate::support::cmd::{assert_failure, assert_success};
use crate::support::isolated::{error_line, token_manifest_digest, Env, USER_FLAGS};
use crate::support::proxy::{Proxy, ProxyConfig};
use crate::support::proxy_quirks::Quirk;
use crate::support::registry::{RegistryOptions, TEST_PASSWORD, TEST_USER};
use crate::support::skopeo::Skopeo;
use crate::support::token::{IssuerOptions, TokenIssuer};

/// Row 11, GitLab: a token request carrying a mount's source scope gets 404. The mount is
/// given up and the blob uploaded with the repository's own token.
#[test]
fn gitlab_mount_scope_token_refused_upload_instead() {
    let issuer = TokenIssuer::start(
        IssuerOptions::new()
            .refuse(|scopes| scopes.len() > 1 && scopes.iter().any(|s| s.ends_with(":pull"))),
    );
    let reg = issuer.registry_options().start();
    let env = Env::new(&[64 << 10]);
    let src = env.src();
    let (a, b) = (
        format!("{}/gl-a:v1", reg.host),
        format!("{}/gl-b:v1", reg.host),
    );
    let mut args = vec!["push", "--jobs", "1"];
    args.extend(USER_FLAGS);
    args.extend([src.as_str(), a.as_str(), b.as_str()]);
    let out = env.run(&args, &[]);
    assert_success(&out);
    let log = issuer.log();
    assert!(
        log.iter().any(|t| t.status == 404),
        "no mount-scoped token was asked for: {log:#?}"
    );
    for repo in ["gl-a", "gl-b"] {
        assert_eq!(
            token_manifest_digest(&reg, &issuer, repo, "v1").as_deref(),
            Some(env.digest.as_str())
        );
    }
}

/// Row 12, Quay: a token asked with `pull` only for a repository that does not exist yet
/// grants nothing (401 on the HEAD). The first token request of a push asks `pull,push`.
#[test]
fn quay_first_token_asks_pull_and_push() {
    let issuer = TokenIssuer::start(IssuerOptions::new().grant(|account, _, asked| {
        if account.is_none() || asked == ["pull"] {
            Vec::new()
        } else {
            asked.to_vec()
        }
    }));
    let reg = issuer.registry_options().start();
    let env = Env::new(&[16 << 10]);
    let out = env.push(&format!("{}/quay:v1", reg.host), &USER_FLAGS, &[]);
    assert_success(&out);
    let log = issuer.log();
    let first = log.first().expect("no token asked for");
    assert_eq!(
        first.scopes,
        vec!["repository:quay:pull,push".to_string()],
        "{log:#?}"
    );
    assert_eq!(
        token_manifest_digest(&reg, &issuer, "quay", "v1").as_deref(),
        Some(env.digest.as_str())
    );
}

/// Row 13, Nexus: `WWW-Authenticate: BASIC realm=...`; the scheme is matched without
/// regard to case.
#[test]
fn nexus_upper_case_basic_scheme() {
    let reg = RegistryOptions::new().htpasswd().start();
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            quirks: vec![Quirk::UpperCaseScheme],
            ..Default::default()
        },
    );
    let env = Env::new(&[16 << 10]);
    let out = env.push(&format!("{}/nexus:v1", proxy.host), &USER_FLAGS, &[]);
    assert_success(&out);
    assert!(proxy.stats().quirks >= 1, "no BASIC challenge was sent");
    let sk = Skopeo::with_creds(TEST_USER, TEST_PASSWORD);
    let raw = sk.inspect_raw(&format!("{}/nexus:v1", reg.host));
    assert_eq!(
        crate::support::cmd::sha256_digest(&raw),
        env.digest,
        "the registry serves other manifest bytes"
    );
}

/// Row 14, ACR: a bad Basic password gets another Basic challenge, not Bearer: the error
/// says the credentials are wrong (exit 5). (The identity-token exchange is
/// `token_auth::identity_token_is_an_oauth2_refresh_token`.)
#[test]
fn acr_second_basic_challenge_says_wrong_credentials() {
    let reg = RegistryOptions::new().htpasswd().start();
    let proxy = Proxy::start(&reg.host, ProxyConfig::default());
    let env = Env::new(&[8 << 10]);
    let out = env.push(
        &format!("{}/acr:v1", proxy.host),
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
    assert!(
        error_line(&out).contains("wrong credentials"),
        "{}",
        out.describe()
    );
    assert!(!out.stderr.contains("not-the-password"));
}
