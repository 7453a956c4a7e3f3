//! The stages storage: werf's stages kept on disk as an OCI layout whose `index.json`
//! entries carry `io.werf.*` annotations (docs/stages-format.md). The format and its rules
//! (`format`), reading (`read`), writing (`write`, its rules of an entry checked through
//! `stage_set`), and the commands that fill and trim it: `import` (an OCI layout or a
//! docker/OCI archive, `archive`), `add` (a directory as one layer), `pull` (a registry's
//! `image-stage-*` tags back: `pull_read`, `pull_plan`, `pull_local`, `pull_report`,
//! blobs by `fetch`), `gc`. Beside them: layers written compressed (`layer`, gzip on every
//! core by `pargz`, a layer's expansion bounded by `expand`), an image relabelled
//! (`relabel`, also for `publish`'s final images), a written stage's default signature
//! (`signature`). Reaches a registry (for `pull`) through `werf_push_registry` only, never
//! through the push engine; knows nothing of werf.yaml, naming modes, tags or the CLI.

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
