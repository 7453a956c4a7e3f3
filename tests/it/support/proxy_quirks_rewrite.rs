//! The registry quirks of the test proxy that rewrite the real registry's answers (each a
//! [`Quirk`] switched on in `ProxyConfig::quirks`; the made-up answers are
//! [`super::proxy_quirks::refusal`]): redirects to storage, a ping sent elsewhere, an index
//! hidden from a narrow `Accept`, `Range`s per chunk or stuck, upper-case auth schemes,
//! Harbor's `NOT_FOUND`, a huge header. Each names the registry whose behaviour it copies.

use super::http::{header, set, Head, Headers};
use super::proxy_quirks::{is_manifest, json, path, Quirk, QuirkState};

/// The registry's answer, being rewritten.
struct Reply<'a> {
    status: &'a mut u16,
    h: &'a mut Headers,
    body: &'a mut Vec<u8>,
}

/// Applies the quirks to an answer of the registry; returns how many applied.
pub fn rewrite(
    quirks: &[Quirk],
    state: &QuirkState,
    head: &Head,
    status: &mut u16,
    h: &mut Headers,
    body: &mut Vec<u8>,
) -> u64 {
    let mut reply = Reply { status, h, body };
    quirks
        .iter()
        .map(|q| rewrite_one(q, state, head, &mut reply))
        .sum()
}

/// Applies `quirk`; 1 when it rewrote the answer.
fn rewrite_one(quirk: &Quirk, state: &QuirkState, head: &Head, a: &mut Reply) -> u64 {
    let is_blob = path(head).contains("/blobs/sha256:");
    let found_blob = is_blob && *a.status == 200;
    let upload_path = head.target.contains("/blobs/uploads/");
    match quirk {
        Quirk::BlobHeadRedirect if found_blob && matches!(head.method.as_str(), "HEAD" | "GET") => {
            let host = header(&head.headers, "host").unwrap_or("127.0.0.1");
            to_storage(host, head, a)
        }
        Quirk::BlobGetElsewhere(to) if found_blob && head.method == "GET" => {
            to_storage(to, head, a)
        }
        Quirk::PingElsewhere(to) if path(head) == "/v2/" && head.method == "GET" => {
            a.h.retain(|(k, _)| !k.eq_ignore_ascii_case("www-authenticate"));
            set(a.h, "Location", &format!("http://{to}/v2/"));
            a.body.clear();
            *a.status = 307;
            1
        }
        Quirk::AcceptNeedsIndex if is_manifest(head) => hide_index(head, a),
        Quirk::RangePerChunk => range_per_chunk(state, head, a),
        Quirk::StaleStatusRange if head.method == "PATCH" && *a.status < 300 => {
            let mut stored = state.stored.lock().unwrap();
            *stored.entry(path(head).to_string()).or_default() += head.content_length();
            0
        }
        Quirk::StaleStatusRange if head.method == "GET" && upload_path && *a.status == 204 => {
            let end: u64 = header(a.h, "range")
                .and_then(|r| r.split('-').nth(1))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            // Stuck at the first 1 MiB chunk.
            set(a.h, "Range", &format!("0-{}", end.min((1 << 20) - 1)));
            1
        }
        Quirk::UpperCaseScheme => upper_case_scheme(a),
        Quirk::NotFoundCode if *a.status == 404 && !a.body.is_empty() => {
            *a.body = json("NOT_FOUND", "artifact not found").into_bytes();
            1
        }
        Quirk::BigHeader(size) if head.method == "POST" && upload_path => {
            a.h.push(("X-Goog-Upload-Padding".into(), "x".repeat(*size)));
            1
        }
        _ => 0,
    }
}

/// A blob answer made a `307` to `http://<authority>/storage/<path>` (presigned storage).
fn to_storage(authority: &str, head: &Head, a: &mut Reply) -> u64 {
    let loc = format!(
        "http://{authority}/storage{}?X-Amz-Signature=abc",
        path(head)
    );
    a.h.retain(|(k, _)| {
        !k.eq_ignore_ascii_case("content-length")
            && !k.eq_ignore_ascii_case("docker-content-digest")
    });
    set(a.h, "Location", &loc);
    a.body.clear();
    *a.status = 307;
    1
}

/// GHCR, ACR: an OCI index asked for without the index type in `Accept` is "unknown".
fn hide_index(head: &Head, a: &mut Reply) -> u64 {
    let is_index = header(a.h, "content-type").is_some_and(|t| t.contains("oci.image.index"));
    let accepts = header(&head.headers, "accept")
        .is_some_and(|a| a.contains("application/vnd.oci.image.index.v1+json"));
    if *a.status != 200 || !is_index || accepts {
        return 0;
    }
    *a.status = 404;
    *a.body = json(
        "MANIFEST_UNKNOWN",
        "OCI index found, but accept header does not support OCI indexes",
    )
    .into_bytes();
    a.h.retain(|(k, _)| !k.eq_ignore_ascii_case("docker-content-digest"));
    set(a.h, "Content-Type", "application/json");
    1
}

/// Zot, Aliyun: the `Range` of a `PATCH` answer covers that chunk only, the `POST` answer
/// says `0--1`, an upload status repeats what the last `PATCH` said.
fn range_per_chunk(state: &QuirkState, head: &Head, a: &mut Reply) -> u64 {
    let session = path(head).to_string();
    if head.method == "POST" && *a.status == 202 {
        set(a.h, "Range", "0--1");
        return 1;
    }
    if head.method == "PATCH" && *a.status < 300 {
        let r = format!("0-{}", head.content_length().saturating_sub(1));
        set(a.h, "Range", &r);
        let next = header(a.h, "location").map(|l| l.split('?').next().unwrap_or("").to_string());
        let mut last = state.last_range.lock().unwrap();
        last.insert(session, r.clone());
        if let Some(next) = next {
            let p = next.find("/v2/").map_or(next.as_str(), |i| &next[i..]);
            last.insert(p.to_string(), r);
        }
        return 1;
    }
    if head.method == "GET" && head.target.contains("/blobs/uploads/") {
        if let Some(r) = state.last_range.lock().unwrap().get(&session) {
            set(a.h, "Range", r);
            return 1;
        }
    }
    0
}

/// Nexus: `WWW-Authenticate: BASIC realm=...`.
fn upper_case_scheme(a: &mut Reply) -> u64 {
    let Some(v) = header(a.h, "www-authenticate").map(str::to_string) else {
        return 0;
    };
    let Some((scheme, rest)) = v.split_once(' ') else {
        return 0;
    };
    let v = format!("{} {rest}", scheme.to_ascii_uppercase());
    set(a.h, "WWW-Authenticate", &v);
    1
}
