//! HTTP/1.1 heads: reading one (bounded: [`MAX_HEAD`] bytes, [`MAX_HEADERS`] headers; the
//! header block parsed by `httparse`), the request and status lines, header lists (names as
//! sent, in order), and the text of a head to write.

use std::io::{self, BufRead, Read};

/// The most bytes a head may take (request line or status line, headers, empty line).
/// Google Artifact Registry's 32 KiB upload header fits; a peer sending more is cut off.
pub const MAX_HEAD: usize = 1 << 20;
/// The most headers a head may carry.
pub const MAX_HEADERS: usize = 256;

/// Headers in the order received, names as sent.
pub type Headers = Vec<(String, String)>;

/// A request line and its headers.
#[derive(Clone, Debug)]
pub struct Head {
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    pub headers: Headers,
}

impl Head {
    /// The request head on `r`; `None` at end of stream.
    pub fn read(r: &mut impl BufRead) -> io::Result<Option<Head>> {
        let Some((line, headers)) = read_head(r)? else {
            return Ok(None);
        };
        let mut parts = line.split(' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if method.is_empty() || target.is_empty() {
            return Err(bad(format!("bad request line {line:?}")));
        }
        Ok(Some(Head {
            method: method.to_string(),
            target: target.to_string(),
            headers,
        }))
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// `Content-Length` of the request (0 when absent or unreadable).
    pub fn content_length(&self) -> u64 {
        content_length(&self.headers).unwrap_or(0)
    }
}

/// The value of header `name` (any case), the first if repeated.
pub fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Sets header `name` to `value`, replacing every earlier one of that name.
pub fn set(h: &mut Headers, name: &str, value: &str) {
    remove(h, name);
    h.push((name.to_string(), value.to_string()));
}

/// Removes every header `name` (any case).
pub fn remove(h: &mut Headers, name: &str) {
    h.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
}

/// `Content-Length`, when present and a number.
pub fn content_length(h: &[(String, String)]) -> Option<u64> {
    header(h, "content-length").and_then(|v| v.trim().parse().ok())
}

/// The status code of a status line (`HTTP/1.1 200 OK`).
pub fn status_of(status_line: &str) -> Option<u16> {
    status_line.split(' ').nth(1).and_then(|c| c.parse().ok())
}

/// The first line (request or status line) and the headers of a request or response;
/// `None` at end of stream. Refuses a head over [`MAX_HEAD`] bytes or [`MAX_HEADERS`]
/// headers, or one `httparse` cannot read.
pub fn read_head(r: &mut impl BufRead) -> io::Result<Option<(String, Headers)>> {
    let raw = read_raw_head(r)?;
    if raw.is_empty() {
        return Ok(None);
    }
    let nl = raw.iter().position(|&b| b == b'\n').unwrap_or(raw.len());
    let first = String::from_utf8_lossy(&raw[..nl]).trim_end().to_string();
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let block = &raw[(nl + 1).min(raw.len())..];
    let block = if block.is_empty() {
        &b"\r\n"[..]
    } else {
        block
    };
    let parsed = match httparse::parse_headers(block, &mut slots) {
        Ok(httparse::Status::Complete((_, parsed))) => parsed,
        Ok(httparse::Status::Partial) => return Err(bad("head ended early")),
        Err(e) => return Err(bad(format!("bad header after {first:?}: {e}"))),
    };
    let headers = parsed
        .iter()
        .map(|h| {
            let v = String::from_utf8_lossy(h.value).trim().to_string();
            (h.name.to_string(), v)
        })
        .collect();
    Ok(Some((first, headers)))
}

/// The bytes of one head, up to and including its empty line (empty at end of stream).
fn read_raw_head(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    loop {
        let before = raw.len();
        let n = Read::take(&mut *r, (MAX_HEAD - before) as u64).read_until(b'\n', &mut raw)?;
        if n == 0 {
            return match before {
                0 => Ok(raw),
                _ => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("head cut short after {before} bytes"),
                )),
            };
        }
        let line = &raw[before..];
        if before > 0 && (line == b"\r\n" || line == b"\n") {
            return Ok(raw);
        }
        if raw.len() >= MAX_HEAD {
            return Err(bad(format!("head over {MAX_HEAD} bytes")));
        }
    }
}

/// The text of a head: `first` (a request or status line), the headers as `Name: value`
/// lines, and the empty line that ends it.
pub fn head_text(first: &str, headers: &[(String, String)]) -> String {
    let mut out = format!("{first}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out
}

/// The reason phrase of `status` (`Status` for one the tests do not use).
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// An `InvalidData` error saying `msg`.
pub fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}
