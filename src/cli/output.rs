//! What people see on stderr: logging setup (its lines above progress bars), the results
//! of a run (a line per image for publish, the totals), as text or, with `--log-format
//! json`, as JSON lines. stdout carries only data (`--json`). Colour only on a terminal.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use werf_push_engine::{BlobStatus, PushError, Summary, TagStatus};
use werf_push_spec::ErrorKind;
use werf_push_stages::ImageName;
use werf_push_werf::report::{ImageEntry, Report};

use super::flags::{GlobalArgs, LogFormat};
use super::progress::Progress;
use super::size::human;
use super::tally::count;

/// `--log-format json`: results and errors are JSON lines too.
static JSON: AtomicBool = AtomicBool::new(false);

/// Whether stderr speaks JSON lines.
pub fn json_lines() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// One result or error as a JSON line on stderr (`--log-format json`).
pub fn json_line(v: serde_json::Value) {
    eprintln!("{v}");
}

pub fn init_logging(g: &GlobalArgs) {
    use tracing_subscriber::prelude::*;
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info,werf_push=debug",
        (false, _) => "debug,werf_push=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WERF_PUSH_LOG")
        .unwrap_or_else(|_| level.into());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(|| AboveBars)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
    JSON.store(g.log_format == LogFormat::Json, Ordering::Relaxed);
    let fmt = match g.log_format {
        LogFormat::Text => fmt.without_time().with_filter(filter).boxed(),
        LogFormat::Json => fmt.json().with_filter(filter).boxed(),
    };
    // The filter is the printed lines' only: retries are read whatever it shows.
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(
            super::waits::RetryWaits.with_filter(tracing_subscriber::filter::filter_fn(|m| {
                m.target().starts_with("werf_push")
            })),
        )
        .try_init();
}

/// stderr for logging: while bars are drawn, each line goes above them.
struct AboveBars;

