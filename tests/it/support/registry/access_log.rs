//! The registry's access log read back: every request it served, in order, as [`Request`]s
//! (method, URI, status, user agent), so tests count requests and round trips.

use std::fs;

use super::Registry;

/// One line of the registry's access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Request target as sent, query string included.
    pub uri: String,
    pub status: u16,
    /// `User-Agent` as sent (the HTTP helpers here send [`USER_AGENT`](crate::support::http::client::USER_AGENT)).
    pub user_agent: String,
}

impl Request {
    /// The request target without its query string.
    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or("")
    }
}

impl Registry {
    /// The whole log so far: registry log lines (`time="..." level=... msg=...`) and access
    /// log lines (`127.0.0.1 - - [date] "GET /v2/ HTTP/1.1" 200 2 "" "user-agent"`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Every request served so far, in order, parsed from the access log.
    pub fn access_log(&self) -> Vec<Request> {
        self.log().lines().filter_map(parse_access_line).collect()
    }

    /// The requests served after the first `before` (take `access_log().len()` before
    /// running a client to get what the client asked for).
    pub fn access_log_since(&self, before: usize) -> Vec<Request> {
        self.access_log().into_iter().skip(before).collect()
    }

    /// `(method, path)` of every request served so far, in order; the path has no query
    /// string (see [`Registry::access_log`] for the full URI, status and user agent). This
    /// includes the harness's own: the readiness probe `GET /v2/` first, and the helper
    /// calls (`tag_exists`, `tags`...), which carry the user agent [`USER_AGENT`](crate::support::http::client::USER_AGENT). To count
    /// a client's requests, take `len()` before running it and look at the rest after.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.access_log()
            .into_iter()
            .map(|r| (r.method.clone(), r.path().to_string()))
            .collect()
    }
}

/// Parses `127.0.0.1 - - [29/Nov/2026:02:04:19 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "ua"`.
fn parse_access_line(line: &str) -> Option<Request> {
    if line.starts_with("time=") {
        return None;
    }
    let start = line.find("] \"")? + 3;
    let rest = &line[start..];
    let end = rest.find('"')?;
    let mut request_line = rest[..end].split(' ');
    let method = request_line.next()?.to_string();
    let uri = request_line.next()?.to_string();
    let mut tail = rest[end + 1..].trim_start();
    let (status, after_status) = tail.split_once(' ')?;
    let status = status.parse().ok()?;
    tail = after_status.trim_start();
    // Response size, then the quoted referer and the quoted user agent.
    let (_size, quoted) = tail.split_once(' ').unwrap_or((tail, ""));
    let (_referer, quoted) = take_quoted(quoted.trim_start()).unwrap_or_default();
    let (user_agent, _) = take_quoted(quoted.trim_start()).unwrap_or_default();
    Some(Request {
        method,
        uri,
        status,
        user_agent,
    })
}

/// Splits `"text with \" escapes" rest` into (unescaped text, rest).
fn take_quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, e)) = chars.next() {
                    out.push(e);
                }
            }
            '"' => return Some((out, &body[i + 1..])),
            _ => out.push(c),
        }
    }
    None
}
