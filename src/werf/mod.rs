//! werf policy: how werf names, tags and configures the images werf-push publishes.
//!
//! Pure policy (slug, tags, naming, werf.yaml) plus the stages storage, final images and
//! the publish plan and report, which use `layout` and `push`, and the stages storage
//! writers (`stages import`, `add`, `pull`, `gc`; `pull` reads the registry API). Knows
//! nothing of HTTP or of the CLI.

pub mod add;
mod archive;
mod classify;
pub use classify::{kind_of, layout_of, registry_of, transport_of};
pub mod config;
pub mod error;
mod fetch;
pub mod gc;
pub mod image;
pub mod import;
pub mod layer;
pub mod naming;
mod pargz;
pub mod publish;
pub mod pull;
mod repo;
pub mod report;
pub mod signature;
pub mod slug;
pub mod stage_tag;
pub mod stages;
pub mod store;
pub mod tags;
