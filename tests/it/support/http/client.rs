//! The tests' blocking HTTP/1.1 client: one request per connection (`Connection: close`)
//! over `std::net::TcpStream`, the answer read to the end and parsed by the kit ([`super::head`],
//! [`super::body`]). For checks of a registry or server beside the client under test.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::body::read_response_body;
use super::head::{bad, read_head, status_of};

/// Timeout for connecting to and reading from a server in the HTTP helpers.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// `User-Agent` of the HTTP helpers and the readiness probe, so that tests can tell their
/// requests apart from the client's in [`Registry::access_log`].
pub const USER_AGENT: &str = "werf-push-test-support";

/// Status, headers (in the order received, names as sent), body.
pub type HttpResponse = (u16, Vec<(String, String)>, Vec<u8>);

/// GET `url` (http:// only), `Connection: close`. Panics if the server cannot be reached.
pub fn http_get(url: &str) -> HttpResponse {
    http_request("GET", url, &[], &[])
}

/// HEAD `url` (http:// only). Panics if the server cannot be reached.
pub fn http_head(url: &str, headers: &[(&str, &str)]) -> HttpResponse {
    http_request("HEAD", url, headers, &[])
}

/// One HTTP/1.1 request with `Connection: close` (and `Content-Length` when a body or a
/// method other than GET/HEAD is given). Panics if the server cannot be reached.
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    try_http_request(method, url, headers, body, HTTP_TIMEOUT)
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// Like [`http_request`] but returns I/O errors (refused, reset, timeout, bad response).
pub fn try_http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<HttpResponse> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("only http:// URLs are supported: {url}"),
        )
    })?;
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;

    let mut req =
        format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
    {
        req.push_str(&format!("User-Agent: {USER_AGENT}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || !matches!(method, "GET" | "HEAD") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw, method == "HEAD")
}

fn parse_response(raw: &[u8], head: bool) -> io::Result<HttpResponse> {
    if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        return Err(bad(format!(
            "incomplete response head ({} bytes)",
            raw.len()
        )));
    }
    let mut rest = raw;
    let (status_line, headers) = read_head(&mut rest)?.unwrap_or_default();
    let status =
        status_of(&status_line).ok_or_else(|| bad(format!("bad status line: {status_line:?}")))?;
    let body = if head || status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        read_response_body(&mut rest, &headers)?
    };
    Ok((status, headers, body))
}
