//! Exit codes (documented in the README) and the one-line error report with hints. The
//! code comes from the library's class of the error (`kind()`) in one `match`; hints come
//! from `hints`.

use std::error::Error;

use werf_push_auth::AuthError;
use werf_push_engine::PushError;
use werf_push_layout::LayoutError;
use werf_push_registry::RegistryError;
use werf_push_spec::{ErrorKind, SpecError};
use werf_push_stages::StoreError;
use werf_push_transport::TransportError;
use werf_push_werf::cleanup::CleanupError;
use werf_push_werf::error::WerfError;

use super::flags::UsageError;
use super::hints;
use super::output;
use super::signal::INTERRUPTED;

pub const SUCCESS: i32 = 0;
/// The operation failed: the registry refused it, served bytes that do not match, another
/// writer holds the stages storage, or part of the run failed.
pub const FAILURE: i32 = 1;
/// Bad command line, reference, name or path.
pub const USAGE: i32 = 2;
/// The layout (stages storage) is broken.
pub const BAD_LAYOUT: i32 = 3;
/// The registry cannot be reached or spoken to (network, TLS, scheme, timeouts).
pub const NETWORK: i32 = 4;
/// Authentication or authorisation failed.
pub const AUTH: i32 = 5;
/// A local write failed for want of space (disk or quota full); nothing was changed.
pub const NO_SPACE: i32 = 6;

/// The exit code of a class of failure.
pub fn code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::Usage => USAGE,
        ErrorKind::Layout => BAD_LAYOUT,
        ErrorKind::Network => NETWORK,
        ErrorKind::Auth => AUTH,
        ErrorKind::Registry | ErrorKind::Integrity | ErrorKind::Locked | ErrorKind::Partial => {
            FAILURE
        }
        ErrorKind::Interrupted => INTERRUPTED,
        ErrorKind::NoSpace => NO_SPACE,
    }
}

/// The class of `e`: that of the outermost error of the library (or usage error of the
/// command line) in its chain, whose `kind()` already answers for what it wraps; a failure
/// of none of them is a plain failure.
pub fn kind(e: &anyhow::Error) -> Option<ErrorKind> {
    e.chain().find_map(|c| {
        if c.downcast_ref::<UsageError>().is_some() {
            Some(ErrorKind::Usage)
        } else if let Some(a) = c.downcast_ref::<werf_push_api::Error>() {
            Some(a.kind())
        } else {
            kind_of(c)
        }
    })
}

/// The class of `e` when it is an error of the library (the wrappers it holds are later
/// links of the same chain).
fn kind_of(e: &(dyn Error + 'static)) -> Option<ErrorKind> {
    macro_rules! first {
        ($($t:ty),*) => {
            $(if let Some(x) = e.downcast_ref::<$t>() {
                return Some(x.kind());
            })*
        };
    }
    first!(
        StoreError,
        WerfError,
        CleanupError,
        PushError,
        RegistryError,
        TransportError,
        AuthError,
        LayoutError,
        SpecError
    );
    None
}

/// Prints `error: ...` and hints for `e`, then the run's other failures; returns its exit
/// code.
pub fn report(e: &anyhow::Error) -> i32 {
    let line = auth_first(e).unwrap_or_else(|| werf_push_spec::text::error_chain(e.as_ref()));
    let kind = kind(e);
    let code = kind.map_or(FAILURE, code);
    let hints = hints::hints(e);
    if output::json_lines() {
        output::json_line(serde_json::json!({
            "type": "error", "message": line, "hints": hints, "exit_code": code,
            "class": kind.map(ErrorKind::name),
        }));
    } else {
        eprintln!("error: {line}");
        for h in hints {
            eprintln!("hint: {h}");
        }
    }
    output::also_failed();
    code
}

/// An authentication failure leads with what failed (authentication at the registry, from
/// which credentials), then the operation it stopped: `registry H did not accept the
/// credentials from X: ... (while: manifest sha256:... for REF)`, not the other way round.
fn auth_first(e: &anyhow::Error) -> Option<String> {
    let auth = e
        .chain()
        .filter_map(|c| c.downcast_ref::<TransportError>())
        .find(|t| {
            matches!(
                t,
                TransportError::NoCredentials { .. }
                    | TransportError::Unauthorized { .. }
                    | TransportError::Denied { .. }
            )
        })?;
    let text = auth.to_string();
    let whole = werf_push_spec::text::error_chain(e.as_ref());
    let during = whole
        .find(&text)
        .map(|i| whole[..i].trim_end_matches([':', ' ']))
        .filter(|d| !d.is_empty());
    Some(match during {
        Some(d) => format!("{text} (while: {d})"),
        None => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_exit_code_per_class() {
        let cases = [
            (ErrorKind::Usage, 2),
            (ErrorKind::Layout, 3),
            (ErrorKind::Network, 4),
            (ErrorKind::Auth, 5),
            (ErrorKind::Registry, 1),
            (ErrorKind::Integrity, 1),
            (ErrorKind::Locked, 1),
            (ErrorKind::Partial, 1),
            (ErrorKind::Interrupted, 130),
            (ErrorKind::NoSpace, 6),
        ];
        for (k, c) in cases {
            assert_eq!(code(k), c, "{k:?}");
        }
    }
}
