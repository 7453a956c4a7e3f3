//! The numbers progress shows, pure (times are offsets from the start of the run): what
//! there is to send, what was sent, what was sent again, rates, and what is waited for.
//!
//! The whole is known before the first byte moves: the run's plan gives every blob to
//! check with its size, and blobs found present or mounted drop out of it as they are
//! decided, so the total only shrinks towards what is really sent. Bytes a transfer sends
//! again after a retry restarted it below where it had been are counted apart
//! (`resent`), so `sent` never passes the total. Each blob's rate is measured over its last
//! seconds (`rate::Window`) and the total's is their sum, so with one blob moving they
//! agree.

use std::collections::HashMap;
use std::time::Duration;

use super::rate::{short_duration, Window};
use super::size::human;

#[derive(Debug, Default)]
pub struct Tally {
    /// Whether the plan is known (before it, the tags are being checked).
    planned: bool,
    /// Blobs of the plan not decided yet (started, found present, mounted), by digest:
    /// (size, how many (registry, digest) groups of the plan still name it).
    undecided: HashMap<String, (u64, u32)>,
    /// Bytes of the blobs being or having been sent (each blob's whole size).
    total: u64,
    /// Of those, bytes sent (each byte of a blob once).
    sent: u64,
    /// Bytes sent again after a transfer restarted below where it had been.
    resent: u64,
    /// Blobs being sent, by digest.
    active: HashMap<String, Blob>,
    /// When a byte last moved.
    last_moved: Option<Duration>,
    /// A retry being waited for: (what, when it goes).
    retry: Option<(String, Duration)>,
}

#[derive(Debug)]
struct Blob {
    size: u64,
    /// The offset the transfer is at.
    pos: u64,
    /// The furthest offset it reached.
    high: u64,
    window: Window,
}

impl Tally {
    /// The run's plan: each (registry, digest) group to check, with its blob's size.
    pub fn planned(&mut self, blobs: impl IntoIterator<Item = (String, u64)>) {
        self.planned = true;
        for (digest, size) in blobs {
            self.undecided.entry(digest).or_insert((size, 0)).1 += 1;
        }
    }

    /// One group of `digest` is decided (no longer one to check).
    fn decide(&mut self, digest: &str) {
        if let Some((_, n)) = self.undecided.get_mut(digest) {
            *n -= 1;
            if *n == 0 {
                self.undecided.remove(digest);
            }
        }
    }

    /// A transfer of `digest` begins: its bytes count from now on.
    pub fn started(&mut self, digest: &str, size: u64) {
        self.decide(digest);
        if self.active.contains_key(digest) {
            return;
        }
        self.total += size;
        let blob = Blob {
            size,
            pos: 0,
            high: 0,
            window: Window::default(),
        };
        self.active.insert(digest.to_string(), blob);
    }

    /// The transfer of `digest` is at offset `bytes` at `now` (an offset below the last one
    /// is a transfer that restarted).
    pub fn moved(&mut self, digest: &str, bytes: u64, now: Duration) {
        let Some(b) = self.active.get_mut(digest) else {
            return;
        };
        let bytes = bytes.min(b.size);
        if bytes > b.pos {
            let moved = bytes - b.pos;
            let new = bytes.saturating_sub(b.high);
            self.sent += new;
            self.resent += moved - new;
            b.high = b.high.max(bytes);
        }
        b.pos = bytes;
        b.window.record(now, b.high);
        self.last_moved = Some(now);
        self.retry = None;
    }

    /// A blob of the plan is done: `sent` when its bytes went (else it was found present
    /// or mounted, and what was counted of it leaves the whole).
    pub fn done(&mut self, digest: &str, sent: bool) {
        match self.active.remove(digest) {
            Some(b) if sent => self.sent += b.size - b.high,
            Some(b) => {
                self.total -= b.size;
                self.sent -= b.high;
            }
            None => self.decide(digest),
        }
    }

    /// A retry of `what` goes at `at`.
    pub fn retrying(&mut self, what: &str, at: Duration) {
        self.retry = Some((what.to_string(), at));
    }

