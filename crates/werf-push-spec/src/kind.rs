//! The class of a failure, which every error of the library answers with `kind()`, so that
//! the command line maps classes to exit codes in one place. Knows nothing of exit codes.

/// What kind of failure an error is, as a person acts on it.
///
/// Exhaustive on purpose: the command line gives each class its exit code in one `match`,
/// and a new class must be given one there rather than fall into a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad command line, reference, name or path: fix the input.
    Usage,
    /// The layout (stages storage) is broken: missing or corrupted blob, bad index.
    Layout,
    /// The registry cannot be reached or spoken to: network, TLS, scheme, timeouts.
    Network,
    /// Authentication or authorisation failed.
    Auth,
    /// The registry refused or failed an operation: an error answer that no retry cured,
    /// or an answer beyond what a registry may send.
    Registry,
    /// Bytes a registry served do not match their descriptor (another digest, more bytes
    /// than its size): rejected, nothing of them kept.
    Integrity,
    /// Another process holds the lock of the stages storage: nothing was changed.
    Locked,
    /// Part of the run failed (each failure reported), the rest is done: stages not
    /// pulled, tags not written because a blob of theirs failed.
    Partial,
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted,
    /// No space left on the device (or quota) of a local file being written.
    NoSpace,
}

impl ErrorKind {
    /// The class's name as `--log-format json` error lines give it (`"class"`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::Layout => "layout",
            ErrorKind::Network => "network",
            ErrorKind::Auth => "auth",
            ErrorKind::Registry => "registry",
            ErrorKind::Integrity => "integrity",
            ErrorKind::Locked => "locked",
            ErrorKind::Partial => "partial",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::NoSpace => "no-space",
        }
    }
}
