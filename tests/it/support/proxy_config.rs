//! What the fault and quirk proxy ([`super::proxy`]) does, as a test sets it: statuses
//! injected on matching requests ([`StatusFault`]) and the faults, caps, quirks and hostile
//! answers switched on ([`ProxyConfig`]; everything off by default: a transparent proxy).

use std::time::Duration;

use super::proxy_hostile::Hostile;
use super::proxy_quirks::Quirk;

/// Answer matching requests with `status` (nothing forwarded), `times` times.
#[derive(Clone, Debug)]
pub struct StatusFault {
    /// `None`: any method.
    pub method: Option<&'static str>,
    /// Substring of the path (and query) that must match.
    pub path_contains: &'static str,
    pub status: u16,
    /// `u32::MAX`: always.
    pub times: u32,
    pub retry_after: Option<&'static str>,
    /// `(code, message)` of the JSON error body instead of the status's usual one.
    pub body: Option<(&'static str, &'static str)>,
    /// Matching requests passed through before the first refused.
    pub after: u32,
}

impl StatusFault {
    pub fn new(method: Option<&'static str>, path_contains: &'static str, status: u16) -> Self {
        StatusFault {
            method,
            path_contains,
            status,
            times: 1,
            retry_after: None,
            body: None,
            after: 0,
        }
    }
    /// Let the first `n` matching requests through.
    pub fn after(mut self, n: u32) -> Self {
        self.after = n;
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }
    pub fn retry_after(mut self, v: &'static str) -> Self {
        self.retry_after = Some(v);
        self
    }
    pub fn body(mut self, code: &'static str, message: &'static str) -> Self {
        self.body = Some((code, message));
        self
    }
}

/// What the proxy does; everything off by default (a transparent proxy).
#[derive(Clone, Debug, Default)]
pub struct ProxyConfig {
    /// Offsets in the stream of upload body bytes at which the client connection is cut
    /// (each once).
    pub cut_at: Vec<u64>,
    pub status_faults: Vec<StatusFault>,
    /// Request body bytes per second (reading is slowed down).
    pub throttle: Option<u64>,
    /// GHCR: a PATCH body over this is refused with 416.
    pub patch_cap: Option<u64>,
    /// ACR: a blob upload PUT body over this is refused with 413.
    pub put_cap: Option<u64>,
    /// ECR: a PATCH body under this is refused with 400.
    pub min_chunk: Option<u64>,
    /// Google Artifact Registry: PATCH refused with 405.
    pub refuse_patch: bool,
    /// ECR: PATCH answered 201 instead of 202.
    pub patch_201: bool,
    /// ECR: the `Range` of a PATCH answer stays at the previous chunk.
    pub stale_range: bool,
    /// ECR: no `Location` on manifest PUT.
    pub drop_manifest_location: bool,
    /// GHCR: `Location` made relative (`/v2/...`).
    pub relative_location: bool,
    /// Google Artifact Registry: upload `Location` moved outside `/v2`
    /// (`/artifacts-uploads/...`), mapped back when the client uses it.
    pub location_outside_v2: bool,
    /// Older registries: no `Docker-Content-Digest` on any answer.
    pub strip_digest: bool,
    /// Error bodies turned into plain text (Docker Hub, proxies).
    pub plain_text_errors: bool,
    /// Docker Hub / Harbor: a mount (`POST ...?mount=`) answered with this (401/403).
    pub mount_status: Option<u16>,
    /// Hostile answers (silent, trickled, huge, echoing credentials): `proxy_hostile.rs`.
    pub hostile: Vec<Hostile>,
    /// Registry quirks of the push quirks survey (`proxy_quirks.rs`).
    pub quirks: Vec<Quirk>,
    /// docker-registry on object storage during a stall of the store: the first blob
    /// upload `PUT` of at least this many bytes is forwarded and completed by the registry,
    /// and its answer held this long before it is passed on (past the client's timeout).
    pub hold_put_answer: Option<(u64, Duration)>,
}
