//! Retry policy: which failures are worth another attempt, how long to wait (exponential
//! backoff with jitter, or the server's `Retry-After`), and one budget of retries shared by
//! every request and upload of a run, bounded per operation by attempts and by time.
//! Knows nothing of HTTP clients or registries.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Default retries of any one request or upload (`--retries`).
pub const DEFAULT_RETRIES: u32 = 5;
/// Default bound on the time one operation may spend retrying (`--retry-max-time`).
pub const DEFAULT_MAX_ELAPSED: Duration = Duration::from_secs(600);

/// Retries left for the whole run, shared by request retries (transport) and upload
/// retries (push), plus the per-operation attempt bound.
#[derive(Debug)]
pub struct RetryBudget {
    remaining: AtomicU32,
    per_operation: u32,
    base: Duration,
    max_wait: Duration,
    max_elapsed: Duration,
}

impl RetryBudget {
    /// `per_operation` attempts after the first for any one request or upload; `total`
    /// retries for the whole run.
    pub fn new(per_operation: u32, total: u32) -> RetryBudget {
        RetryBudget {
            remaining: AtomicU32::new(total),
            per_operation,
            base: Duration::from_millis(200),
            max_wait: Duration::from_secs(30),
            max_elapsed: DEFAULT_MAX_ELAPSED,
        }
    }

    /// No retry starts once an operation has been going on for `d` (first attempt included).
    pub fn with_max_elapsed(mut self, d: Duration) -> RetryBudget {
        self.max_elapsed = d;
        self
    }

    pub fn max_elapsed(&self) -> Duration {
        self.max_elapsed
    }

    pub fn per_operation(&self) -> u32 {
        self.per_operation
    }

    /// Takes one retry from the budget if `attempt` (0-based count of retries already made
    /// for this operation) is within the bound and the operation, started at `started`,
    /// would still be within the time bound after waiting `wait`.
    pub fn take(&self, attempt: u32, started: Instant, wait: Duration) -> bool {
        attempt < self.per_operation
            && started.elapsed() + wait <= self.max_elapsed
            && self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
    }

    /// How long to wait before retry number `attempt` (0-based): `retry_after` when the
    /// server said so (capped), else exponential backoff with jitter.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d.min(self.max_wait);
        }
        let exp = self.base.saturating_mul(1u32 << attempt.min(8));
        let jitter = jitter_fraction();
        exp.mul_f64(0.5 + jitter).min(self.max_wait)
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(DEFAULT_RETRIES, DEFAULT_RETRIES * 20)
    }
}

fn jitter_fraction() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos % 1000) as f64 / 1000.0
}

/// Statuses that say "try again later".
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` as delta-seconds or as an HTTP date, relative to `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_table() {
        let now = httpdate::parse_http_date("Sun, 29 Nov 2026 02:00:00 GMT").unwrap();
        let cases = [
            ("1", Some(1)),
            (" 120 ", Some(120)),
            ("Sun, 29 Nov 2026 02:00:05 GMT", Some(5)),
            ("Sun, 29 Nov 2026 01:59:00 GMT", Some(0)),
            ("soon", None),
            ("-1", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_retry_after(input, now),
                want.map(Duration::from_secs),
                "{input:?}"
            );
        }
    }

    #[test]
    fn budget_is_shared_and_bounded() {
        let b = RetryBudget::new(2, 3);
        let now = Instant::now();
        // (attempt, expected)
        let steps = [(0, true), (1, true), (2, false), (0, true), (0, false)];
        for (i, (attempt, want)) in steps.into_iter().enumerate() {
            assert_eq!(b.take(attempt, now, Duration::ZERO), want, "step {i}");
        }
    }

    #[test]
    fn time_bound_stops_retries() {
        let b = RetryBudget::new(10, 100).with_max_elapsed(Duration::from_secs(5));
        let now = Instant::now();
        // (wait before the retry, expected)
        let cases = [(0, true), (4, true), (6, false), (600, false)];
        for (wait, want) in cases {
            assert_eq!(
                b.take(0, now, Duration::from_secs(wait)),
                want,
                "wait {wait}s"
            );
        }
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let b = RetryBudget::new(10, 10);
        let cases = [(0, 100, 300), (3, 800, 2400), (20, 25_600, 30_000)];
        for (attempt, lo, hi) in cases {
            let d = b.delay(attempt, None).as_millis() as u64;
            assert!((lo..=hi).contains(&d), "attempt {attempt}: {d} ms");
        }
        assert_eq!(
            b.delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            b.delay(0, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
    }
}
