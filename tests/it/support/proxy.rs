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

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::http::{serve, Exchange, Head, Upstream};
use super::layouts::XorShift;
use super::proxy_hostile::{answer, HostileKind};
use super::proxy_quirks::{self, QuirkState};
use super::proxy_quirks_rewrite;
use super::proxy_rules::{refusal, rewrite, Refusal};
use super::server::Server;

pub use super::proxy_config::{ProxyConfig, StatusFault};

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
    /// When it was answered (or cut; for a hostile answer, when the answer began).
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
        is_upload(&self.method, &self.target)
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
    in_flight: AtomicUsize,
    /// Whether `hold_put_answer` was used.
    held: AtomicBool,
}

/// Counts a request out of [`Shared::in_flight`] when its exchange ends.
struct InFlight<'a>(&'a AtomicUsize);

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
        let server = serve("127.0.0.1", "the fault proxy", CLIENT_TIMEOUT, move |ex| {
            let _ = handle(&s, ex);
        });
        Proxy {
            host: server.host.clone(),
            shared,
            _server: server,
        }
    }

    pub fn stats(&self) -> Stats {
        self.shared.stats().clone()
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

/// How long a read from the client may wait.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether `method target` carries upload data (a `PATCH`, or a blob upload `PUT`).
fn is_upload(method: &str, target: &str) -> bool {
    method == "PATCH" || (method == "PUT" && target.contains("/blobs/upload"))
}

/// One request through the proxy, in phases: arrive, read the body (or cut it), then the
/// first of a hostile answer, a refusal, or forwarding to the registry.
fn handle(s: &Shared, mut ex: Exchange) -> io::Result<()> {
    let arrival = Arrival::new(s, &ex);
    let cut = s.cut_in(&arrival);
    let body = ex.read_body(cut.unwrap_or(arrival.len), s.cfg.throttle);
    if arrival.upload {
        s.stats().upload_bytes += body.as_ref().map_or(0, |b| b.len() as u64);
    }
    if cut.is_some() {
        cut_now(s, &mut ex, &arrival);
        return Ok(());
    }
    let body = body?;
    if let Some(kind) = s.hostile_for(&ex.head) {
        s.stats().faults += 1;
        // Logged before the answer: a client that has read it all may be done, and the
        // test reading the log with it.
        arrival.log(s, kind.status());
        return answer(&mut ex, &kind);
    }
    let refused = refusal(
        &s.cfg,
        (&s.faults_left, &s.skips_left),
        &ex.head,
        arrival.len,
    )
    .or_else(|| {
        let (q, state) = (&s.cfg.quirks, &s.quirk_state);
        proxy_quirks::refusal(q, state, &s.upstream, &ex.head, arrival.len, &body)
    });
    match refused {
        Some(refused) => refuse(s, &mut ex, &arrival, refused),
        None => forward(s, &mut ex, &arrival, &body),
    }
}

/// A request as it arrived: counted in flight (until dropped) and among the arrivals.
struct Arrival<'a> {
    head: Head,
    len: u64,
    upload: bool,
    arrived: Instant,
    in_flight: usize,
    _counted: InFlight<'a>,
}

impl<'a> Arrival<'a> {
    fn new(s: &'a Shared, ex: &Exchange) -> Arrival<'a> {
        let in_flight = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let head = ex.head.clone();
        s.stats()
            .arrivals
            .push((head.method.clone(), head.target.clone()));
        Arrival {
            len: ex.len(),
            upload: is_upload(&head.method, &head.target),
            head,
            arrived: ex.arrived,
            in_flight,
            _counted: InFlight(&s.in_flight),
        }
    }

    /// Logs the exchange as answered with `status` (0: cut) now.
    fn log(&self, s: &Shared, status: u16) {
        s.stats().log.push(Logged {
            method: self.head.method.clone(),
            target: self.head.target.clone(),
            status,
            len: self.len,
            at: Instant::now(),
            arrived: self.arrived,
            in_flight: self.in_flight,
        });
    }
}

impl Shared {
    fn stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().unwrap()
    }

