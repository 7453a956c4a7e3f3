//! Blob uploads: start (POST, `Content-Length: 0`), cross-repository mount, monolithic PUT,
//! chunked PATCH with `Content-Range` always to the newest `Location`, closing PUT, status
//! (GET) and cancel (DELETE). Data requests are sent once: the push layer decides retries.

use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Response};
use url::Url;

use super::error::from_response;
use super::location::{resolve, with_query};
use super::manifest::check_digest;
use super::Action;
use super::{Registry, RegistryError};
use werf_push_spec::Digest;
use werf_push_transport::{Body, Request};

const OCTET: &str = "application/octet-stream";

/// An open upload: where to send the next request and how many bytes the registry holds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UploadSession {
    /// The repository the blob goes to.
    pub repo: String,
    /// Where the next request of the session goes: the newest `Location` the registry gave.
    pub location: Url,
    /// Bytes the registry holds (the next byte to send); 0 for a new session.
    pub offset: u64,
    /// `OCI-Chunk-Min-Length` advertised by the registry.
    pub chunk_min: Option<u64>,
}

/// The answer to a cross-repository mount. Exhaustive: the protocol has these two
/// answers (201, 202); any other is an error.
#[derive(Debug)]
pub enum MountOutcome {
    /// `201`: the repository holds the blob now.
    Mounted,
    /// The registry did not mount (202): a normal upload session to use instead.
    Session(UploadSession),
}

impl Registry {
    /// `POST /v2/<repo>/blobs/uploads/`.
    pub async fn start_upload(&self, repo: &str) -> Result<UploadSession, RegistryError> {
        let url = self.transport.url(&format!("/v2/{repo}/blobs/uploads/"));
        let resp = self
            .transport
            .send(&Request::new(Method::POST, url))
            .await?;
        if resp.status().as_u16() != 202 {
            return Err(from_response(
                &self.transport,
                Action::StartUpload,
                format!("start upload to {repo}"),
                resp,
            )
            .await);
        }
        session_from(repo, &resp, 0, "start upload")
    }

    /// `POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<source>`.
    pub async fn mount_blob(
        &self,
        repo: &str,
        digest: &Digest,
        from: &str,
    ) -> Result<MountOutcome, RegistryError> {
        let mut url = self.transport.url(&format!("/v2/{repo}/blobs/uploads/"));
        url.query_pairs_mut()
            .append_pair("mount", &digest.to_string())
            .append_pair("from", from);
        let resp = self
            .transport
            .send(&Request::new(Method::POST, url))
            .await?;
        match resp.status().as_u16() {
            201 => Ok(MountOutcome::Mounted),
            202 => Ok(MountOutcome::Session(session_from(
                repo, &resp, 0, "mount",
            )?)),
            _ => Err(from_response(
                &self.transport,
                Action::Mount,
                format!("mount {digest} from {from} into {repo}"),
                resp,
            )
            .await),
        }
    }

    /// `PUT <location>&digest=<d>` with the whole blob (or, closing a chunked upload, the
    /// rest of it, possibly nothing).
    pub async fn finish_upload(
        &self,
        s: &UploadSession,
        digest: &Digest,
        body: Body,
    ) -> Result<(), RegistryError> {
        let op = format!("PUT blob {digest} to {}", s.repo);
        let url = with_query(&s.location, "digest", &digest.to_string());
        let req = Request::new(Method::PUT, url)
            .repository(&s.repo)
            .header(CONTENT_TYPE, OCTET)
            .body(body)
            .no_retry();
        let resp = self.transport.send(&req).await?;
        if resp.status().as_u16() != 201 {
            return Err(from_response(&self.transport, Action::FinishUpload, op, resp).await);
        }
        check_digest(&op, digest, resp.headers().get("docker-content-digest"))
    }

