//! Errors of the pure data layer; each carries the input it rejects.

use thiserror::Error;

/// Input that is not a valid digest, reference or manifest.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecError {
    /// A digest that is not `sha256:` or `sha512:` followed by lower-case hex of the
    /// algorithm's length.
    #[error("invalid digest '{input}': {reason} (expected sha256:<64 lower-case hex> or sha512:<128 lower-case hex>)")]
    Digest {
        /// The text given (its first 200 characters).
        input: String,
        /// What is wrong: `missing ':'`, `unsupported algorithm`, `wrong length`...
        reason: &'static str,
    },
    /// A reference that does not parse as `[registry/]repository[:tag][@digest]`.
    #[error("invalid reference '{input}': {part} {reason}")]
    Reference {
        /// The text given (its first 300 characters).
        input: String,
        /// The part found wrong: `reference`, `scheme`, `registry host`, `repository`,
        /// `tag`, `digest` or `name`.
        part: &'static str,
        /// What is wrong with that part.
        reason: String,
    },
    /// Manifest bytes that are not a schema 2 image manifest or index.
    #[error("invalid manifest {digest}: {reason}")]
    Manifest {
        /// The sha256 digest of the bytes.
        digest: String,
        /// What is wrong (not JSON, schema 1, a bad descriptor, an unknown media type).
        reason: String,
    },
}

impl SpecError {
    /// Bad input: a digest or reference the user typed, or a manifest a layout holds.
    pub fn kind(&self) -> super::ErrorKind {
        match self {
            SpecError::Manifest { .. } => super::ErrorKind::Layout,
            _ => super::ErrorKind::Usage,
        }
    }
}
