//! criterion benchmarks of the client-side hot paths: the streaming read of a blob file (as
//! `transport::Body` sends it: `transport::file_stream` with `STREAM_BUF` pieces, against
//! tokio's `ReaderStream` as a baseline), the synthetic
//! generator of `werf-push bench`, sha256 (what client-side hashing would cost), layout and
//! manifest parsing, planning a publish of many images, stages and tags
//! (`werf::publish::plan` on a generated stages storage), werf's slug, and `stages add`
//! of a directory of real files (32 MiB of Python's standard library when `python3` is
//! there, else this crate's sources) with gzip on all cores, gzip on one, and zstd, and
//! the bookkeeping of `stages pull` (10,000 stages added to the storage's index in one
//! batch, as a pull adds them, against 1,000 added one by one).
//! `cargo bench --bench hot_paths`; under `cargo test --all-targets` each runs once.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use futures_util::StreamExt;
use serde_json::json;
use sha2::Digest as _;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;
use werf_push_layout::{Layout, LayoutWriter};
use werf_push_spec::Manifest;
use werf_push_stages::add::{add, AddRequest};
use werf_push_stages::format::STAGE_ORDER;
use werf_push_stages::layer::{LayerCompression, LayerOptions};
use werf_push_stages::write::NewStage;
use werf_push_stages::{ImageName, StoreWriter};
use werf_push_transport::{file_stream, synthetic};
use werf_push_werf::naming::RepoMode;
use werf_push_werf::publish::{plan, PublishRequest};
use werf_push_werf::slug::slugify_docker_tag;
use werf_push_werf::tags::collect_tags;

const MIB: usize = 1 << 20;
const STREAM_BUF: usize = werf_push_transport::STREAM_BUF;

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

/// A stages storage of `images` images with stages from, install, setup sharing one base
/// layer (werf's annotations, as docs/stages-format.md says).
fn stages_storage(dir: &Path, images: usize) {
    let mut w = LayoutWriter::create(dir).expect("layout");
    let layer = "application/vnd.oci.image.layer.v1.tar+gzip";
    let base = w.write_blob(b"base layer bytes", layer).expect("blob");
    for i in 0..images {
        let mut layers = vec![base.clone()];
        for (s, stage) in ["from", "install", "setup"].iter().enumerate() {
            if s > 0 {
                let l = w
                    .write_blob(format!("image {i} stage {stage}").as_bytes(), layer)
                    .expect("blob");
                layers.push(l);
            }
            let diff_ids: Vec<String> = layers.iter().map(|l| l.digest.to_string()).collect();
            let cfg = json!({"architecture": "amd64", "os": "linux", "config": {"Labels": {"werf": "bench"}},
                "rootfs": {"type": "layers", "diff_ids": diff_ids}});
            let cfg = w
                .write_blob(
                    &serde_json::to_vec(&cfg).expect("json"),
                    "application/vnd.oci.image.config.v1+json",
                )
                .expect("blob");
            let desc = |d: &werf_push_spec::Descriptor| json!({"mediaType": d.media_type, "digest": d.digest.to_string(), "size": d.size});
            let m = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": desc(&cfg), "layers": layers.iter().map(desc).collect::<Vec<_>>()});
            let m = w
                .write_blob(
                    &serde_json::to_vec(&m).expect("json"),
                    "application/vnd.oci.image.manifest.v1+json",
                )
                .expect("blob");
            let sig = format!("{:056x}", i * 16 + s);
            w.add_entry(
                &m,
                json!({"annotations": {"org.opencontainers.image.ref.name": sig,
                    "io.werf.image": format!("image-{i}"), "io.werf.stage": stage,
                    "io.werf.signature": sig}}),
            );
        }
    }
    w.commit().expect("commit");
}

fn streaming(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("blob");
    let mut data = vec![0u8; 16 * MIB];
    synthetic::fill(1, 0, &mut data);
    std::fs::write(&path, &data).expect("write");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Bytes(data.len() as u64));
    let digest = werf_push_spec::Digest::sha256_of(&data);
    // (piece size, hashed as sent against the blob's digest, as uploads do)
    for (buf, checked) in [
        (64 << 10, false),
        (STREAM_BUF, false),
        (MIB, false),
        (STREAM_BUF, true),
    ] {
        let name = match checked {
            false => format!("file 16MiB, {} KiB pieces", buf >> 10),
            true => format!("file 16MiB, {} KiB pieces, digest checked", buf >> 10),
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let check =
                        checked.then(|| file_stream::StreamCheck::new(&digest, data.len() as u64));
                    let mut s = file_stream::open(&path, 0, data.len() as u64, buf, check)
                        .await
                        .expect("open");
                    let mut n = 0;
                    while let Some(piece) = s.next().await {
                        n += piece.expect("read").len();
                    }
                    black_box(n)
                })
            })
        });
    }
    g.bench_function("file 16MiB, tokio ReaderStream 256 KiB", |b| {
        b.iter(|| {
            rt.block_on(async {
                let f = tokio::fs::File::open(&path).await.expect("open");
                let mut s = ReaderStream::with_capacity(f.take(data.len() as u64), STREAM_BUF);
                let mut n = 0;
                while let Some(piece) = s.next().await {
                    n += piece.expect("read").len();
                }
                black_box(n)
            })
        })
    });
    g.bench_function("synthetic 16MiB", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut s = Box::pin(synthetic::stream(1, 0, 16 * MIB as u64));
                let mut n = 0;
                while let Some(piece) = s.next().await {
                    n += piece.expect("piece").len();
                }
                black_box(n)
            })
        })
    });
    g.bench_function("sha256 16MiB", |b| {
        b.iter(|| black_box(sha2::Sha256::digest(black_box(&data))))
    });
    g.finish();
}

