//! werf policy: how werf names, tags and configures the images werf-push publishes.
//!
//! Pure policy (slug, tags, naming, werf.yaml) plus the stages storage, final images and
//! the publish plan and report, which use `layout` and `push`. Knows nothing of HTTP,
//! registries' APIs or the CLI.

pub mod config;
pub mod error;
pub mod image;
pub mod naming;
pub mod publish;
mod repo;
pub mod report;
pub mod slug;
pub mod stages;
pub mod tags;
