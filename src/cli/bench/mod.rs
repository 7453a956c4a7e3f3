//! `werf-push bench --repo REPO`: push throughput of a registry. Pushes one image of
//! synthetic blobs (generated from `--seed` while they are sent: no disk) or a layout's
//! image (`--from oci:DIR`), `--rounds` times cold (a fresh repository `REPO-<run>-<n>`
//! each round) and `--warm-rounds` times warm (the last cold repository again: everything
//! present). Reports per round seconds, MB/s (10^6 bytes), requests and bytes sent; per
//! request kind p50/p95 latency; CPU time of the pushes and peak memory of this process.
//! The known-blob cache is never used here (cold rounds must upload). This file runs the
//! rounds; the measurements are `stats.rs`'s, the results (a round's line, the medians, as
//! JSON or a table) `report.rs`'s.

mod report;
mod stats;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use werf_push_engine::{BlobSource, NoopReporter, PushImage, PushOptions, Pusher, Target};
use werf_push_layout::Layout;
use werf_push_registry::Registries;
use werf_push_spec::{Descriptor, Manifest, Reference};
use werf_push_transport::TransportOptions;

use super::flags::{GlobalArgs, RegistryArgs, UploadArgs};
use super::signal::interrupt;
use super::size::parse_size;
use super::{exit, output, settings};
use report::{Measured, Pushed, Report, Round, Rounds};
use stats::{Recorder, Sample};
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
    let config_desc = Descriptor::new(
        "application/vnd.oci.image.config.v1+json",
        werf_push_spec::Digest::sha256_of(&config),
        config.len() as u64,
    );
    let mut blobs = vec![(config_desc.clone(), BlobSource::Bytes(config))];
    let mut layers = Vec::new();
    for ((s, size), digest) in specs.into_iter().zip(digests) {
        let desc = Descriptor::new(layer_type, digest, size);
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
    let base = checked_base(&a)?;
    let (image, source) = match &a.from {
        Some(src) => (layout_image(src)?, src.clone()),
        None => (
            synthetic_image(a.seed, a.blobs, &a.blob_size).await?,
            format!("synthetic seed {}", a.seed),
        ),
    };
    let bench = Bench::new(&a, image)?;
    let (cpu_start, _) = stats::rusage();
    let rounds = bench.rounds(&a, &base, g.quiet).await?;
    let (cpu_end, peak) = stats::rusage();
    let pushed = Pushed {
        source,
        blobs: bench.image.blobs().len(),
        blob_bytes: bench.blob_bytes,
        opts: &bench.opts,
    };
    let report = Report::new(pushed, rounds, cpu_end - cpu_start, peak);
    if a.json {
        output::stdout(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        output::stdout(&report.text())?;
    }
    Ok(exit::SUCCESS)
}

/// The flags checked, and the reference of the rounds (`--repo` and `--tag`).
fn checked_base(a: &BenchArgs) -> Result<Reference> {
    if a.rounds == 0 && a.warm_rounds == 0 {
        bail!("nothing to measure: --rounds and --warm-rounds are both 0");
    }
    if a.from.is_none() && (a.blobs == 0 || a.blob_size.contains(&0)) {
        bail!("--blobs and --blob-size must be at least 1");
    }
    Reference::parse(&format!("{}:{}", a.repo.trim_end_matches('/'), a.tag))
        .with_context(|| format!("--repo '{}' / --tag '{}'", a.repo, a.tag))
}

/// What every round pushes and how: the image, the push settings (no known-blob cache:
/// cold rounds must upload), the transport's, whose requests `recorder` times.
struct Bench {
    image: Arc<PushImage>,
    /// Bytes of every blob of the image.
    blob_bytes: u64,
    opts: PushOptions,
    transport: TransportOptions,
    recorder: Recorder,
}

impl Bench {
    fn new(a: &BenchArgs, image: PushImage) -> Result<Bench> {
        let blob_bytes = image.blobs().iter().map(|(d, _)| d.size).sum();
        let mut opts = settings::push_options(&a.upload, false);
        opts.known_blobs = None;
        let recorder = Recorder::default();
        let mut transport = settings::transport_options(&a.registry)?;
        transport.observer = Some(recorder.observer());
        Ok(Bench {
            image: Arc::new(image),
            blob_bytes,
            opts,
            transport,
            recorder,
        })
    }

    /// The cold rounds, each to a new repository `REPO-<run>-<n>`, then the warm ones to
    /// the last cold repository; a failed round ends the run.
    async fn rounds(&self, a: &BenchArgs, base: &Reference, quiet: bool) -> Result<Rounds> {
        let id = run_id();
        let mut out = Rounds::default();
        let mut repo = base.clone();
        let total = a.rounds + a.warm_rounds;
        for i in 0..total {
            let cold = i < a.rounds;
            if cold {
                repo.repository = format!("{}-{id}-{}", base.repository, i + 1);
            }
            if !quiet && !a.json {
                let kind = if cold { "cold" } else { "warm" };
                eprintln!("round {}/{total}: {kind} {repo}", i + 1);
            }
            let (round, samples) = self
                .round(a, cold, &repo)
                .await
                .with_context(|| format!("bench round {}", i + 1))?;
            out.rounds.push(round);
            if cold { &mut out.cold } else { &mut out.warm }.extend(samples);
        }
        Ok(out)
    }

    /// One push of the image to `repo` over new connections and a new retry budget,
    /// measured: its round and the requests it made.
    async fn round(
        &self,
        a: &BenchArgs,
        cold: bool,
        repo: &Reference,
    ) -> Result<(Round, Vec<Sample>)> {
        let budget = settings::retry_budget(&a.registry);
        let registries = Registries::new(self.transport.clone(), budget);
        let pusher = Pusher::new(
            self.opts.clone(),
            Arc::new(registries),
            Arc::new(NoopReporter),
        )
        .with_cancel(interrupt().clone());
        let (cpu0, _) = stats::rusage();
        let started = Instant::now();
        let target = Target {
            image: self.image.clone(),
            dest: repo.clone(),
        };
        let (summary, errors) = pusher.push(vec![target]).await;
        let seconds = started.elapsed().as_secs_f64();
        let (cpu1, _) = stats::rusage();
        if let Some(first) = errors.into_iter().next() {
            return Err(first.into());
        }
        let samples = self.recorder.take();
        let round = Round::new(Measured {
            cold,
            repo,
            seconds,
            cpu_seconds: cpu1 - cpu0,
            requests: samples.len(),
            summary: &summary,
            blob_bytes: self.blob_bytes,
        });
        Ok((round, samples))
    }
}
