//! The registry quirks for the test proxy ([`super::proxy`]), each a [`Quirk`]
//! switched on in `ProxyConfig::quirks`, and the answers they make up in place of the
//! registry's ([`refusal`], nothing forwarded; status 0 drops the connection); their
//! rewrites of the real registry's answers are [`super::proxy_quirks_rewrite`]. Each names
//! the registry whose behaviour it copies;
//! the survey behind them is in docs/reliability.md. Knows nothing of sockets but the one
//! `HEAD` a tag check sends upstream.

use std::collections::HashMap;
use std::sync::Mutex;

use super::http::client::http_head;
use super::http::{header, Head};
use super::proxy_rules::Refusal;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Quirk {
    /// Harbor "prevent vulnerable images": `412` to every manifest `HEAD`.
    HeadManifest412,
    /// ECR (400 TAG_INVALID) or Harbor (412 DENIED) immutable tags: a manifest `PUT` to a
    /// tag that exists is refused, whatever the digest.
    ImmutableTags(u16),
    /// GHCR, GitLab: a blob `HEAD`/`GET` that finds the blob answers `307` to
    /// `/storage/...`, where a `HEAD` gets `403` (a presigned URL signed for `GET`).
    BlobHeadRedirect,
    /// Docker Hub, Quay, ECR: a blob `GET` that finds the blob answers `307` to storage or a
    /// CDN on another host (this `ADDR:PORT`, at `/storage/...`).
    BlobGetElsewhere(String),
    /// A registry behind a front that sends its `GET /v2/` on to another host (this
    /// `ADDR:PORT`) with a `307`.
    PingElsewhere(String),
    /// GHCR, ACR (and distribution itself): a manifest `HEAD`/`GET` of an OCI index whose
    /// `Accept` lacks the OCI index type answers `404 MANIFEST_UNKNOWN`.
    AcceptNeedsIndex,
    /// Artifactory: a closing `PUT` of an upload that got two or more data requests is
    /// answered `201` (with the digest) but the blob is not stored whole (here: not at all).
    KeepsLastChunkOnly,
    /// Artifactory: a closing `PUT` carrying data gets `404 BLOB_UNKNOWN`.
    PutBodyRefused,
    /// Zot, Aliyun: `Range` of a `PATCH` answer covers that chunk only (`0-<len-1>`); the
    /// `POST` answer says `0--1`; an upload status says what the last `PATCH` said.
    RangePerChunk,
    /// ECR: the `Range` of upload status answers stays at the first chunk.
    StaleStatusRange,
    /// ECR: a `POST` starting an upload (no mount) to a repository that does not exist:
    /// the connection is dropped, no status.
    EofOnUploadStart,
    /// ECR Public: mounts answered `400`; the closing `PUT` of a chunked upload gets
    /// `400 BLOB_UPLOAD_INVALID`.
    EcrPublic,
    /// Nexus: `WWW-Authenticate: BASIC realm=...` (scheme in upper case).
    UpperCaseScheme,
    /// Harbor: `404` bodies say `NOT_FOUND`, not `MANIFEST_UNKNOWN`/`BLOB_UNKNOWN`; an index
    /// listing one child twice gets `404 NOT_FOUND`.
    NotFoundCode,
    /// Google Artifact Registry: upload `POST` answers carry a header of this many bytes.
    BigHeader(usize),
    /// Zot without compat mode: a Docker manifest `PUT` gets `415`.
    OciOnly,
}

/// What the quirks remember between requests: data requests per upload session, and the
/// `Range` last answered per session.
#[derive(Debug, Default)]
pub struct QuirkState {
    data_requests: Mutex<HashMap<String, u32>>,
    pub(super) last_range: Mutex<HashMap<String, String>>,
    /// Bytes the registry took per session (PATCH answered 2xx).
    pub(super) stored: Mutex<HashMap<String, u64>>,
}

pub(super) fn json(code: &str, msg: &str) -> String {
    format!(r#"{{"errors":[{{"code":"{code}","message":"{msg}"}}]}}"#)
}

pub(super) fn path(head: &Head) -> &str {
    head.target.split('?').next().unwrap_or("")
}

pub(super) fn is_manifest(head: &Head) -> bool {
    head.target.contains("/manifests/")
}

fn is_upload_put(head: &Head) -> bool {
    head.method == "PUT" && head.target.contains("/blobs/uploads/")
}

/// A request as the refusals see it.
struct Req<'a> {
    head: &'a Head,
    len: u64,
    body: &'a [u8],
    upstream: &'a str,
    /// The upload session (the request's path).
    session: String,
    /// Data requests (`PATCH`, `PUT` with a body) of this session so far, this one included.
    data_requests: u32,
    /// A cross-repository mount (`POST ...?mount=`).
    mount: bool,
}

