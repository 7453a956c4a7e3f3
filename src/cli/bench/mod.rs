//! `werf-push bench --repo REPO`: push throughput of a registry. Pushes one image of
//! synthetic blobs (generated from `--seed` while they are sent: no disk) or a layout's
//! image (`--from oci:DIR`), `--rounds` times cold (a fresh repository `REPO-<run>-<n>`
//! each round) and `--warm-rounds` times warm (the last cold repository again: everything
//! present). Reports per round seconds, MB/s (10^6 bytes), requests and bytes sent; per
//! request kind p50/p95 latency; CPU time of the pushes and peak memory of this process.
//! The known-blob cache is never used here (cold rounds must upload).

mod stats;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use serde::Serialize;
use werf_push_engine::{BlobSource, NoopReporter, PushImage, Pusher, Summary, Target};
use werf_push_layout::Layout;
use werf_push_spec::{Descriptor, Manifest, Reference};

use super::flags::{GlobalArgs, RegistryArgs, UploadArgs};
use super::signal::interrupt;
use super::size::parse_size;
use super::{exit, output, settings};
use stats::{KindStats, Recorder};
use werf_push_api::push::parse_source;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Repository prefix: cold rounds push to REPO-<run>-<n>, a new repository each round.
    #[arg(long, value_name = "REPO")]
    pub repo: String,
    /// Synthetic blobs per --blob-size.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub blobs: usize,
    /// Size of synthetic blobs; repeat for a mix (--blobs of each).
    #[arg(long, default_value = "16MiB", value_parser = parse_size, value_name = "SIZE")]
    pub blob_size: Vec<u64>,
    /// Seed of the synthetic content (same seed, same blobs and digests).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Push this layout's image instead of synthetic blobs: oci:DIR[:REF|@DIGEST].
    #[arg(long, value_name = "SRC")]
    pub from: Option<String>,
    /// Cold rounds: a fresh repository each, every blob uploaded.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub rounds: usize,
    /// Warm rounds after the cold ones: the same tag again, everything present.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub warm_rounds: usize,
    /// Tag pushed in every round.
    #[arg(long, default_value = "bench")]
    pub tag: String,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub upload: UploadArgs,
}

#[derive(Debug, Serialize)]
struct Round {
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
    requests: std::collections::BTreeMap<&'static str, KindStats>,
}

#[derive(Debug, Serialize)]
struct Report {
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

/// One image of `n` synthetic blobs per size plus a config, as an OCI manifest.
async fn synthetic_image(seed: u64, n: usize, sizes: &[u64]) -> Result<PushImage> {
    let specs: Vec<(u64, u64)> = sizes
        .iter()
        .flat_map(|&size| (0..n).map(move |i| (size, i)))
        .enumerate()
        .map(|(i, (size, _))| (seed.wrapping_mul(1_000_003).wrapping_add(i as u64), size))
        .collect();
    let digests = tokio::task::spawn_blocking({
        let specs = specs.clone();
        move || {
            specs
                .iter()
                .map(|&(s, size)| BlobSource::synthetic_digest(s, size))
                .collect::<Vec<_>>()
        }
    })
    .await?;
    let layer_type = "application/vnd.oci.image.layer.v1.tar";
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Labels": { "werf-push-bench-seed": seed.to_string() } },
        "rootfs": { "type": "layers", "diff_ids": digests.iter().map(|d| d.to_string()).collect::<Vec<_>>() },
    });
    let config = Bytes::from(serde_json::to_vec(&config)?);
    let config_desc = Descriptor {
        media_type: "application/vnd.oci.image.config.v1+json".into(),
        digest: werf_push_spec::Digest::sha256_of(&config),
        size: config.len() as u64,
        platform: None,
        annotations: Default::default(),
    };
    let mut blobs = vec![(config_desc.clone(), BlobSource::Bytes(config))];
    let mut layers = Vec::new();
    for ((s, size), digest) in specs.into_iter().zip(digests) {
        let desc = Descriptor {
            media_type: layer_type.into(),
            digest,
            size,
            platform: None,
            annotations: Default::default(),
        };
        layers.push(desc.to_json());
        blobs.push((desc, BlobSource::Synthetic { seed: s, size }));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc.to_json(),
        "layers": layers,
    });
    let manifest = Manifest::parse(Bytes::from(serde_json::to_vec(&manifest)?), None)?;
    Ok(PushImage::new(Vec::new(), manifest, blobs))
}

fn layout_image(src: &str) -> Result<PushImage> {
    let src = parse_source(src)?;
    let layout = Layout::open(&src.path)?;
    let entry = layout.select(src.selector.as_deref())?.clone();
    let image = layout.image(&entry)?;
    Ok(PushImage::from_layout(&layout, &image)?)
}

/// A name for this run's repositories: seconds and pid in hex.
fn run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{:x}{:x}", secs & 0xffffff, std::process::id() & 0xffff)
}

