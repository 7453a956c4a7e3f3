//! The retry engine of the whole run (the transport's requests, and through it the
//! registry's manifest `PUT`, the push engine's uploads and `stages pull`'s downloads):
//! which answers are worth another attempt (one list, [`RETRYABLE_STATUSES`]), how long to
//! wait (exponential backoff with jitter, or the server's `Retry-After`), one budget of
//! retries shared by every request, upload, manifest write and download of a run, bounded
//! per operation by attempts and by time, the one retry loop
//! ([`RetryBudget::retry_until`], with [`RetryBudget::retry`] its plain form: attempt,
//! decide, note, wait) and the [`Retrier`] that counts an operation's attempts. The
//! defaults of `--retries` and `--retry-max-time` are defined here. Knows nothing of HTTP
//! clients or registries.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

/// Default retries of any one request or upload (`--retries`).
pub const DEFAULT_RETRIES: u32 = 5;
/// Default bound on the time one operation may spend retrying (`--retry-max-time`), in
/// seconds.
pub const DEFAULT_RETRY_MAX_TIME: u64 = 600;
/// The run's budget is this many times the per-operation bound.
pub(crate) const RUN_BUDGET_FACTOR: u32 = 20;
const DEFAULT_MAX_ELAPSED: Duration = Duration::from_secs(DEFAULT_RETRY_MAX_TIME);
/// Answers that say "try again later": request timeout, too many requests, and the
/// server errors a restart or an overloaded backend gives.
pub const RETRYABLE_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];

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

    /// The budget of a run: `per_operation` retries of any one operation,
    /// `RUN_BUDGET_FACTOR` times that in all, none started after `max_elapsed` of one
    /// operation.
    pub fn for_run(per_operation: u32, max_elapsed: Duration) -> RetryBudget {
        RetryBudget::new(
            per_operation,
            per_operation.saturating_mul(RUN_BUDGET_FACTOR),
        )
        .with_max_elapsed(max_elapsed)
    }

    /// No retry starts once an operation has been going on for `d` (first attempt included).
    pub(crate) fn with_max_elapsed(mut self, d: Duration) -> RetryBudget {
        self.max_elapsed = d;
        self
    }

    pub(crate) fn per_operation(&self) -> u32 {
        self.per_operation
    }

    /// Takes one retry from the budget if `attempt` (0-based count of retries already made
    /// for this operation) is within the bound and the operation, started at `started`,
    /// would still be within the time bound after waiting `wait`.
    pub(crate) fn take(&self, attempt: u32, started: Instant, wait: Duration) -> bool {
        attempt < self.per_operation
            && started.elapsed() + wait <= self.max_elapsed
            && self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
    }

    /// How long to wait before retry number `attempt` (0-based): `retry_after` when the
    /// server said so (capped), else exponential backoff with jitter.
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
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
        RetryBudget::for_run(DEFAULT_RETRIES, DEFAULT_MAX_ELAPSED)
    }
}

/// What the loop of [`RetryBudget::retry_until`] does after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Again {
    /// The outcome is final: the loop returns it.
    Final,
    /// Worth another attempt after the budget's wait (the server's `Retry-After`, if
    /// any), one retry taken from the budget; final when the budget refuses.
    After(Option<Duration>),
    /// Another attempt now, nothing taken from the budget: the operation changed how it
    /// tries (an upload's plan adapted to a refusal) and bounds such changes itself.
    Now,
}

/// The wait before a retry was cut short by the cancellation token given to
/// [`RetryBudget::retry_until`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitCut;

