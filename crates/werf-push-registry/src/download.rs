//! Downloads: `GET` of a manifest by tag or digest (with `Accept` for every manifest kind,
//! size-capped by `Limit::MANIFEST`, digest checked; the transport sends it again after a
//! cut) and `GET` of a blob as a stream of chunks, from an offset with `Range` so a cut
//! download can continue. Never writes files: the caller decides where bytes go and when
//! to resume a blob.

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, RANGE};
use reqwest::Method;

use super::error::{from_answer, from_response};
use super::Action;
use super::{Registry, RegistryError};
use werf_push_auth::redact::quote;
use werf_push_spec::media_type::MANIFEST_ACCEPT;
use werf_push_spec::{Digest, Manifest};
use werf_push_transport::{BodyReader, Limit, Request};

/// A blob answer being read (under the stall rule).
#[derive(Debug)]
pub struct BlobDownload {
    body: BodyReader,
    /// The offset of the first byte of the body: the offset asked for when the registry
    /// honoured `Range` (206), 0 when it sent the whole blob (200).
    pub start: u64,
}

impl BlobDownload {
    /// The next chunk of the body, `None` at its end. An error here is a cut connection.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, RegistryError> {
        Ok(self.body.chunk().await?)
    }
}

impl Registry {
    /// `GET /v2/<repo>/manifests/<reference>`: the manifest, `None` when it does not exist.
    pub async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let op = format!("GET manifest {repo}:{reference}");
        let url = self
            .transport
            .url(&format!("/v2/{repo}/manifests/{reference}"));
        let req = Request::new(Method::GET, url).header(ACCEPT, MANIFEST_ACCEPT);
        let a = self.transport.send_read(&req, Limit::MANIFEST).await?;
        match a.status {
            200 => {}
            404 => return Ok(None),
            _ => return Err(from_answer(Action::GetManifest, op, &a)),
        }
        let protocol = |detail: String| RegistryError::Protocol {
            op: op.clone(),
            detail,
        };
        let content_type = a
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_string());
        let header_digest = a
            .headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let m = Manifest::parse(a.body.clone(), content_type.as_deref())
            .map_err(|e| protocol(e.to_string()))?;
        // What was asked for (a digest), else what the registry says it sent; the bytes
        // that came are `m.digest`.
        let want = match (Digest::parse(reference), header_digest) {
            (Ok(d), _) => Some(d),
            (Err(_), Some(h)) => Some(Digest::parse(&h).map_err(|_| {
                protocol(format!(
                    "Docker-Content-Digest '{}' is not a digest",
                    werf_push_auth::redact::quote(&h)
                ))
            })?),
            (Err(_), None) => None,
        };
        if let Some((want, got)) = want.and_then(|w| w.verify(m.bytes()).err().map(|g| (w, g))) {
            return Err(RegistryError::DigestMismatch {
                op,
                want,
                got: got.to_string(),
            });
        }
        Ok(Some(m))
    }

    /// `GET /v2/<repo>/blobs/<digest>`, from `offset` (`Range: bytes=<offset>-`) when it is
    /// not 0. Check [`BlobDownload::start`]: a registry may ignore `Range` and send it all.
    pub async fn get_blob(
        &self,
        repo: &str,
        digest: &Digest,
        offset: u64,
    ) -> Result<BlobDownload, RegistryError> {
        let op = format!("GET blob {digest} from {repo}");
        let url = self.transport.url(&format!("/v2/{repo}/blobs/{digest}"));
        let mut req = Request::new(Method::GET, url);
        if offset > 0 {
            req = req.header(RANGE, &format!("bytes={offset}-"));
        }
        let resp = self.transport.send(&req).await?;
        let start = match resp.status().as_u16() {
            200 => 0,
            206 => {
                let header = resp
                    .headers()
                    .get("content-range")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                let got = header.as_deref().and_then(range_start);
                if got != Some(offset) {
                    return Err(RegistryError::Protocol {
                        op,
                        detail: content_range_problem(offset, header.as_deref(), got),
                    });
                }
                offset
            }
            _ => return Err(from_response(&self.transport, Action::GetBlob, op, resp).await),
        };
        Ok(BlobDownload {
            body: self.transport.reader(resp, "GET"),
            start,
        })
    }
}

/// Why the `Content-Range` of a 206 answer to `Range: bytes=<offset>-` is refused.
fn content_range_problem(offset: u64, header: Option<&str>, start: Option<u64>) -> String {
    match (header, start) {
        (None, _) => format!("asked for bytes from {offset}, the answer has no Content-Range"),
        (Some(h), None) => format!(
            "asked for bytes from {offset}, the answer's Content-Range '{}' is not \
             `bytes <start>-<end>/<total>`",
            quote(h)
        ),
        (Some(_), Some(start)) => {
            format!("asked for bytes from {offset}, the answer's Content-Range starts at {start}")
        }
    }
}

/// The start of `Content-Range: bytes <start>-<end>/<total>`.
fn range_start(v: &str) -> Option<u64> {
    let v = v.trim().strip_prefix("bytes")?.trim();
    v.split_once('-')?.0.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_start_table() {
        let cases = [
            ("bytes 100-199/200", Some(100)),
            ("bytes 0-0/1", Some(0)),
            ("bytes 5-9/*", Some(5)),
            ("items 1-2/3", None),
            ("bytes */200", None),
        ];
        for (v, want) in cases {
            assert_eq!(range_start(v), want, "{v}");
        }
    }

    /// Regression: a bad `Content-Range` was printed as Rust's `Some(10)`.
    #[test]
    fn content_range_problem_table() {
        // (header, its start, what the message says)
        let cases = [
            (None, None, "the answer has no Content-Range"),
            (
                Some("bytes 10-19/20"),
                Some(10),
                "the answer's Content-Range starts at 10",
            ),
            (
                Some("items\u{1b}x"),
                None,
                "the answer's Content-Range 'items\\u{1b}x' is not",
            ),
        ];
        for (header, start, want) in cases {
            let text = content_range_problem(5, header, start);
            assert!(text.contains(want), "{text}");
            assert!(!text.contains("Some("), "{text}");
        }
    }
}
