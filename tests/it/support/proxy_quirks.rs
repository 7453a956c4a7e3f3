//! The registry quirks for the test proxy ([`super::proxy`]), each a [`Quirk`]
//! switched on in `ProxyConfig::quirks`: answers made up in place of the registry's
//! ([`refusal`], nothing forwarded; status 0 drops the connection) and rewrites of the real
//! registry's answers ([`rewrite`]). Each names the registry whose behaviour it copies;
//! the survey behind them is in docs/reliability.md. Knows nothing of sockets but the one
//! `HEAD` a tag check sends upstream.

use std::collections::HashMap;
use std::sync::Mutex;

use super::proxy_http::{header, set, Head};
use super::proxy_rules::Refusal;
use super::registry::http_head;

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
    last_range: Mutex<HashMap<String, String>>,
    /// Bytes the registry took per session (PATCH answered 2xx).
    stored: Mutex<HashMap<String, u64>>,
}

fn json(code: &str, msg: &str) -> String {
    format!(r#"{{"errors":[{{"code":"{code}","message":"{msg}"}}]}}"#)
}

fn path(head: &Head) -> &str {
    head.target.split('?').next().unwrap_or("")
}

fn is_manifest(head: &Head) -> bool {
    head.target.contains("/manifests/")
}

fn is_upload_put(head: &Head) -> bool {
    head.method == "PUT" && head.target.contains("/blobs/uploads/")
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
    if head.method == "PATCH" || (is_upload_put(head) && len > 0) {
        *state
            .data_requests
            .lock()
            .unwrap()
            .entry(session.clone())
            .or_default() += 1;
    }
    let data_requests = state
        .data_requests
        .lock()
        .unwrap()
        .get(&session)
        .copied()
        .unwrap_or(0);
    let mount = head.method == "POST" && head.target.contains("mount=");
    for q in quirks {
        match q {
            Quirk::HeadManifest412 if head.method == "HEAD" && is_manifest(head) => {
                return Some((412, vec![], String::new()));
            }
            Quirk::ImmutableTags(status) if head.method == "PUT" && is_manifest(head) => {
                let reference = path(head).rsplit('/').next().unwrap_or("");
                if reference.starts_with("sha256:") {
                    continue;
                }
                let accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
                let url = format!("http://{upstream}{}", path(head));
                if http_head(&url, &[("Accept", accept)]).0 != 200 {
                    continue;
                }
                let body = if *status == 412 {
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
                return Some((*status, vec![], body));
            }
            Quirk::BlobHeadRedirect if path(head).starts_with("/storage/") => {
                // S3: a presigned GET URL refuses HEAD.
                return Some((
                    403,
                    vec![],
                    "<Error><Code>SignatureDoesNotMatch</Code></Error>".into(),
                ));
            }
            Quirk::KeepsLastChunkOnly if is_upload_put(head) && data_requests >= 2 => {
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
                return Some((201, h, String::new()));
            }
            Quirk::StaleStatusRange if head.method == "PATCH" => {
                let start: u64 = header(&head.headers, "content-range")
                    .and_then(|r| r.split('-').next())
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let stored = state
                    .stored
                    .lock()
                    .unwrap()
                    .get(&session)
                    .copied()
                    .unwrap_or(0);
                if start != stored {
                    return Some((
                        416,
                        vec![],
                        json("BLOB_UPLOAD_INVALID", "Range not satisfiable"),
                    ));
                }
            }
            Quirk::PutBodyRefused if is_upload_put(head) && len > 0 => {
                return Some((
                    404,
                    vec![],
                    json("BLOB_UNKNOWN", "blob unknown to registry"),
                ));
            }
            Quirk::EofOnUploadStart
                if head.method == "POST" && head.target.contains("/blobs/uploads/") && !mount =>
            {
                return Some((0, vec![], String::new()));
            }
            Quirk::EcrPublic if mount => {
                return Some((
                    400,
                    vec![],
                    json("UNSUPPORTED", "cross-repository mount is not supported"),
                ));
            }
            Quirk::EcrPublic
                if is_upload_put(head)
                    && (data_requests >= 2 || (len == 0 && data_requests >= 1)) =>
            {
                return Some((
                    400,
                    vec![],
                    json(
                        "BLOB_UPLOAD_INVALID",
                        "None of the provided layer digests match",
                    ),
                ));
            }
            Quirk::NotFoundCode
                if head.method == "PUT" && is_manifest(head) && lists_a_child_twice(body) =>
            {
                // A database unique constraint on (index, child).
                return Some((404, vec![], json("NOT_FOUND", "not found")));
            }
            Quirk::OciOnly
                if head.method == "PUT"
                    && is_manifest(head)
                    && header(&head.headers, "content-type")
                        .is_some_and(|t| t.starts_with("application/vnd.docker.")) =>
            {
                return Some((
                    415,
                    vec![],
                    json(
                        "MANIFEST_INVALID",
                        "manifest invalid: unsupported media type",
                    ),
                ));
            }
            _ => {}
        }
    }
    None
}

/// Applies the quirks to an answer of the registry; returns how many applied.
/// A blob answer made a `307` to `http://<authority>/storage/<path>` (presigned storage).
fn to_storage(
    authority: &str,
    head: &Head,
    status: &mut u16,
    h: &mut Vec<(String, String)>,
    body: &mut Vec<u8>,
) {
    let loc = format!(
        "http://{authority}/storage{}?X-Amz-Signature=abc",
        path(head)
    );
    h.retain(|(k, _)| {
        !k.eq_ignore_ascii_case("content-length")
            && !k.eq_ignore_ascii_case("docker-content-digest")
    });
    set(h, "Location", &loc);
    body.clear();
    *status = 307;
}

pub fn rewrite(
    quirks: &[Quirk],
    state: &QuirkState,
    head: &Head,
    status: &mut u16,
    h: &mut Vec<(String, String)>,
    body: &mut Vec<u8>,
) -> u64 {
    let mut n = 0;
    let is_blob = path(head).contains("/blobs/sha256:");
    for q in quirks {
        match q {
            Quirk::BlobHeadRedirect
                if is_blob && *status == 200 && matches!(head.method.as_str(), "HEAD" | "GET") =>
            {
                let host = header(&head.headers, "host").unwrap_or("127.0.0.1");
                to_storage(host, head, status, h, body);
                n += 1;
            }
            Quirk::BlobGetElsewhere(to) if is_blob && *status == 200 && head.method == "GET" => {
                to_storage(to, head, status, h, body);
                n += 1;
            }
            Quirk::PingElsewhere(to) if path(head) == "/v2/" && head.method == "GET" => {
                h.retain(|(k, _)| !k.eq_ignore_ascii_case("www-authenticate"));
                set(h, "Location", &format!("http://{to}/v2/"));
                body.clear();
                *status = 307;
                n += 1;
            }
            Quirk::AcceptNeedsIndex
                if is_manifest(head)
                    && *status == 200
                    && header(h, "content-type").is_some_and(|t| t.contains("oci.image.index"))
                    && !header(&head.headers, "accept")
                        .is_some_and(|a| a.contains("application/vnd.oci.image.index.v1+json")) =>
            {
                *status = 404;
                *body = json(
                    "MANIFEST_UNKNOWN",
                    "OCI index found, but accept header does not support OCI indexes",
                )
                .into_bytes();
                h.retain(|(k, _)| !k.eq_ignore_ascii_case("docker-content-digest"));
                set(h, "Content-Type", "application/json");
                n += 1;
            }
            Quirk::RangePerChunk => {
                let session = path(head).to_string();
                if head.method == "POST" && *status == 202 {
                    set(h, "Range", "0--1");
                    n += 1;
                } else if head.method == "PATCH" && *status < 300 {
                    let r = format!("0-{}", head_len(head).saturating_sub(1));
                    set(h, "Range", &r);
                    let next = header(h, "location")
                        .map(|l| l.split('?').next().unwrap_or("").to_string());
                    let mut last = state.last_range.lock().unwrap();
                    last.insert(session, r.clone());
                    if let Some(next) = next {
                        let p = next.find("/v2/").map_or(next.as_str(), |i| &next[i..]);
                        last.insert(p.to_string(), r);
                    }
                    n += 1;
                } else if head.method == "GET" && head.target.contains("/blobs/uploads/") {
                    if let Some(r) = state.last_range.lock().unwrap().get(&session) {
                        set(h, "Range", r);
                        n += 1;
                    }
                }
            }
            Quirk::StaleStatusRange if head.method == "PATCH" && *status < 300 => {
                *state
                    .stored
                    .lock()
                    .unwrap()
                    .entry(path(head).to_string())
                    .or_default() += head_len(head);
            }
            Quirk::StaleStatusRange
                if head.method == "GET"
                    && head.target.contains("/blobs/uploads/")
                    && *status == 204 =>
            {
                let end: u64 = header(h, "range")
                    .and_then(|r| r.split('-').nth(1))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                // Stuck at the first 1 MiB chunk.
                set(h, "Range", &format!("0-{}", end.min((1 << 20) - 1)));
                n += 1;
            }
            Quirk::UpperCaseScheme => {
                if let Some(v) = header(h, "www-authenticate").map(str::to_string) {
                    if let Some((scheme, rest)) = v.split_once(' ') {
                        set(
                            h,
                            "WWW-Authenticate",
                            &format!("{} {rest}", scheme.to_ascii_uppercase()),
                        );
                        n += 1;
                    }
                }
            }
            Quirk::NotFoundCode if *status == 404 && !body.is_empty() => {
                *body = json("NOT_FOUND", "artifact not found").into_bytes();
                n += 1;
            }
            Quirk::BigHeader(size)
                if head.method == "POST" && head.target.contains("/blobs/uploads/") =>
            {
                h.push(("X-Goog-Upload-Padding".into(), "x".repeat(*size)));
                n += 1;
            }
            _ => {}
        }
    }
    n
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

fn head_len(head: &Head) -> u64 {
    header(&head.headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
