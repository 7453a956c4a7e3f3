//! A fault and quirk proxy for integration tests: plain HTTP/1.1, std threads, one
//! connection per exchange (`Connection: close`), in front of a REAL `docker-registry`
//! (never a mock: every request that is not refused or cut is forwarded, and every answer
//! comes from the registry, rewritten only by the quirks switched on).
//!
//! Faults: cut the client's connection at given offsets of the stream of upload bytes
//! (PATCH and blob PUT bodies, counted across requests: [`cut_offsets`] draws them from a
//! seed), answer chosen requests with a status (429 + `Retry-After`, 503, ...) k times or
//! always, throttle request bodies. Quirks of real registries:
//! GHCR's 416 over a PATCH body cap and relative `Location`; ACR's 413 on a large PUT;
//! ECR's 201 to PATCH, stale `Range`, 400 for chunks under 5 MiB, no `Location` on manifest
//! PUT; Google Artifact Registry's `Location` outside `/v2` (mapped back when proxying)
//! and refused PATCH; Docker Hub's and Harbor's 401/403 to mounts; plain-text error bodies;
//! no `Docker-Content-Digest`.
//!
//! Whole request bodies are buffered (test blobs are a few MiB) and forwarded only when
//! complete, so a cut never leaves a partial chunk in the registry: what the registry
//! confirms afterwards (`GET` upload status) is exactly the chunks before the cut.
//! [`Proxy::stats`] counts faults injected, quirks applied and upload bytes received, so
//! tests can report them.

use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::layouts::XorShift;
use super::proxy_hostile::{answer, Hostile};
use super::proxy_http::{header, read_body, read_head, read_response_body, respond, Head};
use super::proxy_quirks::{self, Quirk, QuirkState};
use super::proxy_rules::{refusal, rewrite};
use super::server::Server;

/// Answer matching requests with `status` (nothing forwarded), `times` times.
#[derive(Clone, Debug)]
pub struct StatusFault {
    /// `None`: any method.
    pub method: Option<&'static str>,
    /// Substring of the path (and query) that must match.
    pub path_contains: &'static str,
    pub status: u16,
    /// `u32::MAX`: always.
    pub times: u32,
    pub retry_after: Option<&'static str>,
    /// `(code, message)` of the JSON error body instead of the status's usual one.
    pub body: Option<(&'static str, &'static str)>,
    /// Matching requests passed through before the first refused.
    pub after: u32,
}

impl StatusFault {
    pub fn new(method: Option<&'static str>, path_contains: &'static str, status: u16) -> Self {
        StatusFault {
            method,
            path_contains,
            status,
            times: 1,
            retry_after: None,
            body: None,
            after: 0,
        }
    }
    /// Let the first `n` matching requests through.
    pub fn after(mut self, n: u32) -> Self {
        self.after = n;
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }
    pub fn retry_after(mut self, v: &'static str) -> Self {
        self.retry_after = Some(v);
        self
    }
    pub fn body(mut self, code: &'static str, message: &'static str) -> Self {
        self.body = Some((code, message));
        self
    }
}

/// What the proxy does; everything off by default (a transparent proxy).
#[derive(Clone, Debug, Default)]
pub struct ProxyConfig {
    /// Offsets in the stream of upload body bytes at which the client connection is cut
    /// (each once).
    pub cut_at: Vec<u64>,
    pub status_faults: Vec<StatusFault>,
    /// Request body bytes per second (reading is slowed down).
    pub throttle: Option<u64>,
    /// GHCR: a PATCH body over this is refused with 416.
    pub patch_cap: Option<u64>,
    /// ACR: a blob upload PUT body over this is refused with 413.
    pub put_cap: Option<u64>,
    /// ECR: a PATCH body under this is refused with 400.
    pub min_chunk: Option<u64>,
    /// Google Artifact Registry: PATCH refused with 405.
    pub refuse_patch: bool,
    /// ECR: PATCH answered 201 instead of 202.
    pub patch_201: bool,
    /// ECR: the `Range` of a PATCH answer stays at the previous chunk.
    pub stale_range: bool,
    /// ECR: no `Location` on manifest PUT.
    pub drop_manifest_location: bool,
    /// GHCR: `Location` made relative (`/v2/...`).
    pub relative_location: bool,
    /// Google Artifact Registry: upload `Location` moved outside `/v2`
    /// (`/artifacts-uploads/...`), mapped back when the client uses it.
    pub location_outside_v2: bool,
    /// Older registries: no `Docker-Content-Digest` on any answer.
    pub strip_digest: bool,
    /// Error bodies turned into plain text (Docker Hub, proxies).
    pub plain_text_errors: bool,
    /// Docker Hub / Harbor: a mount (`POST ...?mount=`) answered with this (401/403).
    pub mount_status: Option<u16>,
    /// Hostile answers (silent, trickled, huge, echoing credentials): `proxy_hostile.rs`.
    pub hostile: Vec<Hostile>,
    /// Registry quirks of the push quirks survey (`proxy_quirks.rs`).
    pub quirks: Vec<Quirk>,
    /// docker-registry on object storage during a stall of the store: the first blob
    /// upload `PUT` of at least this many bytes is forwarded and completed by the registry,
    /// and its answer held this long before it is passed on (past the client's timeout).
    pub hold_put_answer: Option<(u64, Duration)>,
}

