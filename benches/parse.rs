//! Micro-benchmarks of pure hot paths (slug, manifest parsing, layout reading), timed with
//! std only: `cargo bench --bench parse`. Prints the median of several rounds per case.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use werf_push::layout::Layout;
use werf_push::spec::Manifest;
use werf_push::werf::slug::slugify_docker_tag;

fn median_ns(iters: u32, mut f: impl FnMut()) -> f64 {
    let mut rounds: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    rounds.sort_by(|a, b| a.total_cmp(b));
    rounds[rounds.len() / 2]
}

fn main() {
    // `cargo test --all-targets` runs benches as tests: one quick round only.
    let iters = if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        10
    };
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example/.werf/stages");
    let layout = Layout::open(&example).expect("example layout");
    let entry = layout.entries()[2].clone();
    let manifest = layout.read_blob(&entry).expect("manifest");

    let cases: Vec<(&str, Box<dyn FnMut()>)> = vec![
        (
            "slug of a branch name",
            Box::new(|| {
                drop(black_box(slugify_docker_tag(black_box(
                    "feature/JIRA-1234_Add-Settings/ÄÖÜ",
                ))))
            }),
        ),
        (
            "parse an image manifest",
            Box::new(|| drop(black_box(Manifest::parse(Bytes::clone(&manifest), None)))),
        ),
        (
            "open the example layout",
            Box::new(|| drop(black_box(Layout::open(&example)))),
        ),
        (
            "load one image of it",
            Box::new(|| drop(black_box(layout.image(&entry)))),
        ),
    ];
    for (name, mut f) in cases {
        let div = if name.starts_with("open") || name.starts_with("load") {
            20
        } else {
            1
        };
        let ns = median_ns((iters / div).max(1), &mut f);
        println!("{name:<28} {:>10.0} ns/iter", ns);
    }
}
