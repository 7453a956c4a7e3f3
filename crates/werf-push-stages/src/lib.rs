//! The stages storage: werf's stages kept on disk as an OCI layout whose `index.json`
//! entries carry `io.werf.*` annotations (docs/stages-format.md). The format and its rules
//! (`format`), reading (`read`), writing (`write`), and the commands that fill and trim it:
//! `import` (an OCI layout or a docker/OCI archive), `add` (a directory as one layer),
//! `pull` (a registry's `image-stage-*` tags back), `gc`. Uses `push` only to reach a
//! registry for `pull`; knows nothing of werf.yaml, naming modes, tags or the CLI.

#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub mod add;
mod archive;
mod error;
mod expand;
mod fetch;
pub mod format;
pub mod gc;
pub mod import;
pub mod layer;
mod pargz;
pub mod pull;
mod pull_local;
mod pull_plan;
mod pull_read;
mod pull_report;
mod read;
pub mod relabel;
mod signature;
mod stage_set;
pub mod write;

pub use error::StoreError;
pub use format::ImageName;
pub use read::{Stage, StagesStorage};
pub use write::StoreWriter;
