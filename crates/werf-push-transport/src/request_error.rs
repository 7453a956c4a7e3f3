//! A failed request as a [`TransportError`]: a connect timeout named as such, else
//! transient (`Request`: a later attempt may cure it) or not (`RequestFatal`), decided on
//! the error's chain of causes (connection resets, early closes, HTTP/2 GOAWAY and refused
//! streams are transient; a request that cannot be built, too many redirects, an HTTP/2
//! protocol error are not); the operating system's own socket timeout said in words.

use super::error::chain;
use super::TransportError;

/// A failed request as an error: a connect timeout (reqwest's, covering TCP and TLS) named
/// as such, then transient or not (see [`is_transient`]).
pub(crate) fn request_error(
    method: &str,
    url: String,
    e: &reqwest::Error,
    connect: std::time::Duration,
) -> TransportError {
    let (method, detail) = (method.to_string(), chain(e));
    if e.is_connect() && e.is_timeout() {
        TransportError::Timeout {
            method,
            url,
            kind: super::TimeoutKind::Connect,
            after: connect,
        }
    } else if is_transient(e) {
        let detail = match os_timeout(e) {
            true => format!("{detail} ({OS_TIMEOUT})"),
            false => detail,
        };
        TransportError::Request {
            method,
            url,
            detail,
        }
    } else {
        TransportError::RequestFatal {
            method,
            url,
            detail,
        }
    }
}

/// What a socket timeout of the operating system is, said beside the system's own words
/// (`Connection timed out`), which name neither a timeout of werf-push nor a flag.
const OS_TIMEOUT: &str = "the operating system's TCP timeout: the host stopped answering \
    at all; no flag sets it, --connect-timeout, --response-timeout and --stall-timeout \
    normally stop waiting first; retried up to --retries times";

/// Whether the cause of `e` is the operating system's socket timeout (`ETIMEDOUT`).
fn os_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::TimedOut;
        }
        cur = c.source();
    }
    false
}

/// Whether a failed request may succeed when sent again: connection refused, reset or
/// closed early, timeouts, HTTP/2 GOAWAY and refused or reset streams (proxies and load
/// balancers in front of any registry send these mid-upload). Decided on the chain of
/// causes; an error with nothing recognisable in it is taken as transient unless it is a
/// request that could not even be built.
pub(crate) fn is_transient(e: &reqwest::Error) -> bool {
    if e.is_builder() || e.is_redirect() {
        return false;
    }
    if e.is_timeout() || e.is_connect() {
        return true;
    }
    chain_is_transient(e).unwrap_or(true)
}

/// `Some(verdict)` for the first cause in the chain that says something definite.
pub(crate) fn chain_is_transient(e: &(dyn std::error::Error + 'static)) -> Option<bool> {
    let mut cur = Some(e);
    while let Some(c) = cur {
        if let Some(h) = c.downcast_ref::<h2::Error>() {
            if h.is_go_away() {
                return Some(true);
            }
            if let Some(r) = h.reason() {
                return Some(matches!(
                    r,
                    h2::Reason::REFUSED_STREAM
                        | h2::Reason::CANCEL
                        | h2::Reason::INTERNAL_ERROR
                        | h2::Reason::ENHANCE_YOUR_CALM
                        | h2::Reason::NO_ERROR
                ));
            }
            if h.is_io() {
                return Some(true);
            }
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            return Some(matches!(
                io.kind(),
                K::ConnectionReset
                    | K::ConnectionAborted
                    | K::ConnectionRefused
                    | K::BrokenPipe
                    | K::UnexpectedEof
                    | K::TimedOut
                    | K::NotConnected
                    | K::Interrupted
            ));
        }
        cur = c.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(Box<dyn std::error::Error + Send + Sync>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "wrapped")
        }
    }
    impl std::error::Error for Wrap {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(self.0.as_ref())
        }
    }

    #[test]
    fn transient_causes_table() {
        use std::io::{Error, ErrorKind as K};
        let cases: Vec<(Box<dyn std::error::Error + Send + Sync>, Option<bool>)> = vec![
            (
                Box::new(h2::Error::from(h2::Reason::REFUSED_STREAM)),
                Some(true),
            ),
            (Box::new(h2::Error::from(h2::Reason::CANCEL)), Some(true)),
            (
                Box::new(h2::Error::from(h2::Reason::PROTOCOL_ERROR)),
                Some(false),
            ),
            (
                Box::new(h2::Error::from(h2::Reason::FRAME_SIZE_ERROR)),
                Some(false),
            ),
            (Box::new(Error::from(K::ConnectionReset)), Some(true)),
            (Box::new(Error::from(K::BrokenPipe)), Some(true)),
            (Box::new(Error::from(K::UnexpectedEof)), Some(true)),
            (Box::new(Error::from(K::TimedOut)), Some(true)),
            (Box::new(Error::from(K::PermissionDenied)), Some(false)),
            (Box::new(Error::from(K::NotFound)), Some(false)),
            (Box::new(Error::other("plain")), Some(false)),
            (
                Box::new(Wrap(Box::new(Error::from(K::ConnectionReset)))),
                Some(true),
            ),
            (Box::new(std::fmt::Error), None),
        ];
        for (e, want) in cases {
            let shown = e.to_string();
            assert_eq!(chain_is_transient(e.as_ref()), want, "{shown}");
        }
    }

    #[test]
    fn os_timeouts_table() {
        use std::io::{Error, ErrorKind as K};
        let cases: Vec<(Box<dyn std::error::Error + Send + Sync>, bool)> = vec![
            (Box::new(Error::from(K::TimedOut)), true),
            (Box::new(Wrap(Box::new(Error::from(K::TimedOut)))), true),
            (Box::new(Error::from(K::ConnectionReset)), false),
            (Box::new(std::fmt::Error), false),
        ];
        for (e, want) in cases {
            assert_eq!(os_timeout(e.as_ref()), want, "{e}");
        }
    }
}
