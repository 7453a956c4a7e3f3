//! The results of `werf-push bench`: a line per round, the medians of the cold and the warm
//! rounds with their requests' latencies per kind, the CPU time and peak memory; as JSON
//! or as a text table.

use std::collections::BTreeMap;

use serde::Serialize;
use werf_push_engine::{PushOptions, Summary};
use werf_push_spec::Reference;

use super::stats::{self, KindStats, Sample};

#[derive(Debug, Serialize)]
pub(super) struct Round {
    kind: &'static str,
    reference: String,
    seconds: f64,
    /// Blob bytes of the image per second (10^6 bytes); cold rounds only.
    mb_per_s: Option<f64>,
    requests: usize,
    bytes_sent: u64,
    blobs_pushed: usize,
    blobs_mounted: usize,
    blobs_skipped: usize,
    cpu_seconds: f64,
}

/// What one round measured.
pub(super) struct Measured<'a> {
    pub cold: bool,
    pub repo: &'a Reference,
    pub seconds: f64,
    pub cpu_seconds: f64,
    pub requests: usize,
    pub summary: &'a Summary,
    /// Bytes of every blob of the image.
    pub blob_bytes: u64,
}

impl Round {
    pub(super) fn new(m: Measured<'_>) -> Round {
        Round {
            kind: if m.cold { "cold" } else { "warm" },
            reference: m.repo.to_string(),
            seconds: m.seconds,
            mb_per_s: m
                .cold
                .then(|| m.blob_bytes as f64 / m.seconds.max(1e-9) / 1e6),
            requests: m.requests,
            bytes_sent: m.summary.bytes_sent,
            blobs_pushed: m.summary.blobs_pushed,
            blobs_mounted: m.summary.blobs_mounted,
            blobs_skipped: m.summary.blobs_skipped,
            cpu_seconds: m.cpu_seconds,
        }
    }
}

#[derive(Debug, Serialize)]
struct Phase {
    rounds: usize,
    median_seconds: f64,
    median_mb_per_s: Option<f64>,
    median_requests: f64,
    /// Requests per blob of the image: each is a round trip, the requests of one blob go
    /// one after the other (`HEAD`, `POST`, `PUT`: 3; a warm round's tag check: 1/blobs).
    round_trips_per_blob: f64,
    median_cpu_seconds: f64,
    requests: BTreeMap<&'static str, KindStats>,
}

/// The medians of the rounds of `kind` (`cold`, `warm`) and their requests (`samples`);
/// none without such rounds.
fn phase(kind: &str, rounds: &[Round], samples: &[Sample], blobs: usize) -> Option<Phase> {
    let rs: Vec<&Round> = rounds.iter().filter(|r| r.kind == kind).collect();
    if rs.is_empty() {
        return None;
    }
    let median = |f: &dyn Fn(&Round) -> Option<f64>| {
        stats::median(&rs.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
    };
    let median_requests = median(&|r| Some(r.requests as f64));
    Some(Phase {
        rounds: rs.len(),
        median_seconds: median(&|r| Some(r.seconds)),
        median_mb_per_s: (kind == "cold").then(|| median(&|r| r.mb_per_s)),
        median_requests,
        round_trips_per_blob: median_requests / blobs.max(1) as f64,
        median_cpu_seconds: median(&|r| Some(r.cpu_seconds)),
        requests: stats::by_kind(samples),
    })
}

#[derive(Debug, Serialize)]
pub(super) struct Report {
    source: String,
    blobs: usize,
    /// Bytes of every blob of the image (layers and config).
    blob_bytes: u64,
    jobs: usize,
    upload_strategy: String,
    monolithic_max: u64,
    chunk_size: u64,
    rounds: Vec<Round>,
    cold: Option<Phase>,
    warm: Option<Phase>,
    /// CPU time (user + system) of this process during the pushes.
    cpu_seconds: f64,
    /// Peak resident set of this process (setup included).
    peak_rss_bytes: u64,
}

/// The rounds of a run and the requests of its cold and warm rounds.
#[derive(Default)]
pub(super) struct Rounds {
    pub rounds: Vec<Round>,
    pub cold: Vec<Sample>,
    pub warm: Vec<Sample>,
}

/// What was pushed, and how.
pub(super) struct Pushed<'a> {
    pub source: String,
    pub blobs: usize,
    pub blob_bytes: u64,
    pub opts: &'a PushOptions,
}

impl Report {
    /// The report of `rounds`, with the CPU time of the pushes and the peak memory.
    pub(super) fn new(pushed: Pushed<'_>, rounds: Rounds, cpu_seconds: f64, peak: u64) -> Report {
        let opts = pushed.opts;
        Report {
            source: pushed.source,
            blobs: pushed.blobs,
            blob_bytes: pushed.blob_bytes,
            jobs: opts.jobs,
            upload_strategy: format!("{:?}", opts.strategy).to_lowercase(),
            monolithic_max: opts.monolithic_max,
            chunk_size: opts.chunk_size,
            cold: phase("cold", &rounds.rounds, &rounds.cold, pushed.blobs),
            warm: phase("warm", &rounds.rounds, &rounds.warm, pushed.blobs),
            rounds: rounds.rounds,
            cpu_seconds,
            peak_rss_bytes: peak,
        }
    }

    /// The report as text: a table of the rounds, then each phase with its requests.
    pub(super) fn text(&self) -> String {
        let r = self;
        let mut out = format!(
            "werf-push bench: {} ({}, {}), jobs {}, upload {}, monolithic up to {}, chunks {}\n\n",
            r.source,
            crate::cli::tally::count(r.blobs, "blob"),
            stats::human(r.blob_bytes),
            r.jobs,
            r.upload_strategy,
            stats::human(r.monolithic_max),
            stats::human(r.chunk_size)
        );
        out.push_str(&format!(
            "{:<6} {:>9} {:>9} {:>9} {:>12} {:>8}  reference\n",
            "round", "seconds", "MB/s", "requests", "sent", "cpu s"
        ));
        for x in &r.rounds {
            out.push_str(&format!(
                "{:<6} {:>9.3} {:>9} {:>9} {:>12} {:>8.3}  {}\n",
                x.kind,
                x.seconds,
                x.mb_per_s
                    .map(|m| format!("{m:.1}"))
                    .unwrap_or_else(|| "-".into()),
                x.requests,
                stats::human(x.bytes_sent),
                x.cpu_seconds,
                x.reference
            ));
        }
        for (name, p) in [("cold", &r.cold), ("warm", &r.warm)] {
            let Some(p) = p else { continue };
            out.push_str(&format!(
                "\n{name}: median {:.3} s{}, {} requests ({:.2} round trips per blob), {:.3} s CPU over {} rounds\n",
                p.median_seconds,
                p.median_mb_per_s
                    .map(|m| format!(", {m:.1} MB/s"))
                    .unwrap_or_default(),
                p.median_requests,
                p.round_trips_per_blob,
                p.median_cpu_seconds,
                p.rounds
            ));
            out.push_str(&stats::kind_table(
                &format!("{name} requests (all rounds):"),
                &p.requests,
            ));
        }
        out.push_str(&format!(
            "\nCPU {:.3} s (user+system, pushes only); peak RSS {}\n",
            r.cpu_seconds,
            stats::human(r.peak_rss_bytes)
        ));
        out
    }
}