    /// Whether bytes of `digest` are being sent.
    pub fn is_active(&self, digest: &str) -> bool {
        self.active.contains_key(digest)
    }

    /// The offset the transfer of `digest` is at.
    pub fn at(&self, digest: &str) -> u64 {
        self.active.get(digest).map_or(0, |b| b.pos)
    }

    /// Blobs whose bytes are moving (started and past their first byte).
    pub fn moving(&self) -> usize {
        self.active.values().filter(|b| b.pos > 0).count()
    }

    /// (bytes sent, the whole): the whole is what is being sent plus what is not decided.
    pub fn position(&self) -> (u64, u64) {
        let undecided: u64 = self
            .undecided
            .values()
            .map(|(size, n)| size * u64::from(*n))
            .sum();
        (self.sent, self.total + undecided)
    }

    /// `12.0 MiB of 40.0 MiB (30%), 38.2 MiB/s, eta 1s`, then `, 1.5 MiB resent` and
    /// `, checking 3 blobs` when there are; `checking the tags` before the plan is known.
    pub fn text(&self) -> String {
        if !self.planned && self.active.is_empty() {
            return "checking the tags".to_string();
        }
        let (sent, total) = self.position();
        let pct = (sent.min(total) * 100).checked_div(total).unwrap_or(0);
        let mut s = format!("{} of {} ({pct}%)", human(sent), human(total));
        s.push_str(&rate_text(self.rate(), total.saturating_sub(sent)));
        if self.resent > 0 {
            s.push_str(&format!(", {} resent", human(self.resent)));
        }
        if !self.undecided.is_empty() {
            let n = self.undecided.values().map(|(_, n)| *n as usize).sum();
            s.push_str(&format!(", checking {}", count(n, "blob")));
        }
        s
    }

    /// The rate of the whole: the sum of the rates of the blobs being sent (so that one
    /// blob moving shows the rate of the whole); none while none has one.
    fn rate(&self) -> Option<f64> {
        let rates: Vec<f64> = self
            .active
            .values()
            .filter_map(|b| b.window.rate())
            .collect();
        (!rates.is_empty()).then(|| rates.iter().sum())
    }

    /// `38.2 MiB/s, eta 1s` for one blob, measured as the total is.
    pub fn blob_text(&self, digest: &str) -> String {
        self.active.get(digest).map_or_else(String::new, |b| {
            let text = rate_text(b.window.rate(), b.size.saturating_sub(b.high));
            text.trim_start_matches(", ").to_string()
        })
    }

    /// What the run waits for at `now`, when no byte moved for `quiet_for`: a retry (this
    /// run's of an upload, else `transport`'s: what, and how long until it goes), the
    /// registry's answers, or the checks of the plan.
    pub fn waiting(
        &self,
        now: Duration,
        quiet_for: Duration,
        transport: Option<(String, Duration)>,
    ) -> Option<String> {
        let quiet = self
            .last_moved
            .is_none_or(|t| now.saturating_sub(t) >= quiet_for);
        if !quiet {
            return None;
        }
        let own = self.retry.as_ref().and_then(|(what, at)| {
            let left = at.checked_sub(now).filter(|l| !l.is_zero())?;
            Some((what.clone(), left))
        });
        if let Some((what, left)) = own.or(transport) {
            let left = short_duration(left.max(Duration::from_secs(1)));
            return Some(format!("retrying {what} in {left}"));
        }
        Some(if self.active.is_empty() && !self.undecided.is_empty() {
            "waiting for the registry's answers to the checks".to_string()
        } else {
            "waiting for the registry".to_string()
        })
    }
}

/// `, 38.2 MiB/s, eta 1s` (empty until there is a rate).
fn rate_text(rate: Option<f64>, remaining: u64) -> String {
    let Some(r) = rate else {
        return String::new();
    };
    let mut s = format!(", {}/s", human(r as u64));
    if r >= 1.0 {
        let eta = Duration::from_secs_f64(remaining as f64 / r);
        s.push_str(&format!(", eta {}", short_duration(eta)));
    }
    s
}

/// `1 blob`, `2 blobs`.
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
#[path = "tally_tests.rs"]
mod tests;
