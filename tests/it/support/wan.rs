//! An emulated wide-area path: a TCP proxy that adds a one-way delay to every byte and
//! caps the bandwidth of each direction, one link per direction shared by all connections
//! through it. Used in front of `docker-registry` (plain HTTP) and in front of nginx
//! (TLS + HTTP/2), by the tests and by `scripts/compare` (through
//! `examples/wanproxy.rs`, which includes this file).
//!
//! - A new connection costs one round trip (the TCP handshake) before any byte moves.
//! - Bytes read from one side wait for their turn on the shared link (`bytes / rate`),
//!   then travel `delay`; the reader reads no more until its chunk is on the wire, so a
//!   sender that outruns the link is held back by its own socket buffer (back-pressure),
//!   and the queue per direction holds at most one chunk per connection.
//! - Round trips are counted: a request (client bytes after server bytes, on a
//!   connection) gets the depth `1 + the deepest answer that reached the client before it
//!   was sent`; [`Wan::round_trips`] is the deepest. Requests sent at once count one round
//!   trip; requests that wait for each other count one each. Exact as long as the delay is
//!   well above the client's scheduling jitter (tests use 50 ms or more).
//!
//! Knows nothing of HTTP: it sees bytes and turns. It is a [`super::server`] (the example
//! includes that file too).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::server::Server;

/// The path: one-way delay and bytes per second in each direction (0: no cap).
#[derive(Clone, Copy, Debug)]
pub struct WanOptions {
    pub one_way: Duration,
    pub rate: u64,
}

impl WanOptions {
    /// `rtt_ms` round trip, `mbytes_per_s` MB/s (10^6 bytes) each way; 0: no cap.
    pub fn new(rtt_ms: u64, mbytes_per_s: f64) -> Self {
        WanOptions {
            one_way: Duration::from_micros(rtt_ms * 500),
            rate: (mbytes_per_s * 1e6) as u64,
        }
    }
}

/// How long a link may lag behind its schedule and catch up (a burst of `SLACK * rate`
/// bytes at most).
const SLACK: Duration = Duration::from_millis(2);

/// One direction of the path, shared by every connection.
struct Link {
    rate: u64,
    free_at: Mutex<Instant>,
    bytes: AtomicU64,
}

impl Link {
    fn new(rate: u64) -> Link {
        Link {
            rate,
            free_at: Mutex::new(Instant::now()),
            bytes: AtomicU64::new(0),
        }
    }

    /// Puts `n` bytes on the wire after those queued before: when the last one is sent.
    fn transmit(&self, n: usize) -> Instant {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        let now = Instant::now();
        if self.rate == 0 {
            return now;
        }
        let mut free = self.free_at.lock().unwrap();
        // A link that went idle for less than SLACK resumes where it was: the time a
        // sleeping pump overslept is not lost to the link (else the cap would fall short
        // of the rate by the scheduler's jitter on every chunk: 62 of 100 MB/s measured).
        let start = (*free).max(now.checked_sub(SLACK).unwrap_or(now));
        *free = start + Duration::from_secs_f64(n as f64 / self.rate as f64);
        *free
    }
}

/// Turn and depth bookkeeping of the whole path.
#[derive(Default)]
struct Turns {
    /// Deepest answer (or handshake) that has reached the client.
    seen: AtomicU64,
    /// Deepest request sent.
    deepest: AtomicU64,
    requests: AtomicU64,
    connections: AtomicU64,
}

/// One connection's turn state.
struct Conn {
    /// The client sent bytes the server has not begun to answer.
    awaiting: AtomicBool,
    depth: AtomicU64,
}

struct Shared {
    opts: WanOptions,
    up: Link,
    down: Link,
    turns: Turns,
}

/// A running path: listens on `host`, forwards to the upstream given to [`Wan::start`].
pub struct Wan {
    /// `127.0.0.1:PORT`
    pub host: String,
    shared: Arc<Shared>,
    /// Accepting stops when the path is dropped.
    _server: Server,
}

