//! Hostile answers of the test proxy ([`super::proxy`]): a server that takes the
//! request and never answers, one that sends its answer one byte at a time, an answer with
//! a body of hundreds of MiB (streamed, never held in memory), and an error whose message
//! echoes the request's `Authorization` with control characters and 60 KiB more text, a
//! `401` whose challenge names a realm of its own, a connection closed unanswered, a `206`
//! with the `Content-Range` a test gives, and a tag list of as many pages of made-up tags
//! as a test asks for.
//! Nothing is forwarded to the registry for these.

use std::io::{self, Read};
use std::thread;
use std::time::{Duration, Instant};

use super::http::{header, Exchange, Head};

/// A hostile answer to matching requests, `times` times (`u32::MAX`: always).
#[derive(Clone, Debug)]
pub struct Hostile {
    /// `None`: any method.
    pub method: Option<&'static str>,
    /// Substring of the path (and query) that must match.
    pub path_contains: &'static str,
    pub times: u32,
    pub kind: HostileKind,
}

#[derive(Clone, Debug)]
pub enum HostileKind {
    /// Read the request, never answer (until the client goes away or 5 minutes pass).
    Silent,
    /// `status` with a body of `len` bytes, one byte every `every`.
    Trickle {
        status: u16,
        len: u64,
        every: Duration,
    },
    /// `status` with a body of `len` bytes (`A`s on one line).
    Huge { status: u16, len: u64 },
    /// `400 DENIED` whose message quotes the request's `Authorization`, an escape sequence,
    /// a newline, and 60 KiB of text (the whole still under the 64 KiB kept of an error body).
    EchoAuthorization,
    /// `401` with this `WWW-Authenticate` (storage or a CDN that wants a token of its own
    /// realm).
    Challenge(String),
    /// Close the connection as soon as the request is read, answering nothing.
    Hangup,
    /// `206 Partial Content` with this `Content-Range` and a body of `len` bytes, whatever
    /// the request's `Range`.
    Partial {
        content_range: &'static str,
        len: u64,
    },
    /// A tag list of `pages` pages of `per_page` made-up tags (`<prefix><page>x<n>`, hex
    /// after the prefix), each page but the last with `Link: <...?last=page-P>; rel="next"`.
    TagPages {
        prefix: &'static str,
        per_page: usize,
        pages: usize,
    },
}

impl Hostile {
    pub fn new(
        method: Option<&'static str>,
        path_contains: &'static str,
        kind: HostileKind,
    ) -> Self {
        Hostile {
            method,
            path_contains,
            times: u32::MAX,
            kind,
        }
    }
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }
    pub fn matches(&self, head: &Head) -> bool {
        self.method.is_none_or(|m| m == head.method) && head.target.contains(self.path_contains)
    }
}

impl HostileKind {
    /// The status the answer sends (0: none).
    pub fn status(&self) -> u16 {
        match self {
            HostileKind::Silent | HostileKind::Hangup => 0,
            HostileKind::Trickle { status, .. } | HostileKind::Huge { status, .. } => *status,
            HostileKind::Partial { .. } => 206,
            HostileKind::TagPages { .. } => 200,
            HostileKind::EchoAuthorization => 400,
            HostileKind::Challenge(_) => 401,
        }
    }
}

/// Answers the exchange as `kind` says.
pub fn answer(ex: &mut Exchange, kind: &HostileKind) -> io::Result<()> {
    match kind {
        HostileKind::Silent => silent(ex),
        HostileKind::Trickle { status, len, every } => trickle(ex, *status, *len, *every),
        HostileKind::Huge { status, len } => huge(ex, *status, *len),
        HostileKind::Hangup => {
            ex.hang_up();
            Ok(())
        }
        HostileKind::Partial { content_range, len } => {
            let h = [("Content-Range", *content_range)];
            let body = vec![b'x'; *len as usize];
            whole(ex, 206, "application/octet-stream", &h, &body)
        }
        HostileKind::TagPages {
            prefix,
            per_page,
            pages,
        } => tag_page(ex, prefix, *per_page, *pages),
        HostileKind::EchoAuthorization => echo_authorization(ex),
        HostileKind::Challenge(challenge) => {
            let h = [("WWW-Authenticate", challenge.as_str())];
            ex.write_head(401, &headers(&h, None, 0))?;
            ex.end()?;
            Ok(())
        }
    }
}

