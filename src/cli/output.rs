//! What people see on stderr: logging setup and a plain line-per-event reporter. stdout
//! carries only data (`--json`).

use werf_push::push::{Summary, TagStatus};

use super::args::{GlobalArgs, LogFormat};

pub fn init_logging(g: &GlobalArgs) {
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info,werf_push=debug",
        (false, _) => "debug,werf_push=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WERF_PUSH_LOG")
        .unwrap_or_else(|_| level.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::env::var_os("NO_COLOR").is_none());
    let _ = match g.log_format {
        LogFormat::Text => builder.without_time().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

pub fn print_summary(s: &Summary, quiet: bool) {
    if quiet {
        return;
    }
    let up = s
        .tags
        .iter()
        .filter(|t| t.status == TagStatus::UpToDate)
        .count();
    eprintln!(
        "done: {} tags ({} up-to-date), blobs: {} pushed, {} mounted, {} present; {} sent in {:.2}s ({}/s)",
        s.tags.len(),
        up,
        s.blobs_pushed,
        s.blobs_mounted,
        s.blobs_skipped,
        human(s.bytes_sent),
        s.seconds,
        human((s.bytes_sent as f64 / s.seconds.max(1e-3)) as u64)
    );
}

pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The end of a push: the `--json` summary on stdout, then the first failure, or the
/// summary line on stderr.
pub fn finish(
    summary: &Summary,
    errors: Vec<werf_push::push::PushError>,
    json: bool,
    progress: &super::progress::Progress,
) -> anyhow::Result<i32> {
    progress.finish();
    if json {
        println!("{}", serde_json::to_string_pretty(summary)?);
    }
    if let Some(first) = errors.into_iter().next() {
        return Err(first.into());
    }
    print_summary(summary, !progress.visible());
    Ok(super::exit::SUCCESS)
}
