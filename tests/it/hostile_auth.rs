//! Credentials against hostile hosts: a registry redirects a blob `GET` to storage on
//! another host, which answers 401 with a Bearer challenge naming a token realm of its
//! own. werf-push never learns that challenge: the registry's credentials go to no realm
//! but the registry's own, the registry's auth is left as it was, and the run fails saying
//! which host answered 401; the same when the registry's ping is sent on to that host.
//! Real registry (token auth) behind the test proxy; a second proxy stands for the
//! storage, a second token issuer for its realm.

use std::path::Path;

use crate::support::cmd::{assert_success, Output};
use crate::support::isolated::{Env, USER_FLAGS};
use crate::support::layouts::copy_dir;
use crate::support::proxy::{Proxy, ProxyConfig};
use crate::support::proxy_hostile::{Hostile, HostileKind};
use crate::support::proxy_quirks::Quirk;
use crate::support::registry::TEST_PASSWORD;
use crate::support::token::{IssuerOptions, TokenIssuer};

#[test]
fn a_401_from_a_redirect_target_gets_no_credentials_and_is_an_error() {
    let issuer = TokenIssuer::start(IssuerOptions::new());
    let reg = issuer.registry_options().start();
    let foreign_realm = TokenIssuer::start(IssuerOptions::new());
    let challenge = format!(
        r#"Bearer realm="{}",service="cdn",scope="blob:read""#,
        foreign_realm.realm()
    );
    let storage = Proxy::start(
        &reg.host,
        ProxyConfig {
            hostile: vec![Hostile::new(None, "/", HostileKind::Challenge(challenge))],
            ..Default::default()
        },
    );
    let env = Env::new(&[1024]);
    publish_the_example_with_stages(&env, &reg.host);
    a_blob_redirected_to_a_challenging_storage_fails_naming_it(
        &env,
        &reg.host,
        &storage,
        &foreign_realm,
    );
    a_ping_sent_on_to_the_storage_teaches_no_challenge(&env, &reg.host, &storage);
}

/// `publish --with-stages` of the example project to `{host}/app`, logged in.
fn publish_the_example_with_stages(env: &Env, host: &str) {
    let project = env.path("project");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example"),
        &project,
    );
    let project = project.to_str().unwrap();
    let mut publish = vec![
        "publish",
        "--dir",
        project,
        "--with-stages",
        "--tag-custom",
        "v1",
        "--repo",
    ];
    let repo = format!("{host}/app");
    publish.push(&repo);
    publish.extend(USER_FLAGS);
    assert_success(&env.run(&publish, &[]));
}

/// `stages pull` of `{host}/app`, logged in, into a fresh directory `dir` of the env.
fn pull(env: &Env, host: &str, dir: &str) -> Output {
    let pulled = env.path(dir);
    let repo = format!("{host}/app");
    let mut pull = vec!["stages", "pull", "--repo", &repo, "--stages-dir"];
    pull.push(pulled.to_str().unwrap());
    pull.extend(USER_FLAGS);
    env.run(&pull, &[])
}

/// The registry (through a proxy) redirects a blob `GET` to the storage, which answers
/// 401 with a challenge of its own realm: that realm is never asked, no credentials are
/// said to be wrong or shown, and the error names the host that answered 401 (exit 5).
fn a_blob_redirected_to_a_challenging_storage_fails_naming_it(
    env: &Env,
    registry: &str,
    storage: &Proxy,
    foreign_realm: &TokenIssuer,
) {
    let front = Proxy::start(
        registry,
        ProxyConfig {
            quirks: vec![Quirk::BlobGetElsewhere(storage.host.clone())],
            ..Default::default()
        },
    );
    let out = pull(env, &front.host, "pulled");
    assert_eq!(out.code(), Some(5), "exit code\n{}", out.describe());
    let redirected = storage.stats().log;
    assert!(
        redirected
            .iter()
            .any(|r| r.method == "GET" && r.path().starts_with("/storage/")),
        "no blob GET was redirected to the storage: {redirected:#?}\n{}",
        out.describe()
    );
    let asked = foreign_realm.log();
    assert!(
        asked.is_empty(),
        "the storage's realm was asked for a token: {asked:#?}\n{}",
        out.describe()
    );
    assert!(
        out.stderr
            .contains(&format!("not the registry {}", front.host))
            && out.stderr.contains(&storage.host),
        "the error does not name the host that answered 401\n{}",
        out.describe()
    );
    assert!(
        !out.stderr.contains("wrong credentials") && !out.stderr.contains(TEST_PASSWORD),
        "{}",
        out.describe()
    );
}

/// The registry's own `GET /v2/` sent on to the storage: no challenge learned from it,
/// no credentials said to be wrong or shown, the error names the registry (exit 5).
fn a_ping_sent_on_to_the_storage_teaches_no_challenge(env: &Env, registry: &str, storage: &Proxy) {
    let ping_front = Proxy::start(
        registry,
        ProxyConfig {
            quirks: vec![Quirk::PingElsewhere(storage.host.clone())],
            ..Default::default()
        },
    );
    let out2 = pull(env, &ping_front.host, "pulled2");
    assert_eq!(out2.code(), Some(5), "exit code\n{}", out2.describe());
    assert!(
        out2.stderr
            .contains(&format!("not the registry {}", ping_front.host)),
        "{}",
        out2.describe()
    );
    assert!(
        !out2.stderr.contains("wrong credentials") && !out2.stderr.contains(TEST_PASSWORD),
        "{}",
        out2.describe()
    );
}
