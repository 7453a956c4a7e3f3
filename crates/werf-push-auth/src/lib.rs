//! Where credentials come from and what is done with them, without an HTTP client:
//! credential sources in precedence order (flags, Docker `config.json` with helpers,
//! podman `auth.json`, GitLab CI), `WWW-Authenticate` challenges, the scopes a request
//! needs, bearer tokens and their lifetimes, secrets that cannot be printed, and registry
//! text redacted of them (`redact`). The handshake itself (HTTP) lives in
//! `transport::auth`.

#![warn(unreachable_pub)]
#![warn(missing_docs)]

pub mod challenge;
mod credentials;
mod docker_config;
mod error;
mod helper;
pub mod redact;
pub mod scope;
mod secret;
mod token;

pub use challenge::Challenge;
pub use credentials::{CredentialStore, Credentials, Found, Source};
pub use error::AuthError;
pub use scope::Scope;
pub use secret::Secret;
pub use token::Token;
