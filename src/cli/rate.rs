//! A transfer rate over a sliding window (the last few seconds), not since the start: a
//! link that slows down shows it, and bytes that were never sent (blobs found present or
//! mounted) never enter it. Pure: times are offsets from the start of the run.

use std::collections::VecDeque;
use std::time::Duration;

/// The span the rate is measured over.
pub const SPAN: Duration = Duration::from_secs(5);
/// Below this much history no rate is shown (the first frames would be noise).
const MIN_SPAN: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
pub struct Window {
    /// (time, bytes sent in all by then), oldest first.
    samples: VecDeque<(Duration, u64)>,
}

impl Window {
    /// Records that `sent` bytes were sent in all by `at`.
    pub fn record(&mut self, at: Duration, sent: u64) {
        if let Some(&(t, _)) = self.samples.back() {
            if at < t {
                return;
            }
        }
        self.samples.push_back((at, sent));
        // Keep one sample older than the span, so the window always covers it whole.
        while self.samples.len() > 2 && at.saturating_sub(self.samples[1].0) >= SPAN {
            self.samples.pop_front();
        }
    }

    /// Bytes per second over the window; `None` until there is enough history.
    pub fn rate(&self) -> Option<f64> {
        let (t0, b0) = *self.samples.front()?;
        let (t1, b1) = *self.samples.back()?;
        let dt = t1.saturating_sub(t0);
        if dt < MIN_SPAN {
            return None;
        }
        Some(b1.saturating_sub(b0) as f64 / dt.as_secs_f64())
    }
}

/// `1m05s`, `42s`, `1h02m`.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn rate_is_over_the_last_seconds_only() {
        // (samples (ms, bytes), rate wanted (bytes/s), or None)
        type Case = (&'static [(u64, u64)], Option<f64>);
        let cases: [Case; 5] = [
            (&[], None),
            (&[(0, 0), (100, 1000)], None),
            (&[(0, 0), (1000, 1000)], Some(1000.0)),
            // 100 MB/s for 10 s, then 10 MB/s for 10 s: the window sees only the second.
            (
                &[
                    (0, 0),
                    (5000, 500_000_000),
                    (10_000, 1_000_000_000),
                    (15_000, 1_050_000_000),
                    (20_000, 1_100_000_000),
                ],
                Some(10_000_000.0),
            ),
            // Out-of-order samples are ignored.
            (&[(0, 0), (2000, 2000), (1000, 99_999)], Some(1000.0)),
        ];
        for (i, (samples, want)) in cases.iter().enumerate() {
            let mut w = Window::default();
            for &(t, b) in *samples {
                w.record(ms(t), b);
            }
            match (w.rate(), want) {
                (None, None) => {}
                (Some(got), Some(want)) => {
                    assert!(
                        (got - want).abs() / want < 0.01,
                        "case {i}: {got} vs {want}"
                    )
                }
                (got, want) => panic!("case {i}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn durations_table() {
        for (s, want) in [(0, "0s"), (59, "59s"), (65, "1m05s"), (3725, "1h02m")] {
            assert_eq!(short_duration(Duration::from_secs(s)), want);
        }
    }
}