impl Wan {
    pub fn start(upstream: &str, opts: WanOptions) -> Wan {
        let shared = Arc::new(Shared {
            opts,
            up: Link::new(opts.rate),
            down: Link::new(opts.rate),
            turns: Turns::default(),
        });
        let (s, upstream) = (shared.clone(), upstream.to_string());
        let server = Server::start("127.0.0.1", "the WAN proxy", move |client| {
            connection(client, &upstream, s.clone())
        });
        Wan {
            host: server.host.clone(),
            shared,
            _server: server,
        }
    }

    /// The deepest chain of round trips seen (handshakes included).
    pub fn round_trips(&self) -> u64 {
        self.shared.turns.deepest.load(Ordering::SeqCst)
    }

    /// Requests (client turns) seen.
    pub fn requests(&self) -> u64 {
        self.shared.turns.requests.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> u64 {
        self.shared.turns.connections.load(Ordering::SeqCst)
    }

    /// Bytes carried client to server, server to client.
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.shared.up.bytes.load(Ordering::Relaxed),
            self.shared.down.bytes.load(Ordering::Relaxed),
        )
    }

    /// Starts counting round trips, requests, connections and bytes afresh (e.g. after a
    /// warm-up).
    pub fn reset_counts(&self) {
        let t = &self.shared.turns;
        for c in [&t.seen, &t.deepest, &t.requests, &t.connections] {
            c.store(0, Ordering::SeqCst);
        }
        self.shared.up.bytes.store(0, Ordering::Relaxed);
        self.shared.down.bytes.store(0, Ordering::Relaxed);
    }
}

fn connection(client: TcpStream, upstream: &str, s: Arc<Shared>) {
    let turns = &s.turns;
    turns.connections.fetch_add(1, Ordering::SeqCst);
    // The TCP handshake: one round trip, a turn of its own.
    let depth = turns.seen.load(Ordering::SeqCst) + 1;
    turns.deepest.fetch_max(depth, Ordering::SeqCst);
    thread::sleep(s.opts.one_way * 2);
    turns.seen.fetch_max(depth, Ordering::SeqCst);
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let conn = Arc::new(Conn {
        awaiting: AtomicBool::new(false),
        depth: AtomicU64::new(depth),
    });
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let (sh, cn) = (s.clone(), conn.clone());
    let up = thread::spawn(move || pump(client, s2, &sh, &cn, true));
    pump(server, c2, &s, &conn, false);
    let _ = up.join();
}

/// Carries one direction: `from` to `to` over the link of that direction.
fn pump(mut from: TcpStream, to: TcpStream, s: &Arc<Shared>, conn: &Arc<Conn>, upward: bool) {
    // The wire: chunks in flight with their arrival time; bounded (back-pressure).
    let (tx, rx): (SyncSender<(Instant, Vec<u8>)>, Receiver<_>) = sync_channel(256);
    let delivery = {
        let (s, conn) = (s.clone(), conn.clone());
        thread::spawn(move || deliver(rx, to, &s, &conn, upward))
    };
    let link = if upward { &s.up } else { &s.down };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        if n == 0 {
            let _ = tx.send((Instant::now() + s.opts.one_way, Vec::new()));
            break;
        }
        let turns = &s.turns;
        if upward {
            if !conn.awaiting.swap(true, Ordering::SeqCst) {
                let depth = turns.seen.load(Ordering::SeqCst) + 1;
                conn.depth.store(depth, Ordering::SeqCst);
                turns.deepest.fetch_max(depth, Ordering::SeqCst);
                turns.requests.fetch_add(1, Ordering::SeqCst);
            }
        } else {
            conn.awaiting.store(false, Ordering::SeqCst);
        }
        let sent = link.transmit(n);
        sleep_until(sent);
        if tx.send((sent + s.opts.one_way, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    let _ = delivery.join();
}

fn deliver(
    rx: Receiver<(Instant, Vec<u8>)>,
    mut to: TcpStream,
    s: &Shared,
    conn: &Conn,
    upward: bool,
) {
    for (at, data) in rx {
        sleep_until(at);
        if data.is_empty() {
            let _ = to.shutdown(Shutdown::Write);
            return;
        }
        if !upward {
            // An answer reached the client: what it sends next depends on it.
            s.turns
                .seen
                .fetch_max(conn.depth.load(Ordering::SeqCst), Ordering::SeqCst);
        }
        if to.write_all(&data).is_err() {
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        thread::sleep(t - now);
    }
}
