//! The class of any error of the library, and the failures underneath the wrappers, found
//! in one place so that the command line maps classes to exit codes with one `match` and
//! picks hints without knowing how errors nest. Knows nothing of exit codes or hints.

use std::error::Error;

use super::cleanup::CleanupError;
use super::error::WerfError;
use werf_push_auth::AuthError;
use werf_push_engine::PushError;
use werf_push_layout::LayoutError;
use werf_push_registry::RegistryError;
use werf_push_spec::{ErrorKind, SpecError};
use werf_push_stages::StoreError;
use werf_push_transport::TransportError;

/// The class of `e` when it is an error of this library.
pub fn kind_of(e: &(dyn Error + 'static)) -> Option<ErrorKind> {
    if let Some(x) = e.downcast_ref::<StoreError>() {
        return Some(x.kind());
    }
    if let Some(x) = e.downcast_ref::<WerfError>() {
        return Some(x.kind());
    }
    if let Some(x) = e.downcast_ref::<CleanupError>() {
        return Some(x.kind());
    }
    if let Some(x) = e.downcast_ref::<PushError>() {
        return Some(x.kind());
    }
    if let Some(x) = e.downcast_ref::<RegistryError>() {
        return Some(x.kind());
    }
    if let Some(x) = e.downcast_ref::<TransportError>() {
        return Some(x.kind());
    }
    if let Some(x) = e.downcast_ref::<AuthError>() {
        return Some(x.kind());
    }
    if let Some(x) = e.downcast_ref::<LayoutError>() {
        return Some(x.kind());
    }
    e.downcast_ref::<SpecError>().map(SpecError::kind)
}

/// The transport failure `e` is or wraps, if any.
pub fn transport_of<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a TransportError> {
    if let Some(t) = e.downcast_ref::<TransportError>() {
        return Some(t);
    }
    registry_of(e)
        .and_then(|r| match r {
            RegistryError::Transport(t) => Some(t),
            _ => None,
        })
        .or_else(|| match e.downcast_ref::<PushError>() {
            Some(PushError::Connect { source, .. }) => Some(source),
            _ => None,
        })
}

/// The registry's answer `e` is or wraps, if any.
pub fn registry_of<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a RegistryError> {
    if let Some(r) = e.downcast_ref::<RegistryError>() {
        return Some(r);
    }
    match (
        e.downcast_ref::<PushError>(),
        e.downcast_ref::<StoreError>(),
    ) {
        (Some(p), _) => p.registry_error(),
        (_, Some(StoreError::Registry { source, .. })) => Some(source),
        _ => match e.downcast_ref::<CleanupError>() {
            Some(CleanupError::Registry { source, .. }) => Some(source),
            Some(CleanupError::Incomplete { source, .. }) => Some(source.as_ref()),
            _ => None,
        },
    }
}

/// The layout failure `e` is or wraps, if any.
pub fn layout_of<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a LayoutError> {
    if let Some(l) = e.downcast_ref::<LayoutError>() {
        return Some(l);
    }
    match (
        e.downcast_ref::<WerfError>(),
        e.downcast_ref::<StoreError>(),
        e.downcast_ref::<PushError>(),
    ) {
        (Some(WerfError::Layout(l)), _, _)
        | (_, Some(StoreError::Layout(l)), _)
        | (_, _, Some(PushError::Layout(l))) => Some(l),
        (Some(WerfError::Stages(s)), _, _) => layout_of(s),
        _ => None,
    }
}

impl WerfError {
    /// The class of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            WerfError::Layout(l) => l.kind(),
            WerfError::Stages(s) => s.kind(),
            WerfError::NotBuilt { .. } => ErrorKind::Layout,
            WerfError::Reference { source, .. } => source.kind(),
            _ => ErrorKind::Usage,
        }
    }
}