/// The answer the quirks make up for this request, if one does.
pub fn refusal(
    quirks: &[Quirk],
    state: &QuirkState,
    upstream: &str,
    head: &Head,
    len: u64,
    body: &[u8],
) -> Option<Refusal> {
    let session = path(head).to_string();
    let mut counts = state.data_requests.lock().unwrap();
    if head.method == "PATCH" || (is_upload_put(head) && len > 0) {
        *counts.entry(session.clone()).or_default() += 1;
    }
    let data_requests = counts.get(&session).copied().unwrap_or(0);
    drop(counts);
    let mount = head.method == "POST" && head.target.contains("mount=");
    let req = Req {
        head,
        len,
        body,
        upstream,
        session,
        data_requests,
        mount,
    };
    quirks.iter().find_map(|q| refuse(q, state, &req))
}

/// What `quirk` answers in place of the registry, if it answers this request.
fn refuse(quirk: &Quirk, state: &QuirkState, r: &Req) -> Option<Refusal> {
    let (head, put) = (r.head, r.head.method == "PUT");
    let answer = |status: u16, body: String| Some((status, vec![], body));
    match quirk {
        Quirk::HeadManifest412 if head.method == "HEAD" && is_manifest(head) => {
            answer(412, String::new())
        }
        Quirk::ImmutableTags(status) if put && is_manifest(head) => immutable_tag(*status, r),
        Quirk::BlobHeadRedirect if path(head).starts_with("/storage/") => {
            // S3: a presigned GET URL refuses HEAD.
            let s3 = "<Error><Code>SignatureDoesNotMatch</Code></Error>";
            answer(403, s3.into())
        }
        Quirk::KeepsLastChunkOnly if is_upload_put(head) && r.data_requests >= 2 => {
            Some(stored_not(head))
        }
        Quirk::StaleStatusRange if head.method == "PATCH" => {
            let start: u64 = header(&head.headers, "content-range")
                .and_then(|r| r.split('-').next())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let stored = state.stored.lock().unwrap();
            let stored = stored.get(&r.session).copied().unwrap_or(0);
            let msg = "Range not satisfiable";
            (start != stored).then(|| (416, vec![], json("BLOB_UPLOAD_INVALID", msg)))
        }
        Quirk::PutBodyRefused if is_upload_put(head) && r.len > 0 => {
            answer(404, json("BLOB_UNKNOWN", "blob unknown to registry"))
        }
        Quirk::EofOnUploadStart
            if head.method == "POST" && head.target.contains("/blobs/uploads/") && !r.mount =>
        {
            answer(0, String::new())
        }
        Quirk::EcrPublic if r.mount => {
            let msg = "cross-repository mount is not supported";
            answer(400, json("UNSUPPORTED", msg))
        }
        Quirk::EcrPublic
            if is_upload_put(head)
                && (r.data_requests >= 2 || (r.len == 0 && r.data_requests >= 1)) =>
        {
            let msg = "None of the provided layer digests match";
            answer(400, json("BLOB_UPLOAD_INVALID", msg))
        }
        Quirk::NotFoundCode if put && is_manifest(head) && lists_a_child_twice(r.body) => {
            // A database unique constraint on (index, child).
            answer(404, json("NOT_FOUND", "not found"))
        }
        Quirk::OciOnly
            if put
                && is_manifest(head)
                && header(&head.headers, "content-type")
                    .is_some_and(|t| t.starts_with("application/vnd.docker.")) =>
        {
            let msg = "manifest invalid: unsupported media type";
            answer(415, json("MANIFEST_INVALID", msg))
        }
        _ => None,
    }
}

/// ECR's or Harbor's refusal of a manifest `PUT` to a tag that exists (asked of the
/// registry with a `HEAD`); a `PUT` by digest passes.
fn immutable_tag(status: u16, r: &Req) -> Option<Refusal> {
    let reference = path(r.head).rsplit('/').next().unwrap_or("");
    if reference.starts_with("sha256:") {
        return None;
    }
    let accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
    let url = format!("http://{}{}", r.upstream, path(r.head));
    if http_head(&url, &[("Accept", accept)]).0 != 200 {
        return None;
    }
    let body = if status == 412 {
        json(
            "DENIED",
            &format!("Failed to process request due to '{reference}' configured as immutable."),
        )
    } else {
        json(
            "TAG_INVALID",
            &format!("The image tag '{reference}' already exists in the repository and cannot be overwritten because the tag is immutable."),
        )
    };
    Some((status, vec![], body))
}

/// Artifactory: `201` with the digest and `Location` of a blob it did not store.
fn stored_not(head: &Head) -> Refusal {
    let digest = head
        .target
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("digest="))
        .unwrap_or("")
        .replace("%3A", ":");
    let repo = path(head)
        .strip_prefix("/v2/")
        .and_then(|p| p.split("/blobs/").next())
        .unwrap_or("");
    let h = vec![
        ("Docker-Content-Digest".to_string(), digest.clone()),
        ("Location".to_string(), format!("/v2/{repo}/blobs/{digest}")),
    ];
    (201, h, String::new())
}

/// An index whose `manifests` name one digest twice.
fn lists_a_child_twice(body: &[u8]) -> bool {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let Some(children) = v["manifests"].as_array() else {
        return false;
    };
    let digests: std::collections::BTreeSet<_> = children
        .iter()
        .filter_map(|c| c["digest"].as_str())
        .collect();
    digests.len() < children.len()
}
