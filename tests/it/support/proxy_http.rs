//! HTTP/1.1 wire helpers of the test servers: the one parser of request and response heads
//! ([`read_head`], used by the proxies, relays, the token issuer and the registry client),
//! reading a body (whole, cut short, or throttled), a chunked response body, and writing an
//! answer with `Connection: close`. Knows nothing of registries.

use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// A request line and headers.
pub struct Head {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
}

pub fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Headers in the order received, names as sent.
pub type Headers = Vec<(String, String)>;

/// The first line and the headers of a request or response; `None` at end of stream.
pub fn read_head(r: &mut impl BufRead) -> std::io::Result<Option<(String, Headers)>> {
    let mut first = String::new();
    if r.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Some((first.trim_end().to_string(), headers)))
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

pub fn set(h: &mut Vec<(String, String)>, name: &str, value: &str) {
    h.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    h.push((name.to_string(), value.to_string()));
}

/// Reads `upto` of the `len` bytes of a body (all of them when `upto == len`).
pub fn read_body(
    r: &mut impl Read,
    len: u64,
    upto: u64,
    throttle: Option<u64>,
) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(upto as usize);
    let mut buf = vec![0u8; 64 << 10];
    let started = Instant::now();
    while (out.len() as u64) < upto {
        let want = buf.len().min((upto - out.len() as u64) as usize);
        let n = r.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("body ended at {} of {len}", out.len()),
            ));
        }
        out.extend_from_slice(&buf[..n]);
        if let Some(rate) = throttle {
            let due = Duration::from_secs_f64(out.len() as f64 / rate as f64);
            if let Some(d) = due.checked_sub(started.elapsed()) {
                thread::sleep(d);
            }
        }
    }
    Ok(out)
}

pub fn read_response_body(
    r: &mut impl BufRead,
    h: &[(String, String)],
) -> std::io::Result<Vec<u8>> {
    if header(h, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut out = Vec::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(std::io::Error::other)?;
            let mut chunk = vec![0u8; size + 2];
            r.read_exact(&mut chunk)?;
            if size == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&chunk[..size]);
        }
    }
    let mut out = Vec::new();
    match header(h, "content-length").and_then(|v| v.parse::<u64>().ok()) {
        Some(n) => {
            r.take(n).read_to_end(&mut out)?;
        }
        None => {
            r.read_to_end(&mut out)?;
        }
    }
    Ok(out)
}

pub fn respond(
    client: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    keep_length: bool,
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        let skip = ["connection", "transfer-encoding"]
            .iter()
            .any(|n| k.eq_ignore_ascii_case(n))
            || (!keep_length && k.eq_ignore_ascii_case("content-length"));
        if !skip {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !keep_length {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("Connection: close\r\n\r\n");
    client.write_all(out.as_bytes())?;
    client.write_all(body)?;
    client.flush()?;
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