/// One exchange as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    /// Path and query as the client sent them.
    pub target: String,
    /// The status the client got (0: connection cut).
    pub status: u16,
    /// Content-Length of the request.
    pub len: u64,
    /// When it was answered (or cut).
    pub at: Instant,
    /// When its head arrived.
    pub arrived: Instant,
    /// Requests in flight through the proxy when it arrived, itself included.
    pub in_flight: usize,
}

impl Logged {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    pub fn is_upload_data(&self) -> bool {
        self.method == "PATCH" || (self.method == "PUT" && self.target.contains("/blobs/upload"))
    }
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Requests refused or cut on purpose.
    pub faults: u64,
    /// Answers rewritten by a quirk.
    pub quirks: u64,
    /// Connections cut.
    pub cuts: u64,
    /// Upload body bytes (PATCH and blob PUT) received from the client, cut ones included.
    pub upload_bytes: u64,
    /// Request body bytes forwarded to the registry.
    pub forwarded: u64,
    pub log: Vec<Logged>,
    /// Every request as it arrived (method, target), answered or not.
    pub arrivals: Vec<(String, String)>,
}

struct Shared {
    cfg: ProxyConfig,
    upstream: String,
    stats: Mutex<Stats>,
    /// Position in the stream of upload bytes (reserved per request).
    stream_pos: Mutex<u64>,
    cuts_left: Mutex<Vec<u64>>,
    faults_left: Mutex<Vec<u32>>,
    /// Per status fault, matching requests still to let through (`StatusFault::after`).
    skips_left: Mutex<Vec<u32>>,
    hostile_left: Mutex<Vec<u32>>,
    quirk_state: QuirkState,
    in_flight: std::sync::atomic::AtomicUsize,
    /// Whether `hold_put_answer` was used.
    held: AtomicBool,
}

/// Counts a request out of [`Shared::in_flight`] when its exchange ends.
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct Proxy {
    /// `127.0.0.1:PORT`, to push to.
    pub host: String,
    shared: Arc<Shared>,
    /// Accepting stops when the proxy is dropped.
    _server: Server,
}

/// `n` offsets in `[1, max)` drawn from `seed`, sorted.
pub fn cut_offsets(seed: u64, n: usize, max: u64) -> Vec<u64> {
    let mut r = XorShift::new(seed);
    let mut v: Vec<u64> = (0..n).map(|_| 1 + r.next_u64() % (max - 1)).collect();
    v.sort_unstable();
    v
}

impl Proxy {
    /// Starts a proxy to `upstream` (`127.0.0.1:PORT` of a registry).
    pub fn start(upstream: &str, cfg: ProxyConfig) -> Proxy {
        let shared = Arc::new(Shared {
            faults_left: Mutex::new(cfg.status_faults.iter().map(|f| f.times).collect()),
            skips_left: Mutex::new(cfg.status_faults.iter().map(|f| f.after).collect()),
            hostile_left: Mutex::new(cfg.hostile.iter().map(|h| h.times).collect()),
            cuts_left: Mutex::new(cfg.cut_at.clone()),
            cfg,
            upstream: upstream.to_string(),
            stats: Mutex::default(),
            stream_pos: Mutex::new(0),
            quirk_state: QuirkState::default(),
            in_flight: Default::default(),
            held: AtomicBool::new(false),
        });
        let s = shared.clone();
        let server = Server::start("127.0.0.1", "the fault proxy", move |conn| {
            let _ = handle(&s, conn);
        });
        Proxy {
            host: server.host.clone(),
            shared,
            _server: server,
        }
    }

    pub fn stats(&self) -> Stats {
        self.shared.stats.lock().unwrap().clone()
    }

    /// One line for test output: faults, quirks, cuts, upload bytes received.
    pub fn report(&self, what: &str, blob_bytes: u64) -> String {
        let s = self.stats();
        let line = format!(
            "{what}: {} faults injected ({} cuts), {} quirk rewrites, {} upload bytes received for {} blob bytes: {} re-sent",
            s.faults,
            s.cuts,
            s.quirks,
            s.upload_bytes,
            blob_bytes,
            s.upload_bytes.saturating_sub(blob_bytes)
        );
        println!("{line}");
        line
    }
}

