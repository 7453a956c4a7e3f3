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
/// A local write failed for want of space (disk or quota full); nothing was changed.
pub const NO_SPACE: i32 = 6;

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
    let (code, hints) = match auth_hints(e) {
        Some(found) => found,
        None => classify(e),
    };
    if super::output::json_lines() {
        super::output::json_line(serde_json::json!({
            "type": "error", "message": line, "hints": hints, "exit_code": code,
        }));
        return code;
    }
    eprintln!("error: {line}");
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
            return Some((USAGE, vec!["see the command's --help".into()]));
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

fn classify(e: &anyhow::Error) -> (i32, Vec<String>) {
    let (code, hints) = classify_static(e);
    let mut hints: Vec<String> = hints.into_iter().map(String::from).collect();
    // A tag that is not a docker tag: the slug that would be.
    for cause in e.chain() {
        if let Some(werf_push::werf::error::WerfError::InvalidTag { tag, .. }) =
            cause.downcast_ref::<werf_push::werf::error::WerfError>()
        {
            let slug = werf_push::werf::slug::slugify_docker_tag(tag);
            hints = vec![format!(
                "slug it: `werf-push slugify -f docker-tag '{}'` gives {slug}",
                werf_push::spec::text::printable(tag)
            )];
        }
    }
    (code, hints)
}

/// The layout error `cause` is or wraps (`#[error(transparent)]` hides it from the chain).
fn layout_error<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a LayoutError> {
    use werf_push::werf::{error::WerfError, store::StoreError};
    if let Some(l) = cause.downcast_ref::<LayoutError>() {
        return Some(l);
    }
    match (
        cause.downcast_ref::<WerfError>(),
        cause.downcast_ref::<StoreError>(),
        cause.downcast_ref::<PushError>(),
    ) {
        (Some(WerfError::Layout(l)), _, _)
        | (_, Some(StoreError::Layout(l)), _)
        | (_, _, Some(PushError::Layout(l))) => Some(l),
        _ => None,
    }
}

/// Hints for a missing directory: where the stages storage is looked for.
const MISSING_HINT: &str = "run werf-push in the project directory or pass --dir (or --stages-dir); create stages with `werf-push stages import` or `werf-push stages add`; for push, check the oci:DIR path";

fn classify_static(e: &anyhow::Error) -> (i32, Vec<&'static str>) {
    // A full disk wherever it was met: neither the layout's fault nor the user's.
    if e.chain()
        .any(|c| layout_error(c).is_some_and(LayoutError::is_no_space))
    {
        return (
            NO_SPACE,
            vec!["free space on that filesystem (see `df -h`) and run again: the stages storage was left as it was"],
        );
    }
    // A path that does not exist is the user's to fix.
    if e.chain()
        .any(|c| matches!(layout_error(c), Some(LayoutError::Missing { .. })))
    {
        return (USAGE, vec![MISSING_HINT]);
    }
    // Which image of a layout is meant is the user's to say.
    if e.chain().any(|c| {
        matches!(
            layout_error(c),
            Some(LayoutError::Ambiguous { .. } | LayoutError::NoSuchImage { .. })
        )
    }) {
        return (
            USAGE,
            vec!["name one of the images listed: oci:DIR:REF (its org.opencontainers.image.ref.name) or oci:DIR@DIGEST"],
        );
    }
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
                S::NotRestored { .. } => return (
                    FAILURE,
                    vec!["the stages that could be pulled are stored; `stages pull --json` lists what was not (unidentified, not_restored)"],
                ),
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
                W::NotBuilt { .. } => (
                    BAD_LAYOUT,
                    vec!["`werf-push stages list` shows the images the stages storage holds"],
                ),
                W::Layout(_) | W::Stages { .. } => (
                    BAD_LAYOUT,
                    vec![
                        "fix or remove that entry of the stages storage, or build the stage again",
                    ],
                ),
                W::ConfigTemplate { .. } | W::Config { .. } | W::Io { .. } => (USAGE, vec![]),
                _ => (USAGE, vec!["see `werf-push publish --help`"]),
            };
        }
        if cause.downcast_ref::<LayoutError>().is_some() {
            return (
                BAD_LAYOUT,
                vec!["the layout is broken: rebuild or re-export the image"],
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