    /// `PATCH <location>` with `Content-Range: <start>-<end>`; returns the session at the
    /// newest `Location` (distribution signs the offset into it: a stale one fails).
    pub async fn upload_chunk(
        &self,
        s: &UploadSession,
        body: Body,
    ) -> Result<UploadSession, RegistryError> {
        let len = body.len();
        let end = s.offset + len - 1;
        let op = format!("PATCH bytes {}-{end} to {}", s.offset, s.repo);
        let req = Request::new(Method::PATCH, s.location.clone())
            .repository(&s.repo)
            .header(CONTENT_TYPE, OCTET)
            .header(
                reqwest::header::CONTENT_RANGE,
                &format!("{}-{end}", s.offset),
            )
            .body(body)
            .no_retry();
        let resp = self.transport.send(&req).await?;
        // ECR answers 201 instead of 202 to PATCH.
        if !matches!(resp.status().as_u16(), 202 | 201 | 204) {
            return Err(from_response(&self.transport, Action::UploadChunk, op, resp).await);
        }
        let mut next = session_from(&s.repo, &resp, s.offset + len, &op).or_else(|_| {
            // No Location: keep the current one.
            Ok::<_, RegistryError>(UploadSession {
                offset: s.offset + len,
                ..s.clone()
            })
        })?;
        next.chunk_min = next.chunk_min.or(s.chunk_min);
        Ok(next)
    }

    /// `GET <location>`: how many bytes the registry holds for this upload.
    pub async fn upload_status(&self, s: &UploadSession) -> Result<UploadSession, RegistryError> {
        let resp = self
            .transport
            .send(&Request::new(Method::GET, s.location.clone()).repository(&s.repo))
            .await?;
        if resp.status().as_u16() != 204 {
            return Err(from_response(
                &self.transport,
                Action::UploadStatus,
                format!("upload status in {}", s.repo),
                resp,
            )
            .await);
        }
        let offset = range_end(resp.headers()).map(|e| e + 1).unwrap_or(0);
        let mut next =
            session_from(&s.repo, &resp, offset, "upload status").unwrap_or_else(|_| s.clone());
        next.offset = offset;
        next.chunk_min = next.chunk_min.or(s.chunk_min);
        Ok(next)
    }

    /// `DELETE <location>`: `Ok` once the registry holds the session no more (a `2xx`, or
    /// `404 BLOB_UPLOAD_UNKNOWN`: it is gone already). distribution refuses a `Location`
    /// whose signed offset (`_state`) is not the size it holds with `404
    /// BLOB_UPLOAD_INVALID`; Quay has no delete scope (`401`/`403`).
    pub async fn delete_upload(&self, s: &UploadSession) -> Result<(), RegistryError> {
        let resp = self
            .transport
            .send(
                &Request::new(Method::DELETE, s.location.clone())
                    .repository(&s.repo)
                    .no_retry(),
            )
            .await?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let e = from_response(
            &self.transport,
            Action::CancelUpload,
            format!("DELETE upload in {}", s.repo),
            resp,
        )
        .await;
        match (status, e.code()) {
            (404, Some("BLOB_UPLOAD_UNKNOWN")) => Ok(()),
            _ => Err(e),
        }
    }
}

fn session_from(
    repo: &str,
    resp: &Response,
    offset: u64,
    op: &str,
) -> Result<UploadSession, RegistryError> {
    let loc = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| RegistryError::Protocol {
            op: op.to_string(),
            detail: "answer has no Location header".into(),
        })?;
    let location = resolve(resp.url(), loc).map_err(|e| RegistryError::Protocol {
        op: op.to_string(),
        detail: format!("bad Location '{}': {e}", werf_push_auth::redact::quote(loc)),
    })?;
    let chunk_min = resp
        .headers()
        .get("oci-chunk-min-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    Ok(UploadSession {
        repo: repo.to_string(),
        location,
        offset,
        chunk_min,
    })
}

/// The `<end>` of a `Range: 0-<end>` header. A `Range` that makes no sense (Zot's `0--1`
/// for an empty upload, Aliyun's range of the last chunk only, `5-3`) is unknown.
fn range_end(h: &HeaderMap) -> Option<u64> {
    parse_range_end(h.get("range")?.to_str().ok()?)
}

fn parse_range_end(v: &str) -> Option<u64> {
    let v = v.trim().trim_start_matches("bytes=");
    let (start, end) = v.split_once('-')?;
    if start.trim() != "0" {
        return None;
    }
    end.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn range_end_table() {
        let cases = [
            ("0-0", Some(0)),
            ("0-1048575", Some(1_048_575)),
            ("bytes=0-99", Some(99)),
            (" 0-5 ", Some(5)),
            ("0--1", None),
            ("1048576-2097151", None),
            ("5-3", None),
            ("", None),
            ("garbage", None),
        ];
        for (v, want) in cases {
            assert_eq!(super::parse_range_end(v), want, "{v}");
        }
    }
}
