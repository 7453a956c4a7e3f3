//! Hostile answers of the test proxy ([`super::proxy`]): a server that takes the
//! request and never answers, one that sends its answer one byte at a time, an answer with
//! a body of hundreds of MiB (streamed, never held in memory), and an error whose message
//! echoes the request's `Authorization` with control characters and 60 KiB more text, a
//! `401` whose challenge names a realm of its own, a connection closed unanswered, a `206`
//! with the `Content-Range` a test gives, and a tag list of as many pages of made-up tags
//! as a test asks for.
//! Nothing is forwarded to the registry for these.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::proxy_http::{header, reason, Head};

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

fn write_head(
    client: &mut TcpStream,
    status: u16,
    content_type: &str,
    len: u64,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
        reason(status)
    );
    client.write_all(head.as_bytes())
}

/// Answers `head` on `client` as `kind` says; returns the status sent (0: none).
pub fn answer(client: &mut TcpStream, head: &Head, kind: &HostileKind) -> std::io::Result<u16> {
    match kind {
        HostileKind::Silent => {
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
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
            Ok(0)
        }
        HostileKind::Trickle { status, len, every } => {
            write_head(client, *status, "application/json", *len)?;
            for _ in 0..*len {
                client.write_all(b" ")?;
                thread::sleep(*every);
            }
            Ok(*status)
        }
        HostileKind::Huge { status, len } => {
            write_head(client, *status, "text/plain", *len)?;
            let piece = vec![b'A'; 64 << 10];
            let mut left = *len;
            while left > 0 {
                let n = left.min(piece.len() as u64) as usize;
                client.write_all(&piece[..n])?;
                left -= n as u64;
            }
            let _ = client.shutdown(Shutdown::Write);
            Ok(*status)
        }
        HostileKind::Hangup => {
            let _ = client.shutdown(Shutdown::Both);
            Ok(0)
        }
        HostileKind::Partial { content_range, len } => {
            let head = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-stream\r\nContent-Range: {content_range}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
            );
            client.write_all(head.as_bytes())?;
            client.write_all(&vec![b'x'; *len as usize])?;
            let _ = client.shutdown(Shutdown::Write);
            Ok(206)
        }
        HostileKind::TagPages {
            prefix,
            per_page,
            pages,
        } => {
            let page: usize = head
                .target
                .split_once("last=page-")
                .and_then(|(_, p)| p.split('&').next()?.parse().ok())
                .unwrap_or(0);
            let tags: Vec<String> = (0..*per_page)
                .map(|n| format!("{prefix}{page:08x}{n:08x}"))
                .collect();
            let body = serde_json::to_vec(&serde_json::json!({"name": "app", "tags": tags}))
                .expect("JSON");
            let path = head.target.split('?').next().unwrap_or("");
            let link = if page + 1 < *pages {
                format!(
                    "Link: <{path}?n={per_page}&last=page-{}>; rel=\"next\"\r\n",
                    page + 1
                )
            } else {
                String::new()
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{link}Connection: close\r\n\r\n",
                body.len()
            );
            client.write_all(head.as_bytes())?;
            client.write_all(&body)?;
            let _ = client.shutdown(Shutdown::Write);
            Ok(200)
        }
        HostileKind::EchoAuthorization => {
            let auth = header(&head.headers, "authorization").unwrap_or("(none)");
            let message = format!(
                "request had Authorization: {auth}\\n\\u001b[2J\\u001b[31mgotcha {}",
                "B".repeat(60 << 10)
            );
            let body = format!(r#"{{"errors":[{{"code":"DENIED","message":"{message}"}}]}}"#);
            write_head(client, 400, "application/json", body.len() as u64)?;
            client.write_all(body.as_bytes())?;
            let _ = client.shutdown(Shutdown::Write);
            Ok(400)
        }
        HostileKind::Challenge(challenge) => {
            let head = format!(
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {challenge}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            client.write_all(head.as_bytes())?;
            let _ = client.shutdown(Shutdown::Write);
            Ok(401)
        }
    }
}
