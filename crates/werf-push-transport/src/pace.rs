//! The three timeouts of a request and the stall rule, as pure logic: a TCP connection must
//! be open within `connect`; the first byte of the answer must come within
//! `response` of the request's body being handed over; and while a body moves (an upload's
//! request body, an answer being read) every window of `stall` must carry at least
//! [`MIN_RATE`] bytes a second on average, so that a peer sending one byte every few
//! seconds is cut off like a silent one. Knows nothing of sockets.

use std::time::{Duration, Instant};

/// The slowest average rate, in bytes a second over a `stall` window, that is progress.
pub const MIN_RATE: u64 = 1024;

/// The timeouts of every request (`--connect-timeout`, `--response-timeout`,
/// `--stall-timeout`).
/// Built by [`Timeouts::new`] or `Default` (10 s, 60 s, 30 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// The longest wait for a TCP connection (and TLS handshake) to open.
    pub connect: Duration,
    /// The longest wait for the first byte of an answer, from when the whole body was
    /// handed over (a body in memory: from the start of the request; a request with a big
    /// body gets more: the registry checks and moves the blob first).
    pub response: Duration,
    /// The window over which a moving body must average at least [`MIN_RATE`] bytes a
    /// second.
    pub stall: Duration,
}

impl Timeouts {
    /// The `connect`, `response` and `stall` timeouts.
    pub fn new(connect: Duration, response: Duration, stall: Duration) -> Timeouts {
        Timeouts {
            connect,
            response,
            stall,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            response: Duration::from_secs(60),
            stall: Duration::from_secs(30),
        }
    }
}

/// Which timeout ran out.
///
/// Exhaustive on purpose: one variant per field of [`Timeouts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// No connection within [`Timeouts::connect`].
    Connect,
    /// No answer within [`Timeouts::response`].
    Response,
    /// A body moved slower than [`MIN_RATE`] over [`Timeouts::stall`].
    Stall,
}

impl TimeoutKind {
    /// What ran out, for an error message (with the flag that sets it).
    pub fn describe(self, after: Duration) -> String {
        let s = after.as_secs_f64();
        match self {
            TimeoutKind::Connect => {
                format!("no connection within {s}s (--connect-timeout)")
            }
            TimeoutKind::Response => {
                format!("no answer within {s}s of sending the request (--response-timeout)")
            }
            TimeoutKind::Stall => {
                format!("transfer stalled: less than {MIN_RATE} bytes/s for {s}s (--stall-timeout)")
            }
        }
    }
}

/// Progress of one body, judged in consecutive windows of `window`.
#[derive(Debug, Clone)]
pub(crate) struct Pace {
    window: Duration,
    min_bytes: u64,
    start: Instant,
    bytes: u64,
}

impl Pace {
    pub(crate) fn new(window: Duration, now: Instant) -> Pace {
        let min_bytes = ((MIN_RATE as f64) * window.as_secs_f64()).ceil().max(1.0) as u64;
        Pace {
            window,
            min_bytes,
            start: now,
            bytes: 0,
        }
    }

    /// `n` bytes moved at `now`; `false` when the body stalled.
    pub(crate) fn record(&mut self, n: u64, now: Instant) -> bool {
        self.bytes += n;
        self.check(now)
    }

    /// `false` when a whole window ended with too few bytes; a window that ended with
    /// enough starts the next one.
    pub(crate) fn check(&mut self, now: Instant) -> bool {
        if now < self.start + self.window {
            return true;
        }
        if self.bytes < self.min_bytes {
            return false;
        }
        self.start = now;
        self.bytes = 0;
        true
    }

    /// When the current window ends: the time to [`Pace::check`] again.
    pub(crate) fn deadline(&self) -> Instant {
        self.start + self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_table() {
        let t0 = Instant::now();
        let ms = |m: u64| t0 + Duration::from_millis(m);
        // (events: (ms, bytes; 0 = a check without data), verdict of the last one)
        let window = Duration::from_secs(2);
        let cases: Vec<(Vec<(u64, u64)>, bool)> = vec![
            (vec![(1999, 0)], true),
            (vec![(2000, 0)], false),
            (vec![(500, 4096), (2000, 0)], true),
            // One byte every 300 ms: 7 bytes in the window.
            ((1..=7).map(|i| (i * 300, 1)).collect(), false),
            // Enough in the first window, nothing in the second.
            (vec![(100, 1 << 20), (2100, 0), (4099, 0)], true),
            (vec![(100, 1 << 20), (2100, 0), (4100, 0)], false),
            // A late piece big enough rescues its window.
            (vec![(2500, 1 << 20)], true),
        ];
        for (events, want) in cases {
            let mut p = Pace::new(window, t0);
            let mut last = true;
            for &(at, n) in &events {
                last = if n == 0 {
                    p.check(ms(at))
                } else {
                    p.record(n, ms(at))
                };
            }
            assert_eq!(last, want, "{events:?}");
        }
    }

    #[test]
    fn messages_name_the_flag() {
        let cases = [
            (TimeoutKind::Connect, "--connect-timeout"),
            (TimeoutKind::Response, "--response-timeout"),
            (TimeoutKind::Stall, "--stall-timeout"),
        ];
        for (kind, flag) in cases {
            assert!(
                kind.describe(Duration::from_secs(2)).contains(flag),
                "{kind:?}"
            );
        }
    }
}
