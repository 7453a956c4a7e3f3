//! One request in flight, watched: while its body is handed to the connection the stall
//! rule applies (`pace.rs`), and once all of it is handed over the answer's first byte must
//! come within the response timeout (longer for a big body: the registry checks and moves
//! the blob before answering). [`guard`] runs the request until it answers or one
//! of them runs out (the request is then dropped, which closes its connection or stream).

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::pace::{Pace, TimeoutKind, Timeouts};

/// Bytes of request body that add [`COMMIT_GRACE`] to the response timeout.
pub(crate) const COMMIT_RATE: u64 = 32 << 20;
pub(crate) const COMMIT_GRACE: Duration = Duration::from_secs(1);

/// The progress of one request's body.
#[derive(Debug)]
pub(crate) struct Watch {
    state: Mutex<State>,
    timeouts: Timeouts,
    len: u64,
    /// Told when the whole body is handed over: [`guard`] then waits for the answer by the
    /// response timeout, not until the end of the stall window it was sleeping in (with
    /// `--response-timeout 1` under the default 30 s `--stall-timeout`, an upload's
    /// unanswered `PUT` was given up after 30 s, not 1 s).
    done: tokio::sync::Notify,
}

#[derive(Debug)]
struct State {
    pace: Pace,
    sent: u64,
    /// When the last byte of the body was handed over.
    done_at: Option<Instant>,
}

impl Watch {
    pub(crate) fn new(timeouts: Timeouts, len: u64, now: Instant) -> Watch {
        Watch {
            state: Mutex::new(State {
                pace: Pace::new(timeouts.stall, now),
                sent: 0,
                done_at: (len == 0).then_some(now),
            }),
            timeouts,
            len,
            done: tokio::sync::Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `n` more bytes of the body handed to the connection.
    pub(crate) fn sent(&self, n: u64) {
        let now = Instant::now();
        let mut s = self.state();
        s.sent += n;
        s.pace.record(n, now);
        if s.sent >= self.len && s.done_at.is_none() {
            s.done_at = Some(now);
            self.done.notify_one();
        }
    }

    /// The whole body is handed over (a body held in memory: at once).
    pub(crate) fn finished(&self) {
        let mut s = self.state();
        if s.done_at.is_none() {
            s.done_at = Some(Instant::now());
            self.done.notify_one();
        }
    }

    /// The response timeout of this request: a registry checks and moves a blob before it
    /// answers the request that closes its upload, so a body adds [`COMMIT_GRACE`] per
    /// [`COMMIT_RATE`] bytes (a 10 GiB layer: 320 s more).
    fn response(&self) -> Duration {
        self.timeouts.response + COMMIT_GRACE * (self.len / COMMIT_RATE) as u32
    }

    /// When to look again, or the timeout that ran out at `now`.
    pub(crate) fn poll(&self, now: Instant) -> Result<Instant, (TimeoutKind, Duration)> {
        let mut s = self.state();
        let done_at = s.done_at;
        match done_at {
            Some(done) => {
                let wait = self.response();
                let due = done + wait;
                if now >= due {
                    Err((TimeoutKind::Response, wait))
                } else {
                    Ok(due)
                }
            }
            None if !s.pace.check(now) => Err((TimeoutKind::Stall, self.timeouts.stall)),
            None => Ok(s.pace.deadline()),
        }
    }
}

/// Runs `fut` (sending the request watched by `watch`) until it completes or a timeout
/// runs out.
pub(crate) async fn guard<T>(
    watch: &Watch,
    fut: impl Future<Output = T>,
) -> Result<T, (TimeoutKind, Duration)> {
    tokio::pin!(fut);
    loop {
        let next = watch.poll(Instant::now())?;
        tokio::select! {
            r = &mut fut => return Ok(r),
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(next)) => {}
            _ = watch.done.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body handed over in the middle of a stall window: the answer's timeout (0.2 s)
    /// runs from then, not from the end of the 30 s window.
    #[tokio::test]
    async fn response_timeout_runs_from_the_end_of_the_body() {
        let t = Timeouts {
            connect: Duration::from_secs(1),
            response: Duration::from_millis(200),
            stall: Duration::from_secs(30),
        };
        let watch = std::sync::Arc::new(Watch::new(t, 10, Instant::now()));
        let w = watch.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            w.sent(10);
        });
        let never = std::future::pending::<()>();
        let got = tokio::time::timeout(Duration::from_secs(10), guard(&watch, never)).await;
        assert_eq!(
            got.map(|r| r.err().map(|e| e.0)),
            Ok(Some(TimeoutKind::Response)),
            "the response timeout did not fire within 10 s"
        );
    }

    #[test]
    fn watch_table() {
        let t = Timeouts {
            connect: Duration::from_secs(1),
            response: Duration::from_secs(3),
            stall: Duration::from_secs(2),
        };
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // (body length, bytes sent at once, finished?, poll at ms, expected)
        let cases = [
            (0, 0, false, 2999, None),
            (0, 0, false, 3000, Some(TimeoutKind::Response)),
            (10, 0, true, 3100, Some(TimeoutKind::Response)),
            (1 << 20, 0, false, 1999, None),
            (1 << 20, 0, false, 2000, Some(TimeoutKind::Stall)),
            (1 << 20, 100, false, 2000, Some(TimeoutKind::Stall)),
            // 64 MiB handed over: 2 s more to answer.
            (64 << 20, 64 << 20, false, 4999, None),
            (64 << 20, 64 << 20, false, 5100, Some(TimeoutKind::Response)),
        ];
        for (len, sent, finished, poll_at, want) in cases {
            let w = Watch::new(t, len, t0);
            if sent > 0 {
                w.sent(sent);
            }
            if finished {
                w.finished();
            }
            let got = w.poll(at(poll_at)).err().map(|e| e.0);
            assert_eq!(
                got, want,
                "len {len} sent {sent} finished {finished} at {poll_at}"
            );
        }
    }
}