    /// Where a cut falls in this upload body, if one does (its offset in the body); the
    /// body's bytes are reserved in the stream of upload bytes.
    fn cut_in(&self, a: &Arrival) -> Option<u64> {
        if !a.upload || a.len == 0 {
            return None;
        }
        let mut pos = self.stream_pos.lock().unwrap();
        let mut cuts = self.cuts_left.lock().unwrap();
        let at = cuts.iter().position(|&c| c >= *pos && c < *pos + a.len);
        let cut = at.map(|i| cuts.remove(i) - *pos);
        *pos += a.len;
        cut
    }

    /// The hostile answer this request gets, if one still matches (counted down).
    fn hostile_for(&self, head: &Head) -> Option<HostileKind> {
        let mut left = self.hostile_left.lock().unwrap();
        let i = (0..self.cfg.hostile.len())
            .find(|&i| left[i] > 0 && self.cfg.hostile[i].matches(head))?;
        if left[i] != u32::MAX {
            left[i] -= 1;
        }
        Some(self.cfg.hostile[i].kind.clone())
    }
}

/// Drops the client's connection mid-body.
fn cut_now(s: &Shared, ex: &mut Exchange, arrival: &Arrival) {
    {
        let mut st = s.stats();
        st.faults += 1;
        st.cuts += 1;
    }
    arrival.log(s, 0);
    ex.hang_up();
}

/// Answers with the refusal (status 0: the connection dropped, no answer, as ECR does).
fn refuse(
    s: &Shared,
    ex: &mut Exchange,
    arrival: &Arrival,
    (status, extra, text): Refusal,
) -> io::Result<()> {
    s.stats().faults += 1;
    arrival.log(s, status);
    if status == 0 {
        ex.hang_up();
        return Ok(());
    }
    let body = if s.cfg.plain_text_errors || text.starts_with('{') {
        text.into_bytes()
    } else {
        format!("{text}\n").into_bytes()
    };
    ex.respond(status, &extra, &body, false)
}

/// Forwards the request to the registry and passes its answer on, rewritten by the
/// quirks switched on (and held, when `hold_put_answer` says so).
fn forward(s: &Shared, ex: &mut Exchange, arrival: &Arrival, body: &[u8]) -> io::Result<()> {
    let head = &arrival.head;
    // Google Artifact Registry: an upload path outside /v2 mapped back into it.
    let target = match head.target.strip_prefix("/artifacts-uploads/") {
        Some(rest) => format!("/v2/{rest}"),
        None => head.target.clone(),
    };
    let mut up = Upstream::send(&s.upstream, &head.method, &target, &head.headers)?;
    up.write_body(body)?;
    s.stats().forwarded += body.len() as u64;
    let mut answer = up.answer()?;
    let bodiless = answer.bodiless(&head.method);
    let mut rbody = answer.read_body(&head.method)?;
    let (mut status, h) = (answer.status, &mut answer.headers);
    let quirks = rewrite(&s.cfg, head, &mut status, h, &mut rbody)
        + proxy_quirks_rewrite::rewrite(
            &s.cfg.quirks,
            &s.quirk_state,
            head,
            &mut status,
            h,
            &mut rbody,
        );
    if head.method == "HEAD" {
        rbody.clear();
    }
    if quirks > 0 {
        s.stats().quirks += quirks;
    }
    hold_put_answer(s, arrival);
    arrival.log(s, status);
    ex.respond(status, &answer.headers, &rbody, bodiless)
}

/// docker-registry on object storage during a stall: holds the answer of the first large
/// enough upload `PUT`.
fn hold_put_answer(s: &Shared, a: &Arrival) {
    let Some((min, hold)) = s.cfg.hold_put_answer else {
        return;
    };
    if a.upload && a.head.method == "PUT" && a.len >= min && !s.held.swap(true, Ordering::SeqCst) {
        s.stats().faults += 1;
        std::thread::sleep(hold);
    }
}