pub async fn run(a: BenchArgs, g: &GlobalArgs) -> Result<i32> {
    if a.rounds == 0 && a.warm_rounds == 0 {
        bail!("nothing to measure: --rounds and --warm-rounds are both 0");
    }
    if a.from.is_none() && (a.blobs == 0 || a.blob_size.contains(&0)) {
        bail!("--blobs and --blob-size must be at least 1");
    }
    let base = Reference::parse(&format!("{}:{}", a.repo.trim_end_matches('/'), a.tag))
        .with_context(|| format!("--repo '{}' / --tag '{}'", a.repo, a.tag))?;
    let (image, source) = match &a.from {
        Some(src) => (layout_image(src)?, src.clone()),
        None => (
            synthetic_image(a.seed, a.blobs, &a.blob_size).await?,
            format!("synthetic seed {}", a.seed),
        ),
    };
    let image = Arc::new(image);
    let blob_bytes: u64 = image.blobs().iter().map(|(d, _)| d.size).sum();
    let mut opts = settings::push_options(&a.upload, false);
    opts.known_blobs = None;
    let recorder = Recorder::default();
    let mut topts = settings::transport_options(&a.registry)?;
    topts.observer = Some(recorder.observer());
    let id = run_id();
    let mut rounds = Vec::new();
    let mut samples = (Vec::new(), Vec::new());
    let (cpu_start, _) = stats::rusage();
    let mut repo = base.clone();
    let total = a.rounds + a.warm_rounds;
    for i in 0..total {
        let cold = i < a.rounds;
        if cold {
            repo.repository = format!("{}-{id}-{}", base.repository, i + 1);
        }
        if !g.quiet && !a.json {
            eprintln!(
                "round {}/{total}: {} {repo}",
                i + 1,
                if cold { "cold" } else { "warm" }
            );
        }
        let registries =
            werf_push_registry::Registries::new(topts.clone(), settings::retry_budget(&a.registry));
        let pusher = Pusher::new(opts.clone(), Arc::new(registries), Arc::new(NoopReporter))
            .with_cancel(interrupt().clone());
        let (cpu0, _) = stats::rusage();
        let started = Instant::now();
        let (summary, errors) = pusher
            .push(vec![Target {
                image: image.clone(),
                dest: repo.clone(),
            }])
            .await;
        let seconds = started.elapsed().as_secs_f64();
        let (cpu1, _) = stats::rusage();
        if let Some(first) = errors.into_iter().next() {
            return Err(anyhow::Error::from(first).context(format!("bench round {}", i + 1)));
        }
        let s = recorder.take();
        rounds.push(round(
            cold,
            &repo,
            seconds,
            cpu1 - cpu0,
            s.len(),
            &summary,
            blob_bytes,
        ));
        if cold { &mut samples.0 } else { &mut samples.1 }.extend(s);
    }
    let (cpu_end, peak) = stats::rusage();
    let blobs = image.blobs().len().max(1) as f64;
    let phase = |kind: &str, samples: &[stats::Sample]| {
        let rs: Vec<&Round> = rounds.iter().filter(|r| r.kind == kind).collect();
        let median_requests =
            stats::median(&rs.iter().map(|r| r.requests as f64).collect::<Vec<_>>());
        (!rs.is_empty()).then(|| Phase {
            rounds: rs.len(),
            median_seconds: stats::median(&rs.iter().map(|r| r.seconds).collect::<Vec<_>>()),
            median_mb_per_s: (kind == "cold")
                .then(|| stats::median(&rs.iter().filter_map(|r| r.mb_per_s).collect::<Vec<_>>())),
            median_requests,
            round_trips_per_blob: median_requests / blobs,
            median_cpu_seconds: stats::median(
                &rs.iter().map(|r| r.cpu_seconds).collect::<Vec<_>>(),
            ),
            requests: stats::by_kind(samples),
        })
    };
    let report = Report {
        source,
        blobs: image.blobs().len(),
        blob_bytes,
        jobs: opts.jobs,
        upload_strategy: format!("{:?}", opts.strategy).to_lowercase(),
        monolithic_max: opts.monolithic_max,
        chunk_size: opts.chunk_size,
        cold: phase("cold", &samples.0),
        warm: phase("warm", &samples.1),
        rounds,
        cpu_seconds: cpu_end - cpu_start,
        peak_rss_bytes: peak,
    };
    if a.json {
        output::stdout(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        output::stdout(&text(&report))?;
    }
    Ok(exit::SUCCESS)
}

fn round(
    cold: bool,
    repo: &Reference,
    seconds: f64,
    cpu_seconds: f64,
    requests: usize,
    summary: &Summary,
    blob_bytes: u64,
) -> Round {
    Round {
        kind: if cold { "cold" } else { "warm" },
        reference: repo.to_string(),
        seconds,
        mb_per_s: cold.then(|| blob_bytes as f64 / seconds.max(1e-9) / 1e6),
        requests,
        bytes_sent: summary.bytes_sent,
        blobs_pushed: summary.blobs_pushed,
        blobs_mounted: summary.blobs_mounted,
        blobs_skipped: summary.blobs_skipped,
        cpu_seconds,
    }
}

fn text(r: &Report) -> String {
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
