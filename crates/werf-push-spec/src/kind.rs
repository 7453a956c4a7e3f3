//! The class of a failure, which every error of the library answers with `kind()`, so that
//! the command line maps classes to exit codes in one place. Knows nothing of exit codes.

/// What kind of failure an error is, as a person acts on it.
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
    /// The registry refused or failed an operation (or another writer holds the storage).
    Registry,
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted,
    /// No space left on the device (or quota) of a local file being written.
    NoSpace,
}
