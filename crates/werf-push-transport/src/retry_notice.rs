//! The one retry notice: what goes again, why, after how long, and which attempt of how
//! many, in one format (`retry 2/5 PATCH upload in 1.2s: connection reset by peer`). Every
//! retry of the run says itself through it: the transport's requests, reads and scheme
//! probe, a resumed download (as `tracing` lines carrying `retry_in_ms` and `retry_what`,
//! so progress can say what waits), and the push engine's retry event, which the CLI
//! prints with the same `Display`.

use std::fmt;
use std::time::Duration;

/// One retry about to wait.
#[derive(Debug, Clone)]
pub struct RetryNotice<'a> {
    /// What is retried, in a few words (`PATCH upload`, `upload of blob d5e0bb34a1c2`).
    pub what: &'a str,
    /// The cause in a few words, no URL.
    pub reason: &'a str,
    /// How long before the next attempt.
    pub wait: Duration,
    /// Which retry this is (1 for the first).
    pub attempt: u32,
    /// The most retries the operation may make (`--retries`).
    pub max: u32,
}

impl fmt::Display for RetryNotice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "retry {}/{} {} in {:.1}s: {}",
            self.attempt,
            self.max,
            self.what,
            self.wait.as_secs_f32(),
            self.reason
        )
    }
}

impl RetryNotice<'_> {
    /// Logs the notice, at `warn` when `loud` (said even without `-v`: a timeout, whose
    /// wait the run may already have felt), else at `info`; with its wait and subject as
    /// fields.
    pub fn log(&self, loud: bool) {
        let (ms, what) = (self.wait.as_millis() as u64, self.what);
        if loud {
            tracing::warn!(retry_in_ms = ms, retry_what = %what, "{self}");
        } else {
            tracing::info!(retry_in_ms = ms, retry_what = %what, "{self}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_table() {
        let cases = [
            (
                ("PATCH upload", "connection reset by peer", 1200, 2, 5),
                "retry 2/5 PATCH upload in 1.2s: connection reset by peer",
            ),
            (
                ("GET blob", "answered 503", 0, 1, 1),
                "retry 1/1 GET blob in 0.0s: answered 503",
            ),
        ];
        for ((what, reason, ms, attempt, max), want) in cases {
            let n = RetryNotice {
                what,
                reason,
                wait: Duration::from_millis(ms),
                attempt,
                max,
            };
            assert_eq!(n.to_string(), want);
        }
    }
}
