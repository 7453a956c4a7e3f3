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
mod tests {
    use super::*;

    /// Steps of a run.
    enum Step {
        Planned(&'static [(&'static str, u64)]),
        Started(&'static str, u64),
        Moved(&'static str, u64, u64),
        Done(&'static str, bool),
    }
    use Step::*;

    #[test]
    fn totals_table() {
        // (steps, (sent, whole) wanted, part of the text wanted)
        type Case = (&'static [Step], (u64, u64), &'static str);
        let cases: [Case; 8] = [
            (&[], (0, 0), "checking the tags"),
            // The whole is known before any byte moves.
            (
                &[Planned(&[("a", 1000), ("b", 3000)])],
                (0, 4000),
                "checking 2 blobs",
            ),
            // A blob found present leaves the whole.
            (
                &[Planned(&[("a", 1000), ("b", 3000)]), Done("b", false)],
                (0, 1000),
                "checking 1 blob",
            ),
            // Started and moving: counted once, no longer checked.
            (
                &[
                    Planned(&[("a", 1000)]),
                    Started("a", 1000),
                    Moved("a", 400, 0),
                ],
                (400, 1000),
                "400 B of 1000 B (40%)",
            ),
            // A restart from 0 after 800 bytes: the 500 again are resent, not sent twice.
            (
                &[
                    Planned(&[("a", 1000)]),
                    Started("a", 1000),
                    Moved("a", 800, 0),
                    Moved("a", 0, 10),
                    Moved("a", 1000, 20),
                    Done("a", true),
                ],
                (1000, 1000),
                "800 B resent",
            ),
            // Done without progress events for the last bytes: all sent.
            (
                &[
                    Planned(&[("a", 1000)]),
                    Started("a", 1000),
                    Moved("a", 10, 0),
                    Done("a", true),
                ],
                (1000, 1000),
                "(100%)",
            ),
            // Started, then found present after all: out of the whole.
            (
                &[
                    Planned(&[("a", 1000)]),
                    Started("a", 1000),
                    Moved("a", 10, 0),
                    Done("a", false),
                ],
                (0, 0),
                "0 B of 0 B (0%)",
            ),
            // One digest in two registries: checked twice.
            (
                &[Planned(&[("a", 10), ("a", 10)]), Done("a", false)],
                (0, 10),
                "checking 1 blob",
            ),
        ];
        for (i, (steps, want, text)) in cases.iter().enumerate() {
            let mut t = Tally::default();
            for s in *steps {
                match s {
                    Planned(b) => t.planned(b.iter().map(|(d, n)| (d.to_string(), *n))),
                    Started(d, n) => t.started(d, *n),
                    Moved(d, n, ms) => t.moved(d, *n, Duration::from_millis(*ms)),
                    Done(d, sent) => t.done(d, *sent),
                }
            }
            assert_eq!(t.position(), *want, "case {i}");
            assert!(t.text().contains(text), "case {i}: {}", t.text());
        }
    }

    #[test]
    fn one_blob_moving_has_the_total_rate() {
        let mut t = Tally::default();
        t.started("a", 100 << 20);
        for s in 0..=4u64 {
            t.moved("a", s * (10 << 20), Duration::from_secs(s));
        }
        let total = t.text();
        let blob = t.blob_text("a");
        assert!(blob.starts_with("10.0 MiB/s"), "{blob}");
        assert!(total.contains(", 10.0 MiB/s,"), "{total}");
    }

    #[test]
    fn waiting_table() {
        let s = Duration::from_secs;
        let mut retrying = Tally::default();
        retrying.retrying("upload of blob d5e0bb34", s(12));
        let mut moving = Tally::default();
        moving.started("a", 10);
        moving.moved("a", 5, s(9));
        let mut checking = Tally::default();
        checking.planned([("a".to_string(), 10)]);
        let post = || Some(("POST upload".to_string(), s(4)));
        // (tally, now, the transport's retry, wanted)
        type Case<'a> = (&'a Tally, u64, Option<(String, Duration)>, Option<&'a str>);
        let cases: [Case; 8] = [
            (
                &retrying,
                10,
                None,
                Some("retrying upload of blob d5e0bb34 in 2s"),
            ),
            // This run's retry first; once its time is past, the transport's, if any.
            (
                &retrying,
                10,
                post(),
                Some("retrying upload of blob d5e0bb34 in 2s"),
            ),
            (&retrying, 13, post(), Some("retrying POST upload in 4s")),
            (&retrying, 13, None, Some("waiting for the registry")),
            (&moving, 10, post(), None),
            (&moving, 12, None, Some("waiting for the registry")),
            (
                &checking,
                1,
                None,
                Some("waiting for the registry's answers to the checks"),
            ),
            (&Tally::default(), 1, None, Some("waiting for the registry")),
        ];
        for (i, (t, now, transport, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                t.waiting(s(now), s(2), transport).as_deref(),
                want,
                "case {i}"
            );
        }
    }

    #[test]
    fn plurals() {
        for (n, want) in [(0, "0 tags"), (1, "1 tag"), (2, "2 tags")] {
            assert_eq!(count(n, "tag"), want);
        }
    }
}