/// `Content-Type` (when given), `extra`, then `Content-Length: len`.
fn headers(extra: &[(&str, &str)], content_type: Option<&str>, len: u64) -> Vec<(String, String)> {
    let own = |(k, v): &(&str, &str)| (k.to_string(), v.to_string());
    let mut h: Vec<_> = content_type
        .map(|t| ("Content-Type", t))
        .iter()
        .map(own)
        .collect();
    h.extend(extra.iter().map(own));
    h.push(("Content-Length".into(), len.to_string()));
    h
}

/// A whole answer: status, `Content-Type`, `extra` headers, `body`.
fn whole(
    ex: &mut Exchange,
    status: u16,
    content_type: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    ex.write_head(
        status,
        &headers(extra, Some(content_type), body.len() as u64),
    )?;
    ex.write_raw(body)?;
    ex.end()?;
    Ok(())
}

/// Reads whatever the client sends and never answers, until it goes away (5 minutes at
/// most).
fn silent(ex: &mut Exchange) -> io::Result<()> {
    let client = ex.client();
    client.set_read_timeout(Some(Duration::from_millis(200)))?;
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    while started.elapsed() < Duration::from_secs(300) {
        match client.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// A body of `len` spaces, one every `every`.
fn trickle(ex: &mut Exchange, status: u16, len: u64, every: Duration) -> io::Result<()> {
    ex.write_head(status, &headers(&[], Some("application/json"), len))?;
    for _ in 0..len {
        ex.write_raw(b" ")?;
        thread::sleep(every);
    }
    Ok(())
}

/// A body of `len` `A`s, streamed in 64 KiB pieces.
fn huge(ex: &mut Exchange, status: u16, len: u64) -> io::Result<()> {
    ex.write_head(status, &headers(&[], Some("text/plain"), len))?;
    let piece = vec![b'A'; 64 << 10];
    let mut left = len;
    while left > 0 {
        let n = left.min(piece.len() as u64) as usize;
        ex.write_raw(&piece[..n])?;
        left -= n as u64;
    }
    ex.end()?;
    Ok(())
}

/// The page of made-up tags the request's `last=page-P` asks for, with a `Link` to the
/// next page but on the last.
fn tag_page(ex: &mut Exchange, prefix: &str, per_page: usize, pages: usize) -> io::Result<()> {
    let page: usize = ex
        .head
        .target
        .split_once("last=page-")
        .and_then(|(_, p)| p.split('&').next()?.parse().ok())
        .unwrap_or(0);
    let tags: Vec<String> = (0..per_page)
        .map(|n| format!("{prefix}{page:08x}{n:08x}"))
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({"name": "app", "tags": tags})).expect("JSON");
    let link = format!(
        "<{}?n={per_page}&last=page-{}>; rel=\"next\"",
        ex.head.path(),
        page + 1
    );
    let mut h = headers(&[], Some("application/json"), body.len() as u64);
    if page + 1 < pages {
        h.push(("Link".into(), link));
    }
    ex.write_head(200, &h)?;
    ex.write_raw(&body)?;
    ex.end()?;
    Ok(())
}

/// `400 DENIED` quoting the request's `Authorization`, control characters and 60 KiB more.
fn echo_authorization(ex: &mut Exchange) -> io::Result<()> {
    let auth = header(&ex.head.headers, "authorization").unwrap_or("(none)");
    let message = format!(
        "request had Authorization: {auth}\\n\\u001b[2J\\u001b[31mgotcha {}",
        "B".repeat(60 << 10)
    );
    let body = format!(r#"{{"errors":[{{"code":"DENIED","message":"{message}"}}]}}"#);
    whole(ex, 400, "application/json", &[], body.as_bytes())
}
