//! Errors of the pure data layer; each carries the input it rejects.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SpecError {
    #[error("invalid digest '{input}': {reason} (expected sha256:<64 lower-case hex> or sha512:<128 lower-case hex>)")]
    Digest { input: String, reason: &'static str },
    #[error("invalid reference '{input}': {part} {reason}")]
    Reference {
        input: String,
        part: &'static str,
        reason: String,
    },
    #[error("invalid manifest {digest}: {reason}")]
    Manifest { digest: String, reason: String },
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
