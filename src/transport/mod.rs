//! The HTTP client, built in ONE place (`client.rs`): TLS (with Docker's certs.d,
//! `certs.rs`), scheme detection by ping, the auth handshake (`auth.rs`) above request
//! retry with backoff for replayable bodies, `Authorization` only to the registry's own
//! host. Knows nothing of images; of the registry API's paths it knows only what
//! `auth::scope` derives token scopes from (`/v2/<name>/...`, `?mount=&from=`).

mod auth;
mod body;
mod certs;
mod client;
mod error;
pub mod file_stream;
mod metrics;
mod ping;
mod retry;
pub mod synthetic;

pub use body::{Body, STREAM_BUF};
pub use client::{Request, Transport, TransportOptions};
pub use error::TransportError;
pub use metrics::{RequestObserver, RequestSample};
pub use retry::{parse_retry_after, RetryBudget};
