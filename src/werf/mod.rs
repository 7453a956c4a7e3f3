//! werf policy: how werf names, tags and configures the images werf-push publishes.
//!
//! Pure code: slug, tag collection, image naming, werf.yaml reading and their errors.
//! Knows nothing of HTTP, registries' APIs, the OCI layout on disk or the CLI; the only
//! I/O is reading a werf.yaml whose directory the caller gives.

pub mod config;
pub mod error;
pub mod naming;
mod repo;
pub mod slug;
pub mod tags;