impl Write for AboveBars {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        super::progress::write_above_bars(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The totals line (`dry_run`: what a real run would do, also when all is up to date).
pub fn print_summary(s: &Summary, quiet: bool, dry_run: bool) {
    if quiet {
        return;
    }
    if json_lines() {
        json_line(serde_json::json!({
            "type": "summary",
            "tags": s.tags.len(),
            "blobs_pushed": s.blobs_pushed,
            "blobs_mounted": s.blobs_mounted,
            "blobs_skipped": s.blobs_skipped,
            "bytes_sent": s.bytes_sent,
            "manifests_written": s.manifests_written,
            "seconds": s.seconds,
        }));
        return;
    }
    let up = s
        .tags
        .iter()
        .filter(|t| t.status == TagStatus::UpToDate)
        .count();
    if dry_run {
        let would_tags = s
            .tags
            .iter()
            .filter(|t| t.status == TagStatus::WouldPush)
            .count();
        let pushed: Vec<_> = s
            .blobs
            .iter()
            .filter(|b| b.status == BlobStatus::WouldPush)
            .collect();
        let mounted = s
            .blobs
            .iter()
            .filter(|b| b.status == BlobStatus::WouldMount)
            .count();
        eprintln!(
            "dry run: would push {} ({}), mount {mounted}, write {} ({up} up-to-date); nothing was written",
            count(pushed.len(), "blob"),
            human(pushed.iter().map(|b| b.size).sum()),
            count(would_tags, "tag"),
        );
        return;
    }
    // Two lines that fit a terminal of 80 columns.
    eprintln!(
        "done: tags: {} pushed, {up} up-to-date; blobs: {} pushed, {} mounted, {} skipped",
        s.tags.len() - up,
        s.blobs_pushed,
        s.blobs_mounted,
        s.blobs_skipped,
    );
    eprintln!(
        "sent {} in {:.2}s ({}/s)",
        human(s.bytes_sent),
        s.seconds,
        human((s.bytes_sent as f64 / s.seconds.max(1e-3)) as u64)
    );
}

/// The end of a push: the `--json` summary on stdout (with `failed`: every failure, its
/// reference and error), then the summary line, or the failures: the first (with its hints
/// and its exit code) and then every other one ([`also_failed`]). A tag not written because
/// a blob of its failed is in `failed`, not on stderr: the blob's failure says it.
pub fn finish(
    summary: &Summary,
    errors: Vec<werf_push_engine::PushError>,
    json: bool,
    dry_run: bool,
    progress: &Progress,
    lines: &[String],
) -> anyhow::Result<()> {
    progress.finish();
    if json {
        let mut doc = serde_json::to_value(summary)?;
        doc["failed"] = errors.iter().map(failed).collect();
        stdout(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    }
    if progress.results() && !json_lines() {
        for l in lines {
            eprintln!("{l}");
        }
    }
    let consequence = |e: &PushError| matches!(e, PushError::Skipped { .. });
    let mut errors = errors;
    if !errors.is_empty() {
        let main = errors.iter().position(|e| !consequence(e)).unwrap_or(0);
        let first = errors.remove(main);
        let others = errors.iter().filter(|e| !consequence(e));
        *ALSO.lock().unwrap_or_else(|p| p.into_inner()) = others
            .map(|e| (werf_push_spec::text::error_chain(e), e.kind()))
            .collect();
        return Err(first.into());
    }
    print_summary(summary, !progress.results(), dry_run);
    Ok(())
}

/// The failures of the run besides the one returned as its error.
static ALSO: Mutex<Vec<(String, ErrorKind)>> = Mutex::new(Vec::new());

/// Prints the failures of the run besides the one just reported (its error line, the
/// class), as `error:` lines or JSON lines; once.
pub fn also_failed() {
    let also = std::mem::take(&mut *ALSO.lock().unwrap_or_else(|p| p.into_inner()));
    for (line, kind) in also {
        if json_lines() {
            json_line(serde_json::json!({
                "type": "error", "message": line, "class": kind.name(),
            }));
        } else {
            eprintln!("error: {line}");
        }
    }
}

/// A failure as `--json` lists it: what failed (a reference, a blob in a repository, a
/// registry), the error and its class.
fn failed(e: &PushError) -> serde_json::Value {
    let what = match e {
        PushError::Manifest { reference, .. } | PushError::Skipped { reference, .. } => {
            Some(reference.clone())
        }
        PushError::Blob {
            repository, digest, ..
        } => Some(format!("{repository}@{digest}")),
        PushError::Connect { registry, .. } => Some(registry.clone()),
        _ => None,
    };
    serde_json::json!({
        "reference": what,
        "error": werf_push_spec::text::error_chain(e),
        "class": e.kind().name(),
    })
}

/// The results of a publish, a line per image (its repository, its tags grouped by status,
/// the short digest of its manifest) and one for the stages cache (its repository and
/// tags), e.g. `backend  localhost:5000/app/backend  pushed: v1, main  (sha256:0a1b2c3d4e5f)`.
/// With `--log-format json` each is a JSON line on stderr instead, and none is returned.
pub fn per_image(report: &Report, summary: &Summary) -> Vec<String> {
    let width = report
        .images
        .keys()
        .map(|n| n.len().max(1))
        .max()
        .unwrap_or(1);
    let mut out = Vec::new();
    for (name, image) in &report.images {
        let by_status = tags_by_status(report, name);
        if json_lines() {
            json_line(serde_json::json!({
                "type": "image", "image": name, "repository": image.docker_repo,
                "digest": image.docker_image_digest, "tags": by_status,
            }));
        } else {
            out.push(image_line(name, image, &by_status, width));
        }
    }
    out.extend(stages_line(summary));
    out
}

/// The tags of image `name` (the tag of each reference), by status.
fn tags_by_status<'a>(report: &'a Report, name: &str) -> BTreeMap<&'a str, Vec<String>> {
    let mut by_status: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in report
        .references
        .iter()
        .filter(|r| r.werf_image_name == name)
    {
        let tag = r
            .reference
            .rsplit_once(':')
            .map_or(r.reference.as_str(), |(_, t)| t);
        by_status
            .entry(&r.status)
            .or_default()
            .push(tag.to_string());
    }
    by_status
}

/// `backend  localhost:5000/app/backend  pushed: v1, main  (sha256:0a1b2c3d4e5f)`, the name
/// padded to `width`.
fn image_line(
    name: &str,
    image: &ImageEntry,
    by_status: &BTreeMap<&str, Vec<String>>,
    width: usize,
) -> String {
    let tags: Vec<String> = by_status
        .iter()
        .map(|(status, tags)| format!("{status}: {}", tags.join(", ")))
        .collect();
    let shown = if name.is_empty() {
        ImageName::NAMELESS
    } else {
        name
    };
    let digest = image
        .docker_image_digest
        .split_once(':')
        .map(|(a, hex)| format!("  ({a}:{})", hex.get(..12).unwrap_or(hex)))
        .unwrap_or_default();
    format!(
        "{shown:<width$}  {}  {}{digest}",
        image.docker_repo,
        tags.join("; ")
    )
}

/// `stages cache REPO: 12 tags, 3 pushed, 9 up-to-date` when the run wrote stage tags (a
/// JSON line instead with `--log-format json`).
fn stages_line(summary: &Summary) -> Option<String> {
    let stage_tags: Vec<_> = summary
        .tags
        .iter()
        .filter(|t| t.reference.contains(":image-stage-"))
        .collect();
    if stage_tags.is_empty() {
        return None;
    }
    let count = |s| stage_tags.iter().filter(|t| t.status == s).count();
    let (pushed, up) = (count(TagStatus::Pushed), count(TagStatus::UpToDate));
    let would = count(TagStatus::WouldPush);
    let repo = stage_tags[0]
        .reference
        .rsplit_once(":image-stage-")
        .map_or("", |(r, _)| r);
    if json_lines() {
        json_line(serde_json::json!({
            "type": "stages", "repository": repo, "tags": stage_tags.len(),
            "pushed": pushed, "up_to_date": up,
        }));
        return None;
    }
    let mut text = format!(
        "stages cache {repo}: {}, {pushed} pushed, {up} up-to-date",
        super::tally::count(stage_tags.len(), "tag")
    );
    if would > 0 {
        text.push_str(&format!(", {would} would be pushed"));
    }
    Some(text)
}

/// `value` as JSON, or `text()` as lines, on stdout.
pub fn print<T: serde::Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    let body = if json {
        serde_json::to_string_pretty(value)?
    } else {
        text()
    };
    stdout(&format!("{body}\n"))?;
    Ok(())
}

/// Set once stdout's reader has gone: the rest of the output is dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout and flushes it: every command's data goes through here. When the
/// reader has gone (`werf-push stages list | head -1`), this and every later write is
/// dropped quietly and the command ends with its own exit code (0 when it succeeded), as
/// `git` and `rg` do; other write errors (a full disk behind `>`) are errors.
pub fn stdout(text: &str) -> std::io::Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}
