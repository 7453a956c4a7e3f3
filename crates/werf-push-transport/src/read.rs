//! Reading answers, always bounded: a body collected into memory stops at a [`Limit`]
//! (error bodies keep their first 64 KiB and drop the rest; token answers, manifests and
//! configs, tag-list pages are refused over their cap, naming it), and every read of a body,
//! collected or streamed ([`BodyReader`]), is under the stall rule (`pace.rs`). A request
//! whose whole answer is wanted ([`Transport::send_read`]) is sent again, under the run's
//! retry budget, when reading the answer is cut or stalls.

use bytes::{Bytes, BytesMut};
use reqwest::header::HeaderMap;
use reqwest::Response;
use tokio::time::Instant;
use url::Url;

use super::client::what;
use super::pace::{Pace, TimeoutKind};
use super::{Request, RetryNotice, Timeouts, Transport, TransportError};

/// How much of an answer may be held in memory, and what happens past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The most bytes held.
    pub max: usize,
    /// What the body is, for the error (`a tag-list page`).
    pub what: &'static str,
    /// Keep the first `max` bytes and drop the rest instead of failing.
    pub truncate: bool,
}

impl Limit {
    /// Error answers: the start is enough to quote.
    pub const ERROR_BODY: Limit = Limit {
        max: 64 << 10,
        what: "an error answer",
        truncate: true,
    };
    /// A token realm's answer.
    pub const TOKEN: Limit = Limit {
        max: 1 << 20,
        what: "a token answer",
        truncate: false,
    };
    /// A manifest or an image config (registries accept at least 4 MB).
    pub const MANIFEST: Limit = Limit {
        max: 8 << 20,
        what: "a manifest or config",
        truncate: false,
    };
    /// One page of `tags/list` (about 100 000 tags of 128 characters).
    pub const TAG_PAGE: Limit = Limit {
        max: 16 << 20,
        what: "a tag-list page",
        truncate: false,
    };
}

/// An answer's body read piece by piece under the stall rule.
#[derive(Debug)]
pub struct BodyReader {
    resp: Response,
    pace: Pace,
    stall: std::time::Duration,
    method: String,
    url: String,
}

impl BodyReader {
    /// A reader of `resp`'s body (the answer to `method`), under `timeouts.stall`.
    pub fn new(resp: Response, method: &str, timeouts: &Timeouts) -> BodyReader {
        let url = super::client::redact_query(resp.url());
        BodyReader {
            resp,
            pace: Pace::new(timeouts.stall, Instant::now().into_std()),
            stall: timeouts.stall,
            method: method.to_string(),
            url,
        }
    }

    /// The answer whose body is read (status, headers, URL).
    pub fn response(&self) -> &Response {
        &self.resp
    }

    /// The next piece, `None` at the end. An error is a cut connection or a stall.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        loop {
            let deadline = Instant::from_std(self.pace.deadline());
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Ok(Ok(Some(b))) => {
                    if !self.pace.record(b.len() as u64, Instant::now().into_std()) {
                        return Err(self.stalled());
                    }
                    return Ok(Some(b));
                }
                Ok(Ok(None)) => return Ok(None),
                Ok(Err(e)) => {
                    return Err(TransportError::Request {
                        method: self.method.clone(),
                        url: self.url.clone(),
                        detail: super::error::chain(&e),
                    })
                }
                Err(_) => {
                    if !self.pace.check(Instant::now().into_std()) {
                        return Err(self.stalled());
                    }
                }
            }
        }
    }

    fn stalled(&self) -> TransportError {
        TransportError::Timeout {
            method: self.method.clone(),
            url: self.url.clone(),
            kind: TimeoutKind::Stall,
            after: self.stall,
        }
    }

    /// The whole body, at most `limit.max` bytes of it.
    pub async fn collect(mut self, limit: Limit) -> Result<Bytes, TransportError> {
        if !limit.truncate {
            if let Some(len) = self.resp.content_length() {
                if len > limit.max as u64 {
                    return Err(self.too_large(limit));
                }
            }
        }
        let mut body = BytesMut::new();
        while let Some(piece) = self.chunk().await? {
            let room = limit.max - body.len();
            if piece.len() > room {
                if limit.truncate {
                    body.extend_from_slice(&piece[..room]);
                    // The rest is dropped with the connection.
                    break;
                }
                return Err(self.too_large(limit));
            }
            body.extend_from_slice(&piece);
        }
        Ok(body.freeze())
    }

    fn too_large(&self, limit: Limit) -> TransportError {
        TransportError::TooLarge {
            method: self.method.clone(),
            url: self.url.clone(),
            what: limit.what,
            max: limit.max,
        }
    }
}

/// An answer read whole: status, headers, the URL it came from (after redirects), body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The URL that answered (after redirects).
    pub url: Url,
    /// At most the [`Limit`] asked for when the status is a success, else at most
    /// [`Limit::ERROR_BODY`] (empty when it could not be read: the status is the answer).
    pub body: Bytes,
}

impl Transport {
    /// Sends `req` ([`Transport::send`]) and reads its answer whole under `limit`; a read
    /// that is cut or stalls sends the request again while the retry budget allows.
    pub async fn send_read(&self, req: &Request, limit: Limit) -> Result<Answer, TransportError> {
        // `Err(Ok(e))`: the request failed (the transport has retried it already);
        // `Err(Err(e))`: its answer was cut or stalled while read, worth sending it again.
        let read_once = || async {
            let resp = self.send(req).await.map_err(Ok)?;
            let (status, headers, url) =
                (resp.status(), resp.headers().clone(), resp.url().clone());
            let success = status.is_success();
            let limit = if success { limit } else { Limit::ERROR_BODY };
            let body = match self.reader(resp, req.method.as_str()).collect(limit).await {
                Ok(body) => body,
                Err(e) if !success => {
                    tracing::debug!("error body not read: {e}");
                    Bytes::new()
                }
                Err(e) => return Err(Err(e)),
            };
            Ok(Answer {
                status: status.as_u16(),
                headers,
                url,
                body,
            })
        };
        self.budget()
            .retry(
                read_once,
                |result, _| match result {
                    Err(Err(e)) if req.retry && e.is_retryable() => Some(None),
                    _ => None,
                },
                |result, retrier, wait| {
                    if let Err(Err(error)) = result {
                        RetryNotice {
                            what: &format!(
                                "{} {} (reading the answer)",
                                req.method,
                                what(&req.url)
                            ),
                            reason: &error.brief(),
                            wait,
                            attempt: retrier.attempt(),
                            max: retrier.max(),
                        }
                        .log(true);
                    }
                },
            )
            .await
            .map_err(|e| e.unwrap_or_else(|e| e))
    }
}