impl RetryBudget {
    /// The retry loop of requests that only try again: runs `attempt` until `again` finds
    /// its outcome final (`None`) or the budget refuses another try, and returns that
    /// outcome. `again` gives `Some(retry_after)` for an outcome worth another attempt
    /// (`retry_after`: the wait the server asked for); `note` hears of each retry (the
    /// outcome given up, the operation's [`Retrier`], the wait) before the wait. The
    /// same loop as [`RetryBudget::retry_until`], with no retry "now" and no cancellation.
    pub async fn retry<T, Fut>(
        &self,
        attempt: impl FnMut() -> Fut,
        mut again: impl FnMut(&T, &Retrier<'_>) -> Option<Option<Duration>>,
        note: impl FnMut(&T, &Retrier<'_>, Duration),
    ) -> T
    where
        Fut: std::future::Future<Output = T>,
    {
        let decide = move |t: &T, r: &Retrier<'_>| match again(t, r) {
            Some(retry_after) => Again::After(retry_after),
            None => Again::Final,
        };
        match self.retry_until(None, attempt, decide, note).await {
            Ok(outcome) => outcome,
            Err(WaitCut) => unreachable!("a wait without a token is never cut"),
        }
    }

    /// The one retry loop of the crate: attempt, decide, note, wait. Runs `attempt` until
    /// `again` says [`Again::Final`] or the budget refuses an [`Again::After`], and returns
    /// that outcome; [`Again::Now`] tries again at once without taking from the budget.
    /// `note` hears of each retry before its wait (the outcome given up, the operation's
    /// [`Retrier`], the wait: zero for [`Again::Now`]). A wait is cut short by `cancel`
    /// (Ctrl-C): the loop then returns [`WaitCut`]. Operations that work between attempts
    /// (an upload resumed or its plan changed) keep that work in the state their
    /// `attempt` reads and writes.
    pub async fn retry_until<T, Fut>(
        &self,
        cancel: Option<&CancellationToken>,
        mut attempt: impl FnMut() -> Fut,
        mut again: impl FnMut(&T, &Retrier<'_>) -> Again,
        mut note: impl FnMut(&T, &Retrier<'_>, Duration),
    ) -> Result<T, WaitCut>
    where
        Fut: std::future::Future<Output = T>,
    {
        let mut retrier = Retrier::new(self);
        loop {
            let outcome = attempt().await;
            let wait = match again(&outcome, &retrier) {
                Again::Final => return Ok(outcome),
                Again::Now => {
                    note(&outcome, &retrier, Duration::ZERO);
                    continue;
                }
                Again::After(retry_after) => match retrier.next(retry_after) {
                    Some(wait) => wait,
                    None => return Ok(outcome),
                },
            };
            note(&outcome, &retrier, wait);
            match cancel {
                Some(cancel) => tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => return Err(WaitCut),
                },
                None => tokio::time::sleep(wait).await,
            }
        }
    }
}

/// The retries of one operation (a request, an upload, a manifest write, a download):
/// every retrying loop of the crate asks it before trying again, so that all of them
/// count, wait and stop by the same rules and draw on the same budget.
#[derive(Debug)]
pub struct Retrier<'a> {
    budget: &'a RetryBudget,
    started: Instant,
    attempt: u32,
}

impl<'a> Retrier<'a> {
    /// An operation starting now.
    pub fn new(budget: &'a RetryBudget) -> Retrier<'a> {
        Retrier {
            budget,
            started: Instant::now(),
            attempt: 0,
        }
    }

    /// The wait before the next attempt, one retry taken from the budget; `None` when the
    /// operation must give up (its attempts or its time are used up, or the run's budget).
    /// `retry_after`: the wait the server asked for, if any.
    pub fn next(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        let wait = self.budget.delay(self.attempt, retry_after);
        if !self.budget.take(self.attempt, self.started, wait) {
            return None;
        }
        self.attempt += 1;
        Some(wait)
    }

    /// Retries granted so far (1 after the first [`Retrier::next`]).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The bound on retries of one operation.
    pub fn max(&self) -> u32 {
        self.budget.per_operation()
    }
}

fn jitter_fraction() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos % 1000) as f64 / 1000.0
}

/// Whether an answer with `status` says "try again later" ([`RETRYABLE_STATUSES`]).
pub fn is_retryable_status(status: u16) -> bool {
    RETRYABLE_STATUSES.contains(&status)
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
#[path = "retry_tests.rs"]
mod tests;
