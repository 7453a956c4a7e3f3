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

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{head_text, remove, serve, Exchange, Head, Headers, Piece, Upstream};
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
        let timeout = Duration::from_secs(60);
        let server = serve(&opts.bind, "the relay", timeout, move |ex| {
            relay_one(ex, &o, &l);
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

/// Relays one request: its head (target and `Authorization` as the options say), its body
/// (paced), then the answer with its `Location` rewritten and its body byte for byte. The
/// request is logged when the upstream's answer arrives, before the client gets it (a
/// client done with its last answer may be the test reading the log).
fn relay_one(mut ex: Exchange, o: &RelayOptions, log: &Mutex<Vec<Relayed>>) -> Option<()> {
    let Head {
        method,
        target,
        headers,
    } = ex.head.clone();
    let upstream_target = match target.strip_prefix(GAR_PREFIX) {
        Some(rest) if o.gar_uploads => rest.to_string(),
        _ => target.clone(),
    };
    let mut up = Upstream::send(
        &o.upstream,
        &method,
        &upstream_target,
        &upstream_headers(&headers, o),
    )
    .ok()?;
    let len = ex.len();
    up.stream_body(ex.body(), len, o.body_bytes_per_sec).ok()?;
    let mut answer = up.answer().ok()?;
    let mut out = answer.headers.clone();
    remove(&mut out, "connection");
    for (_, v) in out
        .iter_mut()
        .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
    {
        *v = relocate(v, o);
    }
    out.push(("Connection".into(), "close".into()));
    log.lock().unwrap().push(Relayed {
        method,
        target,
        headers,
        status: answer.status,
    });
    ex.write_raw(head_text(&answer.status_line, &out).as_bytes())
        .ok()?;
    let _ = answer.pipe_body(ex.client(), |_, _| Piece::Send);
    let _ = ex.end();
    Some(())
}

/// The client's headers as sent upstream: `Authorization` replaced when the options say.
fn upstream_headers(headers: &Headers, o: &RelayOptions) -> Headers {
    let mut h = headers.clone();
    if let Some(a) = &o.inject_auth {
        remove(&mut h, "authorization");
        h.push(("Authorization".into(), a.clone()));
    }
    h
}

/// A `Location` of the registry's answer as the options say: onto another authority, or
/// (Google Artifact Registry) an upload's outside `/v2/`.
fn relocate(v: &str, o: &RelayOptions) -> String {
    match &o.location_to {
        Some(to) => rewrite_location(v, to),
        None if o.gar_uploads && v.contains("/blobs/uploads/") => {
            format!("{GAR_PREFIX}{}", path_of(v))
        }
        None => v.to_string(),
    }
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