fn handle(s: &Shared, client: TcpStream) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    // A TLS ClientHello (the client tries HTTPS first): answer as Go's HTTP server does.
    let mut first = [0u8; 1];
    if client.peek(&mut first)? == 0 || first[0] == 0x16 {
        let mut c = client;
        let _ = c.write_all(
            b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
        );
        let _ = c.shutdown(Shutdown::Both);
        return Ok(());
    }
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    let Some((line, headers)) = read_head(&mut reader)? else {
        return Ok(());
    };
    let mut parts = line.split(' ');
    let head = Head {
        method: parts.next().unwrap_or("").to_string(),
        target: parts.next().unwrap_or("").to_string(),
        headers,
    };
    let (arrived, in_flight) = (
        Instant::now(),
        s.in_flight.fetch_add(1, Ordering::SeqCst) + 1,
    );
    let _counted = InFlight(&s.in_flight);
    s.stats
        .lock()
        .unwrap()
        .arrivals
        .push((head.method.clone(), head.target.clone()));
    let len: u64 = header(&head.headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let upload =
        head.method == "PATCH" || (head.method == "PUT" && head.target.contains("/blobs/upload"));
    let cfg = &s.cfg;
    let log = |status: u16| {
        s.stats.lock().unwrap().log.push(Logged {
            method: head.method.clone(),
            target: head.target.clone(),
            status,
            len,
            at: Instant::now(),
            arrived,
            in_flight,
        })
    };

    // Where a cut falls in this body, if one does.
    let mut cut = None;
    if upload && len > 0 {
        let mut pos = s.stream_pos.lock().unwrap();
        let mut cuts = s.cuts_left.lock().unwrap();
        if let Some(i) = cuts.iter().position(|&c| c >= *pos && c < *pos + len) {
            cut = Some(cuts.remove(i) - *pos);
        }
        *pos += len;
    }
    let body = read_body(&mut reader, len, cut.unwrap_or(len), cfg.throttle);
    if upload {
        s.stats.lock().unwrap().upload_bytes += body.as_ref().map_or(0, |b| b.len() as u64);
    }
    if cut.is_some() {
        let mut st = s.stats.lock().unwrap();
        st.faults += 1;
        st.cuts += 1;
        drop(st);
        log(0);
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let body = body?;

    // Hostile answers, then refusals: nothing forwarded.
    let hostile = {
        let mut left = s.hostile_left.lock().unwrap();
        let i = cfg
            .hostile
            .iter()
            .enumerate()
            .position(|(i, h)| left[i] > 0 && h.matches(&head));
        if let Some(i) = i {
            if left[i] != u32::MAX {
                left[i] -= 1;
            }
        }
        i.map(|i| cfg.hostile[i].kind.clone())
    };
    if let Some(kind) = hostile {
        s.stats.lock().unwrap().faults += 1;
        let status = answer(&mut client, &head, &kind)?;
        log(status);
        return Ok(());
    }
    let refusal = refusal(&s.cfg, (&s.faults_left, &s.skips_left), &head, len).or_else(|| {
        proxy_quirks::refusal(&cfg.quirks, &s.quirk_state, &s.upstream, &head, len, &body)
    });
    if let Some((status, extra, text)) = refusal {
        s.stats.lock().unwrap().faults += 1;
        log(status);
        if status == 0 {
            // ECR: the connection dropped, no answer.
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        let body = if cfg.plain_text_errors || text.starts_with('{') {
            text.into_bytes()
        } else {
            format!("{text}\n").into_bytes()
        };
        return respond(&mut client, status, &extra, &body, false);
    }

    // Forward, with a GAR-style path mapped back into /v2.
    let target = match head.target.strip_prefix("/artifacts-uploads/") {
        Some(rest) => format!("/v2/{rest}"),
        None => head.target.clone(),
    };
    let mut up = TcpStream::connect(&s.upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut req = format!("{} {} HTTP/1.1\r\n", head.method, target);
    for (k, v) in &head.headers {
        if !k.eq_ignore_ascii_case("connection") {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    req.push_str("Connection: close\r\n\r\n");
    up.write_all(req.as_bytes())?;
    up.write_all(&body)?;
    s.stats.lock().unwrap().forwarded += body.len() as u64;
    let mut ur = BufReader::new(up);
    let (status_line, mut rh) = read_head(&mut ur)?.ok_or_else(|| std::io::Error::other("eof"))?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(502);
    let no_body = head.method == "HEAD" || status == 204 || status == 304 || status < 200;
    let mut rbody = if no_body {
        Vec::new()
    } else {
        read_response_body(&mut ur, &rh)?
    };
    let mut status = status;
    let quirks = rewrite(&s.cfg, &head, &mut status, &mut rh, &mut rbody)
        + proxy_quirks::rewrite(
            &cfg.quirks,
            &s.quirk_state,
            &head,
            &mut status,
            &mut rh,
            &mut rbody,
        );
    if head.method == "HEAD" {
        rbody.clear();
    }
    if quirks > 0 {
        s.stats.lock().unwrap().quirks += quirks;
    }
    if let Some((min, hold)) = cfg.hold_put_answer {
        if upload && head.method == "PUT" && len >= min && !s.held.swap(true, Ordering::SeqCst) {
            s.stats.lock().unwrap().faults += 1;
            std::thread::sleep(hold);
        }
    }
    log(status);
    respond(&mut client, status, &rh, &rbody, no_body)
}
