//! One request to a registry, as the layers above build it: method, URL, headers, a
//! replayable body, and what the transport may do with it (retry, follow redirects, which
//! repository its token scope names). Knows nothing of sending.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use url::Url;

use super::Body;

/// One request; its body can be replayed, so the transport may retry it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The HTTP method.
    pub method: Method,
    /// The absolute URL (the registry's, or an upload `Location` elsewhere).
    pub url: Url,
    /// Headers to send (`Authorization` and `Content-Length` are the transport's).
    pub headers: HeaderMap,
    /// The body, sent again as it is on a retry.
    pub body: Body,
    /// Whether the transport may send it again after a failure. Upload data requests are
    /// not: the push layer resumes them from what the registry confirmed.
    pub retry: bool,
    /// The repository a request outside `/v2/<name>/` acts on (an upload `Location` such as
    /// Google Artifact Registry's `/artifacts-uploads/...`), for its token scope.
    pub repository: Option<String>,
    /// Whether redirects are followed (not for existence checks: GHCR's 307 to storage).
    pub follow_redirects: bool,
}

impl Request {
    /// `method` on `url`: no headers, no body, retried, redirects followed.
    pub fn new(method: Method, url: Url) -> Request {
        Request {
            method,
            url,
            headers: HeaderMap::new(),
            body: Body::Empty,
            retry: true,
            repository: None,
            follow_redirects: true,
        }
    }

    /// Sets the header `name: value`, replacing one set before (a value not allowed in a
    /// header is left out).
    pub fn header(mut self, name: HeaderName, value: &str) -> Request {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Body) -> Request {
        self.body = body;
        self
    }

    /// Names the repository the request acts on (see [`Request::repository`]).
    pub fn repository(mut self, repo: &str) -> Request {
        self.repository = Some(repo.to_string());
        self
    }

    /// The transport sends it once: its caller retries (an upload resumed from what the
    /// registry confirmed).
    pub fn no_retry(mut self) -> Request {
        self.retry = false;
        self
    }

    /// A redirect is the answer (existence checks).
    pub fn no_redirect(mut self) -> Request {
        self.follow_redirects = false;
        self
    }
}
