//! Pure data of the OCI world: digests (and the one verifier, `hasher.rs`), media types,
//! references and manifests kept as their exact bytes; beside them the class of a failure
//! (`ErrorKind`), the one rule for printing text from outside (`text`) and the service a
//! registry host name is (`Vendor`). Knows nothing of disks, HTTP or registries'
//! behaviour.

#![warn(unreachable_pub)]
#![warn(missing_docs)]

mod digest;
mod error;
mod hasher;
mod kind;
mod manifest;
pub mod media_type;
pub mod reference;
pub mod text;
mod vendor;

pub use digest::Digest;
pub use error::SpecError;
pub use hasher::DigestHasher;
pub use kind::ErrorKind;
pub use manifest::{Descriptor, Manifest, ManifestKind};
pub use reference::Reference;
pub use vendor::Vendor;
