//! Token auth: `docker-registry` in `auth: token:` mode with
//! the test token issuer (`support::token`): a push that outlasts its tokens (renewed
//! early, or refreshed on the registry's 401 and only that request sent again, through a
//! throttled relay), the source pull scope of a cross-repository mount, a token without
//! push (the 403 message), anonymous tokens, identity tokens as OAuth2 refresh tokens.
//! Every werf-push run is isolated (`support::isolated`).

use serde_json::Value;

use crate::support::authproxy::{Relay, RelayOptions};
use crate::support::cmd::{assert_failure, assert_success, Output};
use crate::support::isolated::{basic, error_line, token_manifest_digest, write, Env, USER_FLAGS};
use crate::support::registry::{Registry, TEST_USER};
use crate::support::token::{IssuerOptions, TokenIssuer, REFRESH_TOKEN};

// ---------------------------------------------------------------------------------------
// Token auth
// ---------------------------------------------------------------------------------------

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
    assert!(!log.is_empty(), "no token was issued");
    assert!(
        log.iter()
            .all(|t| t.method == "POST" && t.account.as_deref() == Some(TEST_USER)),
        "{log:#?}"
    );
    assert!(token_manifest_digest(&reg, &issuer, "oauth", "v1").is_some());
}

#[test]
fn anonymous_token_without_rights_says_to_log_in() {
    // The realm hands anonymous callers a token with no access; the registry answers
    // 401 insufficient_scope: the fix is to log in.
    let issuer = TokenIssuer::start(IssuerOptions::new());
    let reg = issuer.registry_options().start();
    let env = Env::new(&[8 << 10]);
    let out = env.push(&format!("{}/anon:v1", reg.host), &[], &[]);
    assert_failure(&out);
    assert_eq!(out.code(), Some(5), "{}", out.describe());
    assert!(
        error_line(&out).contains("no credentials were found"),
        "{}",
        out.describe()
    );
    assert!(out.stderr.contains("docker login"), "{}", out.describe());
    let log = issuer.log();
    assert!(
        log.iter().any(|t| t.account.is_none() && t.status == 200),
        "an anonymous token was asked for: {log:#?}"
    );
}

#[test]
fn upload_location_outside_v2_gets_the_repository_token() {
    // Google Artifact Registry answers upload Locations under /artifacts-uploads/: the
    // path names no repository, so the token scope comes from the upload's repository.
    let issuer = TokenIssuer::start(IssuerOptions::new());
    let reg = issuer.registry_options().start();
    let relay = Relay::start(RelayOptions::new(&reg.host).gar_uploads());
    let env = Env::new(&[64 << 10]);
    let mut args = USER_FLAGS.to_vec();
    args.extend(["--upload-strategy", "chunked", "--chunk-size", "32KiB"]);
    let out = env.push(&format!("{}/gar:v1", relay.host), &args, &[]);
    assert_success(&out);
    let outside: Vec<_> = relay
        .requests()
        .into_iter()
        .filter(|r| r.target.starts_with("/artifacts-uploads/"))
        .collect();
    assert!(
        outside.iter().any(|r| r.method == "PATCH") && outside.iter().any(|r| r.method == "PUT"),
        "{outside:#?}"
    );
    assert!(outside.iter().all(|r| r.status != 401), "{outside:#?}");
    assert_eq!(
        token_manifest_digest(&reg, &issuer, "gar", "v1").as_deref(),
        Some(env.digest.as_str())
    );
}
