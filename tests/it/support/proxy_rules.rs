//! The fault and quirk rules of the test proxy ([`super::proxy`]): which requests get an
//! answer made up by the proxy (injected statuses, body caps, refused mounts and PATCHes),
//! and how the registry's real answers are rewritten to look like GHCR's, ECR's, Google
//! Artifact Registry's, ACR's or Docker Hub's. Knows nothing of sockets.

use std::sync::Mutex;

use super::http::{header, set, Head, Headers};
use super::proxy_config::ProxyConfig;

/// A made-up answer: status, extra headers, body.
pub type Refusal = (u16, Vec<(String, String)>, String);

/// The status, headers and body of an answer the proxy makes up, if this request gets one:
/// an injected status first, then a refused mount, then the body caps.
pub fn refusal(
    cfg: &ProxyConfig,
    left: (&Mutex<Vec<u32>>, &Mutex<Vec<u32>>),
    head: &Head,
    len: u64,
) -> Option<Refusal> {
    let json = |code: &str, msg: &str| error_body(cfg, code, msg);
    if let Some(refused) = status_fault(cfg, left, head) {
        return Some(refused);
    }
    if let Some(st) = cfg.mount_status {
        if head.method == "POST" && head.target.contains("mount=") {
            return Some((st, vec![], json("DENIED", "mount not authorised")));
        }
    }
    if head.method == "PATCH" {
        return patch_refusal(cfg, len);
    }
    let upload_put = head.method == "PUT" && head.target.contains("/blobs/upload");
    if upload_put && cfg.put_cap.is_some_and(|cap| len > cap) {
        let html = "<html><head><title>413 Request Entity Too Large</title></head></html>";
        return Some((413, vec![], html.into()));
    }
    None
}

/// An error body: the registry's JSON, or its message as plain text.
fn error_body(cfg: &ProxyConfig, code: &str, msg: &str) -> String {
    if cfg.plain_text_errors {
        format!("{msg}\n")
    } else {
        format!(r#"{{"errors":[{{"code":"{code}","message":"{msg}"}}]}}"#)
    }
}

/// The first status fault that matches and is not spent (its passes let through first).
fn status_fault(
    cfg: &ProxyConfig,
    (faults_left, skips_left): (&Mutex<Vec<u32>>, &Mutex<Vec<u32>>),
    head: &Head,
) -> Option<Refusal> {
    let mut left = faults_left.lock().unwrap();
    let mut skips = skips_left.lock().unwrap();
    for (i, f) in cfg.status_faults.iter().enumerate() {
        let matches =
            f.method.is_none_or(|m| m == head.method) && head.target.contains(f.path_contains);
        if left[i] == 0 || !matches {
            continue;
        }
        if skips[i] > 0 {
            skips[i] -= 1;
            continue;
        }
        if left[i] != u32::MAX {
            left[i] -= 1;
        }
        let h = f
            .retry_after
            .map(|ra| ("Retry-After".to_string(), ra.to_string()));
        let (code, msg) = f.body.unwrap_or_else(|| usual_error(f.status));
        return Some((
            f.status,
            h.into_iter().collect(),
            error_body(cfg, code, msg),
        ));
    }
    None
}

/// The error code and message a registry sends with `status`.
fn usual_error(status: u16) -> (&'static str, &'static str) {
    match status {
        429 => ("TOOMANYREQUESTS", "Too Many Requests"),
        401 => ("UNAUTHORIZED", "authentication required"),
        403 => ("DENIED", "requested access to the resource is denied"),
        // What docker-registry answers a manifest PUT that reads a blob link another push
        // is rewriting.
        400 => (
            "DIGEST_INVALID",
            "provided digest did not match uploaded content",
        ),
        _ => ("UNAVAILABLE", "Service Unavailable (injected)"),
    }
}

/// Google Artifact Registry's refused `PATCH`, GHCR's cap on a `PATCH` body, ECR's
/// smallest chunk.
fn patch_refusal(cfg: &ProxyConfig, len: u64) -> Option<Refusal> {
    let json = |code: &str, msg: &str| error_body(cfg, code, msg);
    if cfg.refuse_patch {
        let msg = "chunked uploads are not supported";
        return Some((405, vec![], json("UNSUPPORTED", msg)));
    }
    if cfg.patch_cap.is_some_and(|cap| len > cap) {
        let msg = "PATCH body too large";
        return Some((416, vec![], json("BLOB_UPLOAD_INVALID", msg)));
    }
    if cfg.min_chunk.is_some_and(|min| len < min) {
        return Some((400, vec![], json("BLOB_UPLOAD_INVALID", "chunk too small")));
    }
    None
}

/// Applies the quirks to an answer of the registry; returns how many applied.
pub fn rewrite(
    cfg: &ProxyConfig,
    head: &Head,
    status: &mut u16,
    h: &mut Headers,
    body: &mut Vec<u8>,
) -> u64 {
    let mut n = 0;
    let is_patch = head.method == "PATCH";
    if cfg.patch_201 && is_patch && *status == 202 {
        *status = 201;
        n += 1;
    }
    if cfg.stale_range && is_patch && *status < 300 {
        let start: u64 = header(&head.headers, "content-range")
            .and_then(|r| r.split('-').next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        set(h, "Range", &format!("0-{}", start.saturating_sub(1)));
        n += 1;
    }
    if cfg.drop_manifest_location && head.method == "PUT" && head.target.contains("/manifests/") {
        h.retain(|(k, _)| !k.eq_ignore_ascii_case("location"));
        n += 1;
    }
    if cfg.strip_digest {
        let before = h.len();
        h.retain(|(k, _)| !k.eq_ignore_ascii_case("docker-content-digest"));
        n += (before - h.len()) as u64;
    }
    if let Some(loc) = header(h, "location").map(str::to_string) {
        let mut new = loc.clone();
        if cfg.relative_location || cfg.location_outside_v2 {
            if let Some(i) = new.find("://") {
                let rest = &new[i + 3..];
                new = rest[rest.find('/').unwrap_or(rest.len())..].to_string();
            }
        }
        if cfg.location_outside_v2 && new.contains("/blobs/uploads/") {
            if let Some(rest) = new.strip_prefix("/v2/") {
                new = format!("/artifacts-uploads/{rest}");
            }
        }
        if new != loc {
            set(h, "Location", &new);
            n += 1;
        }
    }
    if cfg.plain_text_errors && *status >= 400 && !body.is_empty() {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let msg = v["errors"][0]["message"]
            .as_str()
            .unwrap_or("error")
            .to_string();
        *body = format!("{msg}\n").into_bytes();
        set(h, "Content-Type", "text/plain; charset=utf-8");
        n += 1;
    }
    n
}
