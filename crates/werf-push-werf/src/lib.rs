//! werf policy: how werf names, tags and configures the images werf-push publishes.
//!
//! Pure policy (slug, tags, naming modes, repo addresses, werf.yaml) plus the publish plan
//! (final images from the stages storage, stage tags) and its report; registry-side
//! `cleanup` and `purge` (their pure policies, and the run that scans and deletes through
//! `werf_push_registry`). The stages storage itself is `werf_push_stages`. Knows nothing of
//! HTTP or of the CLI.

#![warn(unreachable_pub)]
#![warn(missing_docs)]

pub mod cleanup;
mod config;
pub mod error;
mod image;
pub mod naming;
pub mod publish;
mod repo;
pub mod report;
pub mod slug;
mod stage_tag;
pub mod tags;
