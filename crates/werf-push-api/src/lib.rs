//! werf-push as a library: push an OCI layout's image to registries, publish a werf
//! project, pull the stages cache, each in a few lines, over one [`Client`].
//!
//! The layers below (`werf_push_engine`, `werf_push_stages`, `werf_push_werf`, ...) stay
//! available for finer control; this crate wires them: a [`Client`] holds the run's
//! registry connections, credentials and retry budget, and its methods do the rest. The
//! library reads no environment variable: credentials
//! ([`CredentialStore::from_lookup`]) and the known-blob cache directory
//! ([`ClientBuilder::known_blobs_dir`]) come from the caller.
//!
//! ```no_run
//! use werf_push_api::{Client, CredentialStore, Publish};
//!
//! # async fn run() -> Result<(), werf_push_api::Error> {
//! let client = Client::builder()
//!     .credentials(CredentialStore::from_lookup(None, None, |k| std::env::var(k).ok()))
//!     .build();
//!
//! // One image of a layout to two tags.
//! let summary = client
//!     .push("oci:./image:latest", ["registry.example.com/app:v1", "registry.example.com/app:v1.0"])
//!     .await?;
//! println!("{} blobs pushed, {} bytes", summary.blobs_pushed, summary.bytes_sent);
//!
//! // A werf project, from its stages storage, with its stages.
//! let project = Publish::new(".", ".werf/stages", "registry.example.com/project")
//!     .tag_custom("v1")
//!     .with_stages(true);
//! let published = client.publish(&project).await?;
//! println!("{} references", published.report.references.len());
//!
//! // The stages cache back, on another machine.
//! let pulled = client.pull_stages(".werf/stages", "registry.example.com/project").await?;
//! println!("{} stages pulled", pulled.pulled.len());
//! # Ok(())
//! # }
//! ```

#![warn(unreachable_pub)]
#![warn(missing_docs)]

mod client;
mod error;
mod publish;
pub mod push;

pub use client::{Client, ClientBuilder, Published};
pub use error::Error;
pub use publish::Publish;

pub use tokio_util::sync::CancellationToken;
pub use werf_push_auth::{CredentialStore, Secret};
pub use werf_push_engine::{Event, PushOptions, Reporter, Summary, UploadStrategy};
pub use werf_push_spec::text::{error_chain, printable};
pub use werf_push_spec::{Digest, ErrorKind, Reference};
pub use werf_push_stages::pull::PullReport;
pub use werf_push_transport::TransportOptions;
pub use werf_push_werf::naming::RepoMode;
pub use werf_push_werf::report::Report;
