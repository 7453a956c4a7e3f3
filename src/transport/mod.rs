//! The HTTP client, built in ONE place (`client.rs`): TLS, scheme detection by ping,
//! request retry with backoff for replayable bodies, `Authorization` only to the registry's
//! own host. Knows nothing of the registry API's paths or of images.

mod auth;
mod body;
mod certs;
mod client;
mod error;
mod ping;
mod retry;

pub use body::Body;
pub use client::{Request, Transport, TransportOptions};
pub use error::TransportError;
pub use retry::{parse_retry_after, RetryBudget};
