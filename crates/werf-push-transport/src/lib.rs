//! The HTTP client of one registry, assembled in one place (`Transport::connect`,
//! `client.rs`) from its `TransportOptions` (`options.rs`): the reqwest clients
//! (`clients.rs`: TLS from `tls.rs` with Docker's certs.d, `certs.rs`; HTTP/2 for small
//! requests, HTTP/1.1 for bodies; connections opened ahead by `warm.rs`), scheme detection
//! by ping (`ping.rs`), the auth handshake (`auth.rs`, tokens fetched by `token_fetch.rs`)
//! above request retry with backoff for replayable bodies (`retry.rs`, its notices
//! `retry_notice.rs`; bodies in `body.rs`, files streamed by `file_stream.rs`),
//! `Authorization` only to the registry's own host, the bound on requests in flight
//! (`limit.rs`); every request under the connect, response and stall timeouts (`pace.rs`,
//! `watch.rs`), every failure classified (`error.rs`, `request_error.rs`) and every answer
//! read into memory under a size cap (`read.rs`); an optional observer of requests
//! (`metrics.rs`) and synthetic blob content for benchmarks (`synthetic.rs`). Knows
//! nothing of images; of the registry API's paths it knows only what `auth::scope`
//! derives token scopes from (`/v2/<name>/...`, `?mount=&from=`).

#![warn(unreachable_pub)]
#![warn(missing_docs)]

mod auth;
mod body;
mod certs;
mod client;
mod clients;
mod error;
pub mod file_stream;
mod limit;
mod metrics;
mod options;
mod pace;
mod ping;
mod read;
mod request;
mod request_error;
mod retry;
mod retry_notice;
pub mod synthetic;
mod tls;
mod token_fetch;
mod warm;
mod watch;

pub use body::{Body, STREAM_BUF};
pub use client::Transport;
pub use clients::BULK_BODY;
pub use error::TransportError;
pub use metrics::{RequestObserver, RequestSample};
pub use options::{TransportOptions, DEFAULT_MAX_REQUESTS};
pub use pace::{TimeoutKind, Timeouts, MIN_RATE};
pub use read::{Answer, BodyReader, Limit};
pub use request::Request;
pub use retry::{
    is_retryable_status, parse_retry_after, Again, Retrier, RetryBudget, WaitCut, DEFAULT_RETRIES,
    DEFAULT_RETRY_MAX_TIME, RETRYABLE_STATUSES,
};
pub use retry_notice::RetryNotice;
pub use tls::TlsProblem;
