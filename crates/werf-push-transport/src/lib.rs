//! The HTTP client, built in ONE place (`client.rs`): TLS (with Docker's certs.d,
//! `certs.rs`), scheme detection by ping, the auth handshake (`auth.rs`) above request
//! retry with backoff for replayable bodies, `Authorization` only to the registry's own
//! host; every request under the connect, response and stall timeouts (`pace.rs`,
//! `watch.rs`) and every answer read into memory under a size cap (`read.rs`). Knows
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
