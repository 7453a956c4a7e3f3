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
    let (code, hints) = classify(e);
    for h in hints {
        eprintln!("hint: {h}");
    }
    code
}

fn classify(e: &anyhow::Error) -> (i32, Vec<&'static str>) {
    for cause in e.chain() {
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
            vec!["pass --ca-file FILE for a private CA, or --skip-tls-verify-registry"],
        ),
        TransportError::NotHttp { .. } => (
            NETWORK,
            vec!["drop --insecure-registry: the registry speaks HTTPS"],
        ),
        TransportError::Config(_) => (USAGE, vec![]),
        _ => (
            NETWORK,
            vec!["check the registry address and that it is running"],
        ),
    }
}