fn parsing(c: &mut Criterion) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example/.werf/stages");
    let layout = Layout::open(&example).expect("example layout");
    let entry = layout.entries()[2].clone();
    let manifest = layout.read_blob(&entry).expect("manifest");
    c.bench_function("parse an image manifest", |b| {
        b.iter(|| black_box(Manifest::parse(Bytes::clone(&manifest), None)))
    });
    c.bench_function("open the example layout", |b| {
        b.iter(|| black_box(Layout::open(&example)))
    });
    c.bench_function("load one image of it", |b| {
        b.iter(|| black_box(layout.image(&entry)))
    });
    c.bench_function("slug of a branch name", |b| {
        b.iter(|| {
            black_box(slugify_docker_tag(black_box(
                "feature/JIRA-1234_Add-Settings/ÄÖÜ",
            )))
        })
    });
}

fn planning(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tmp");
    let stages = tmp.path().join("stages");
    stages_storage(&stages, 20);
    let custom: Vec<String> = (1..=5).map(|i| format!("v{i}")).collect();
    let tags = collect_tags(&custom, Vec::new(), None, None, None, false).expect("tags");
    let mut req = PublishRequest::new(tmp.path(), stages, "registry.example.com/group/app", tags);
    req.mode = RepoMode::Multirepo;
    req.with_stages = true;
    let targets = plan(&req).expect("plan").targets.len();
    assert_eq!(
        targets,
        20 * 3 + 20 * 5,
        "every stage and every tag planned"
    );
    c.bench_function("plan publish: 20 images x 3 stages x 5 tags", |b| {
        b.iter(|| black_box(plan(&req).expect("plan").targets.len()))
    });
}

/// Copies real files (Python's standard library, else `src/`) into `dir` in name order
/// until `limit` bytes; returns the bytes copied.
fn real_files(dir: &Path, limit: u64) -> u64 {
    let stdlib = std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| std::path::PathBuf::from(s.trim()))
        .filter(|p| p.is_dir());
    let from = stdlib.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut files = Vec::new();
    let mut dirs = vec![from.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let name = e.file_name();
            let skip = ["site-packages", "dist-packages", "__pycache__"];
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() && !skip.iter().any(|s| name == *s) {
                dirs.push(e.path());
            } else if t.is_file() {
                files.push(e.path());
            }
        }
    }
    files.sort();
    let mut total = 0;
    for f in files {
        let to = dir.join(f.strip_prefix(&from).expect("inside"));
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        total += std::fs::copy(&f, &to).expect("copy");
        if total >= limit {
            break;
        }
    }
    total
}

fn layers(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    let bytes = real_files(&src, 32 * MIB as u64);
    let mut g = c.benchmark_group("stages add");
    g.throughput(Throughput::Bytes(bytes));
    let cases = [
        ("gzip, all cores", LayerCompression::Gzip, 0),
        ("gzip, 1 thread", LayerCompression::Gzip, 1),
        ("zstd, all cores", LayerCompression::Zstd, 0),
    ];
    for (name, compression, threads) in cases {
        let mut req = AddRequest::new(
            tmp.path().join("stages"),
            ImageName::named("bench").expect("a valid name"),
            "from",
            src.clone(),
        );
        req.layer = LayerOptions::new(compression, threads);
        g.bench_function(format!("{} MiB, {name}", bytes >> 20), |b| {
            b.iter(|| black_box(add(&req).expect("add").layer_digest))
        });
    }
    g.finish();
}

/// `n` stages of `n / 10` images, ten stages each, as `stages pull` adds them.
fn pulled_stages(n: usize) -> Vec<NewStage> {
    (0..n)
        .map(|i| {
            NewStage::new(
                werf_push_spec::Descriptor::new(
                    werf_push_spec::media_type::OCI_MANIFEST,
                    werf_push_spec::Digest::sha256_of(&i.to_le_bytes()),
                    1,
                ),
                ImageName::named(&format!("image-{}", i / 10)).expect("name"),
                STAGE_ORDER[i % 10],
                format!("{i:056x}"),
            )
        })
        .collect()
}

fn pull_bookkeeping(c: &mut Criterion) {
    let mut g = c.benchmark_group("stages_pull_bookkeeping");
    let batch = pulled_stages(10_000);
    g.bench_function("add_stages_10000", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("tmp"),
            |dir| {
                let mut w = StoreWriter::open(dir.path()).expect("writer");
                let added = w.add_stages(&batch);
                assert!(added.iter().all(Result::is_ok));
                black_box(w.entries().len())
            },
            BatchSize::PerIteration,
        )
    });
    let few = pulled_stages(1_000);
    g.bench_function("add_stage_one_by_one_1000", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("tmp"),
            |dir| {
                let mut w = StoreWriter::open(dir.path()).expect("writer");
                for n in &few {
                    w.add_stage(&n.descriptor, &n.image, &n.stage, &n.signature)
                        .expect("added");
                }
                black_box(w.entries().len())
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = streaming, parsing, planning, layers, pull_bookkeeping
}
criterion_main!(benches);
