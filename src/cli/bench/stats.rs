//! Measurements of `werf-push bench`: requests seen by the transport's observer, grouped
//! by kind with p50/p95 latency; CPU time and peak memory of this process (getrusage);
//! medians; the table of request kinds. Knows nothing of how the pushes are made.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use werf_push_transport::{RequestObserver, RequestSample};

/// What kind of registry request a method and path are (OCI distribution API).
pub fn request_kind(method: &str, path: &str, mount: bool) -> &'static str {
    if path == "/v2/" || path == "/v2" {
        return "ping";
    }
    if path.ends_with("/blobs/uploads/") && method == "POST" {
        return if mount { "mount" } else { "upload-start" };
    }
    if path.contains("/blobs/uploads/") {
        return match method {
            "PATCH" => "upload-chunk",
            "PUT" => "upload-finish",
            "GET" => "upload-status",
            "DELETE" => "upload-cancel",
            _ => "other",
        };
    }
    if path.contains("/blobs/") {
        return match method {
            "HEAD" => "blob-head",
            "GET" => "blob-get",
            _ => "other",
        };
    }
    if path.contains("/manifests/") {
        return match method {
            "HEAD" => "manifest-head",
            "GET" => "manifest-get",
            "PUT" => "manifest-put",
            _ => "other",
        };
    }
    "other"
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub kind: &'static str,
    pub elapsed: Duration,
    pub failed: bool,
}

/// Collects samples from the transport of one round at a time.
#[derive(Default, Clone)]
pub struct Recorder(Arc<Mutex<Vec<Sample>>>);

impl Recorder {
    pub fn observer(&self) -> RequestObserver {
        let me = self.clone();
        RequestObserver::new(move |s: &RequestSample<'_>| {
            let sample = Sample {
                kind: request_kind(s.method.as_str(), s.path, s.mount),
                elapsed: s.elapsed,
                failed: s.status.is_none_or(|c| c >= 500),
            };
            me.0.lock().expect("recorder lock").push(sample);
        })
    }

    /// The samples so far, leaving none.
    pub fn take(&self) -> Vec<Sample> {
        std::mem::take(&mut *self.0.lock().expect("recorder lock"))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KindStats {
    pub count: usize,
    pub failed: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

/// Nearest-rank percentile `p` (0..=100) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Per kind: count and latency percentiles.
pub fn by_kind(samples: &[Sample]) -> BTreeMap<&'static str, KindStats> {
    let mut groups: BTreeMap<&'static str, (Vec<f64>, usize)> = BTreeMap::new();
    for s in samples {
        let g = groups.entry(s.kind).or_default();
        g.0.push(s.elapsed.as_secs_f64() * 1000.0);
        g.1 += s.failed as usize;
    }
    groups
        .into_iter()
        .map(|(k, (mut ms, failed))| {
            ms.sort_by(|a, b| a.total_cmp(b));
            let stats = KindStats {
                count: ms.len(),
                failed,
                p50_ms: percentile(&ms, 50.0),
                p95_ms: percentile(&ms, 95.0),
            };
            (k, stats)
        })
        .collect()
}

/// CPU time (user + system, seconds) and peak resident set (bytes) of this process.
pub fn rusage() -> (f64, u64) {
    // SAFETY: getrusage fills the zeroed struct it is given and reads nothing else.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (0.0, 0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    // Linux reports ru_maxrss in KiB.
    (
        secs(ru.ru_utime) + secs(ru.ru_stime),
        ru.ru_maxrss.max(0) as u64 * 1024,
    )
}

pub use crate::cli::size::human;

/// The per-kind table, one line per kind.
pub fn kind_table(title: &str, kinds: &BTreeMap<&'static str, KindStats>) -> String {
    let mut out = format!(
        "{title}\n  {:<15} {:>7} {:>7} {:>10} {:>10}\n",
        "request", "count", "failed", "p50 ms", "p95 ms"
    );
    for (k, s) in kinds {
        out.push_str(&format!(
            "  {:<15} {:>7} {:>7} {:>10.2} {:>10.2}\n",
            k, s.count, s.failed, s.p50_ms, s.p95_ms
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_kind_table() {
        let cases = [
            ("GET", "/v2/", false, "ping"),
            ("HEAD", "/v2/a/b/blobs/sha256:00", false, "blob-head"),
            ("POST", "/v2/a/blobs/uploads/", false, "upload-start"),
            ("POST", "/v2/a/blobs/uploads/", true, "mount"),
            ("PATCH", "/v2/a/blobs/uploads/uuid", false, "upload-chunk"),
            ("PUT", "/v2/a/blobs/uploads/uuid", false, "upload-finish"),
            ("GET", "/v2/a/blobs/uploads/uuid", false, "upload-status"),
            ("DELETE", "/v2/a/blobs/uploads/uuid", false, "upload-cancel"),
            ("HEAD", "/v2/a/manifests/v1", false, "manifest-head"),
            ("PUT", "/v2/a/manifests/v1", false, "manifest-put"),
            ("GET", "/v2/_catalog", false, "other"),
        ];
        for (m, p, mount, want) in cases {
            assert_eq!(request_kind(m, p, mount), want, "{m} {p}");
        }
    }

    #[test]
    fn percentile_and_median_table() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        // (values, p, want)
        let cases: [(&[f64], f64, f64); 5] = [
            (&v, 50.0, 5.0),
            (&v, 95.0, 10.0),
            (&v, 0.0, 1.0),
            (&[3.0], 95.0, 3.0),
            (&[], 50.0, 0.0),
        ];
        for (vals, p, want) in cases {
            assert_eq!(percentile(vals, p), want, "{vals:?} p{p}");
        }
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
