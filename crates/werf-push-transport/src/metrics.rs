//! An optional observer of requests (set in `TransportOptions::observer`): after each
//! attempt it gets the method, the URL path, the answer's status (none for a failed
//! connection), the time to the answer's headers and the request body's length. Used by
//! `werf-push bench` to count requests and their latency; costs nothing when unset. Knows
//! nothing of what the requests mean (the observer classifies them), and never sees the
//! query (which may carry signed upload state) nor any header.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;

/// One request attempt, as observed.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestSample<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// The URL path, without the query.
    pub path: &'a str,
    /// Whether the URL has a query naming a mount source (`mount=`).
    pub mount: bool,
    /// `None`: no answer (connection error, timeout).
    pub status: Option<u16>,
    /// From sending the request to the answer's headers (the body was sent by then).
    pub elapsed: Duration,
    /// Bytes of the request body.
    pub body_bytes: u64,
}

/// Called once per request attempt, from any task: must be cheap and never block.
#[derive(Clone)]
pub struct RequestObserver(Arc<dyn Fn(&RequestSample<'_>) + Send + Sync>);

impl RequestObserver {
    /// An observer calling `f` with each sample.
    pub fn new(f: impl Fn(&RequestSample<'_>) + Send + Sync + 'static) -> RequestObserver {
        RequestObserver(Arc::new(f))
    }

    pub(crate) fn observe(&self, sample: &RequestSample<'_>) {
        (self.0)(sample)
    }
}

impl fmt::Debug for RequestObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequestObserver")
    }
}
