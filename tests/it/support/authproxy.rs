//! An HTTP/1.1 relay for auth tests, in front of a real registry (std threads, one request
//! per connection, `Connection: close` both ways): records every request's headers,
//! optionally replaces `Authorization` on the way upstream (standing for storage that
//! authorises by URL), rewrites absolute `Location` answers to point at another authority
//! (to send a client's upload elsewhere), answers upload `Location`s outside `/v2/` as
//! Google Artifact Registry does (`/artifacts-uploads/...`, mapped back on the way in), and
//! throttles request bodies (to make a push outlast a token). It never changes statuses or
//! bodies.
//!
//! ```ignore
//! let foreign = Relay::start(RelayOptions::new(&reg.host).bind("127.0.0.2").inject_auth(basic));
//! let front = Relay::start(RelayOptions::new(&reg.host).location_to(&foreign.host));
//! // push to front.host: uploads go to foreign.host; foreign.requests() shows their headers
//! ```

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::proxy_http::{header, read_head};
use super::server::Server;

#[derive(Clone, Debug)]
pub struct RelayOptions {
    upstream: String,
    bind: String,
    inject_auth: Option<String>,
    location_to: Option<String>,
    body_bytes_per_sec: Option<u64>,
    gar_uploads: bool,
}

impl RelayOptions {
    /// Relays to `upstream` (`127.0.0.1:PORT`), listening on 127.0.0.1.
    pub fn new(upstream: &str) -> Self {
        RelayOptions {
            upstream: upstream.to_string(),
            bind: "127.0.0.1".into(),
            inject_auth: None,
            location_to: None,
            body_bytes_per_sec: None,
            gar_uploads: false,
        }
    }

    /// Listen on this loopback address instead (`127.0.0.2`: another host).
    pub fn bind(mut self, addr: &str) -> Self {
        self.bind = addr.to_string();
        self
    }

    /// Send upstream `Authorization: <value>` in place of whatever the client sent.
    pub fn inject_auth(mut self, value: &str) -> Self {
        self.inject_auth = Some(value.to_string());
        self
    }

    /// Rewrite `Location: http://<any>/<path>` answers to `http://<authority>/<path>`.
    pub fn location_to(mut self, authority: &str) -> Self {
        self.location_to = Some(authority.to_string());
        self
    }

    /// Google Artifact Registry's upload Locations: answers' upload `Location`s become
    /// relative `/artifacts-uploads/v2/...` (outside `/v2/`), mapped back on the way in.
    pub fn gar_uploads(mut self) -> Self {
        self.gar_uploads = true;
        self
    }

    /// Forward request bodies at most this fast.
    pub fn throttle(mut self, bytes_per_sec: u64) -> Self {
        self.body_bytes_per_sec = Some(bytes_per_sec);
        self
    }
}

/// One relayed request.
#[derive(Clone, Debug)]
pub struct Relayed {
    pub method: String,
    pub target: String,
    /// Headers as received from the client.
    pub headers: Vec<(String, String)>,
    pub status: u16,
}

impl Relayed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running relay; stopped on drop.
pub struct Relay {
    /// `ADDR:PORT`, to put in references.
    pub host: String,
    log: Arc<Mutex<Vec<Relayed>>>,
    /// Accepting stops when the relay is dropped.
    _server: Server,
}

impl Relay {
    pub fn start(opts: RelayOptions) -> Relay {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (l, o) = (log.clone(), opts.clone());
        let server = Server::start(&opts.bind, "the relay", move |conn| {
            if let Some(r) = relay_one(conn, &o) {
                l.lock().unwrap().push(r);
            }
        });
        Relay {
            host: server.host.clone(),
            log,
            _server: server,
        }
    }

    /// Every request relayed so far (those whose answer came back), in order of answer.
    pub fn requests(&self) -> Vec<Relayed> {
        self.log.lock().unwrap().clone()
    }
}

fn relay_one(client: TcpStream, o: &RelayOptions) -> Option<Relayed> {
    let _ = client.set_read_timeout(Some(Duration::from_secs(60)));
    let mut from_client = BufReader::new(client.try_clone().ok()?);
    let (line, headers) = read_head(&mut from_client).ok()??;
    let mut parts = line.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let len: u64 = header(&headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);

    let upstream = TcpStream::connect(&o.upstream).ok()?;
    let _ = upstream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut up_w = upstream.try_clone().ok()?;
    let upstream_target = match target.strip_prefix(GAR_PREFIX) {
        Some(rest) if o.gar_uploads => rest.to_string(),
        _ => target.clone(),
    };
    let mut head = format!("{method} {upstream_target} HTTP/1.1\r\n");
    for (k, v) in &headers {
        let skip = k.eq_ignore_ascii_case("connection")
            || (o.inject_auth.is_some() && k.eq_ignore_ascii_case("authorization"));
        if !skip {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if let Some(a) = &o.inject_auth {
        head.push_str(&format!("Authorization: {a}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    up_w.write_all(head.as_bytes()).ok()?;
    // The body, throttled in 16 KiB steps.
    let started = Instant::now();
    let mut left = len;
    let mut sent = 0u64;
    const STEP: u64 = 16 << 10;
    let mut buf = vec![0u8; STEP as usize];
    while left > 0 {
        let n = from_client.read(&mut buf[..left.min(STEP) as usize]).ok()?;
        if n == 0 {
            return None;
        }
        up_w.write_all(&buf[..n]).ok()?;
        left -= n as u64;
        sent += n as u64;
        if let Some(rate) = o.body_bytes_per_sec {
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                thread::sleep(wait);
            }
        }
    }
    let mut from_up = BufReader::new(upstream);
    let (status_line, resp_headers) = read_head(&mut from_up).ok()??;
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let mut out = format!("{status_line}\r\n");
    for (k, v) in &resp_headers {
        if k.eq_ignore_ascii_case("connection") {
            continue;
        }
        let v = match (&o.location_to, k.eq_ignore_ascii_case("location")) {
            (Some(to), true) => rewrite_location(v, to),
            (None, true) if o.gar_uploads && v.contains("/blobs/uploads/") => {
                format!("{GAR_PREFIX}{}", path_of(v))
            }
            _ => v.clone(),
        };
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut client_w = client;
    client_w.write_all(out.as_bytes()).ok()?;
    let mut rest = Vec::new();
    let _ = from_up.read_to_end(&mut rest);
    let _ = client_w.write_all(&rest);
    let _ = client_w.flush();
    Some(Relayed {
        method,
        target,
        headers,
        status,
    })
}

const GAR_PREFIX: &str = "/artifacts-uploads";

/// `http://a/p?q` -> `/p?q`; a relative Location as it is.
fn path_of(v: &str) -> &str {
    match v.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => v,
    }
}

/// `http://a/p?q` -> `http://<to>/p?q`; relative Locations become absolute on `<to>`.
fn rewrite_location(v: &str, to: &str) -> String {
    format!("http://{to}{}", path_of(v))
}
