//! Exit codes (documented in the README) and the one-line error report with hints.

use werf_push::layout::LayoutError;
use werf_push::push::PushError;
use werf_push::spec::SpecError;
use werf_push::transport::TransportError;

pub const SUCCESS: i32 = 0;
/// The registry refused or failed an operation.
pub const FAILURE: i32 = 1;
/// Bad command line or reference.
pub const USAGE: i32 = 2;
/// The layout (stages storage) is broken.
pub const BAD_LAYOUT: i32 = 3;
/// The registry cannot be reached or spoken to (network, TLS, scheme).
pub const NETWORK: i32 = 4;
/// Authentication or authorisation failed.
pub const AUTH: i32 = 5;

/// Prints `error: ...` and hints for `e`; returns its exit code.
pub fn report(e: &anyhow::Error) -> i32 {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !line.contains(&c) {
            line.push_str(": ");
            line.push_str(&c);
        }
    }
    eprintln!("error: {line}");
    let (code, hints) = match auth_hints(e) {
        Some(found) => found,
        None => {
            let (code, hints) = classify(e);
            (code, hints.into_iter().map(String::from).collect())
        }
    };
    for h in hints {
        eprintln!("hint: {h}");
    }
    code
}

/// Authentication and authorisation failures (exit 5), with hints naming the host and the
/// credential source used; credential-file and helper failures; usage errors of the
/// credential flags.
fn auth_hints(e: &anyhow::Error) -> Option<(i32, Vec<String>)> {
    use werf_push::registry::RegistryError;
    for cause in e.chain() {
        if cause
            .downcast_ref::<super::settings::UsageError>()
            .is_some()
        {
            return Some((USAGE, vec!["see `werf-push push --help`".into()]));
        }
        let t = match (
            cause.downcast_ref::<TransportError>(),
            cause.downcast_ref::<PushError>(),
        ) {
            (Some(t), _) => t,
            (None, Some(PushError::Connect { source, .. })) => source,
            (None, Some(p)) => match p.registry_error() {
                Some(RegistryError::Transport(t)) => t,
                _ => continue,
            },
            _ => continue,
        };
        return auth_transport(t);
    }
    None
}

fn auth_transport(t: &TransportError) -> Option<(i32, Vec<String>)> {
    let login = |host: &str| {
        format!("log in with `docker login {host}` (or `podman login {host}`), or pass --registry-username with --registry-password-stdin")
    };
    Some(match t {
        TransportError::NoCredentials { host } => (
            AUTH,
            vec![
                login(host),
                "credentials are looked for in --registry-username, --docker-config/DOCKER_CONFIG/~/.docker/config.json (auths, credHelpers, credsStore), REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then CI_REGISTRY/CI_JOB_TOKEN".into(),
            ],
        ),
        TransportError::Unauthorized { host, credentials, .. } => (
            AUTH,
            vec![
                format!("the credentials from {credentials} are wrong or expired"),
                login(host),
            ],
        ),
        TransportError::Denied { .. } => (
            AUTH,
            vec![
                "the account lacks push rights on that repository: ask for write access to it, or push to a repository the account may write".into(),
            ],
        ),
        TransportError::Credentials(_) => (
            AUTH,
            vec!["fix or remove the credential helper or file named above (see docs/auth.md)".into()],
        ),
        TransportError::TokenRealm { .. } => (
            NETWORK,
            vec!["the registry's token service failed: check that it is reachable and try again".into()],
        ),
        _ => return None,
    })
}

fn classify(e: &anyhow::Error) -> (i32, Vec<&'static str>) {
    for cause in e.chain() {
        if let Some(s) = cause.downcast_ref::<werf_push::werf::store::StoreError>() {
            use werf_push::werf::store::StoreError as S;
            match s {
                S::Locked(_) => return (
                    FAILURE,
                    vec!["another werf-push writes this stages storage: wait for it and run again"],
                ),
                S::Invalid(_) | S::Source { .. } => {
                    return (USAGE, vec!["see `werf-push stages --help`"])
                }
                // The others carry their cause: classify that.
                _ => {}
            }
        }
        if cause.downcast_ref::<SpecError>().is_some() {
            return (
                USAGE,
                vec!["references look like registry.example.com/group/app:tag"],
            );
        }
        if let Some(w) = cause.downcast_ref::<werf_push::werf::error::WerfError>() {
            use werf_push::werf::error::WerfError as W;
            return match w {
                W::Layout(_) | W::Stages { .. } | W::NotBuilt { .. } => (
                    BAD_LAYOUT,
                    vec!["check the stages storage with `werf-push stages list`"],
                ),
                W::ConfigTemplate { .. } | W::Config { .. } | W::Io { .. } => (USAGE, vec![]),
                _ => (USAGE, vec!["see `werf-push publish --help`"]),
            };
        }
        if cause.downcast_ref::<LayoutError>().is_some() {
            return (
                BAD_LAYOUT,
                vec!["check the layout with `werf-push stages list`, or rebuild the image"],
            );
        }
        if let Some(t) = cause.downcast_ref::<TransportError>() {
            return transport(t);
        }
        if let Some(p) = cause.downcast_ref::<PushError>() {
            if let Some(status) = p.registry_error().and_then(|r| r.status()) {
                if status == 401 {
                    return (AUTH, vec!["log in to the registry (docker login) or pass --registry-username/--registry-password"]);
                }
                if status == 403 {
                    return (
                        AUTH,
                        vec!["the account lacks push rights on that repository"],
                    );
                }
            }
            if matches!(p, PushError::Layout(_) | PushError::Corrupt { .. }) {
                return (
                    BAD_LAYOUT,
                    vec!["the layout is corrupted: rebuild or re-import the image"],
                );
            }
            if let PushError::Connect { source, .. } = p {
                return transport(source);
            }
            if let Some(werf_push::registry::RegistryError::Transport(
                t @ TransportError::Timeout { .. },
            )) = p.registry_error()
            {
                return transport(t);
            }
        }
    }
    (FAILURE, vec![])
}

fn transport(t: &TransportError) -> (i32, Vec<&'static str>) {
    match t {
        TransportError::PlainHttp { .. } => (
            NETWORK,
            vec!["pass --insecure-registry for a plain-HTTP registry"],
        ),
        TransportError::Tls { .. } => (
            NETWORK,
            vec!["pass --ca-file FILE (or put the CA in /etc/docker/certs.d/<host:port>/ca.crt) for a private CA, or --skip-tls-verify-registry"],
        ),
        TransportError::NotHttp { .. } => (
            NETWORK,
            vec!["drop --insecure-registry: the registry speaks HTTPS"],
        ),
        TransportError::Config(_) => (USAGE, vec![]),
        TransportError::Timeout { .. } => (
            NETWORK,
            vec!["the registry, or the network to it, stopped answering (retried up to --retries times); over a slow link raise --connect-timeout, --response-timeout or --stall-timeout"],
        ),
        _ => (
            NETWORK,
            vec!["check the registry address and that it is running"],
        ),
    }
}
