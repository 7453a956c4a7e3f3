//! Progress on stderr, fed by the library's `Reporter` events. On a terminal: one bar per
//! blob being sent (drawn once its first bytes go, so blobs found present never flash) and
//! a total line with the rate over the last seconds and an ETA, all fitted to the
//! terminal's width at every redraw. In CI or a pipe: a plain line every few seconds with
//! percent, rate and ETA. `--progress none`: neither. Results (tag lines) are shown in every
//! mode but `-q`; per-blob lines only with `-v`. Knows nothing of how results are summed up.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use werf_push::push::{BlobStatus, Event, Reporter, TagStatus};

use super::flags::ProgressMode;
use super::rate::{short_duration, Window};
use super::size::human;

/// How often plain mode prints a progress line.
const PLAIN_EVERY: Duration = Duration::from_secs(2);

/// What is shown besides progress.
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    /// Tag results as lines (push); publish sums them up per image at the end instead.
    pub tag_lines: bool,
    /// Results at all (not `-q`).
    pub results: bool,
    /// A line per blob (`-v`).
    pub blob_lines: bool,
}

pub struct Progress {
    mode: Mode,
    shown: Shown,
    start: Instant,
    state: Mutex<State>,
}

enum Mode {
    Bars(MultiProgress),
    Plain,
    Hidden,
}

#[derive(Default)]
struct State {
    bars: HashMap<String, ProgressBar>,
    overall: Option<ProgressBar>,
    /// Bytes of the blobs that are being or were sent (not those found present).
    total: u64,
    /// Of those, bytes sent.
    sent: u64,
    /// Blobs started, by digest.
    active: HashMap<String, Active>,
    window: Window,
    last_plain: Option<Instant>,
}

struct Active {
    sent: u64,
    size: u64,
    repository: String,
}

impl Progress {
    /// `auto` means bars on a terminal, plain lines elsewhere (CI, pipes).
    pub fn new(mode: ProgressMode, shown: Shown) -> Progress {
        let tty = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let mode = match (shown.results, mode) {
            (false, _) | (_, ProgressMode::None) => Mode::Hidden,
            (_, ProgressMode::Plain) => Mode::Plain,
            (_, ProgressMode::Auto) if !tty => Mode::Plain,
            _ => Mode::Bars(MultiProgress::with_draw_target(
                ProgressDrawTarget::stderr_with_hz(8),
            )),
        };
        Progress {
            mode,
            shown,
            start: Instant::now(),
            state: Mutex::new(State::default()),
        }
    }

    /// Whether results are shown (not `-q`).
    pub fn results(&self) -> bool {
        self.shown.results
    }

    /// A line above the bars (or on its own).
    pub fn line(&self, text: &str) {
        match &self.mode {
            Mode::Bars(mp) => {
                let _ = mp.println(text);
            }
            _ if self.shown.results => {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
            _ => {}
        }
    }

    /// Removes the bars before the final summary.
    pub fn finish(&self) {
        let mut st = self.lock();
        for (_, bar) in st.bars.drain() {
            bar.finish_and_clear();
        }
        if let Some(o) = st.overall.take() {
            o.finish_and_clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while drawing must not take progress down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn progress(&self, key: String, bytes: u64) {
        let mut st = self.lock();
        let Some(a) = st.active.get_mut(&key) else {
            return;
        };
        let (prev, size) = (a.sent, a.size);
        a.sent = bytes;
        let prefix = format!("{} {}", short_digest(&key), short_repo(&a.repository));
        if prev == 0 && bytes > 0 {
            st.total += size; // it is being sent: from now on it counts
        }
        st.sent += bytes.saturating_sub(prev);
        let now = self.start.elapsed();
        let sent = st.sent;
        st.window.record(now, sent);
        let text = total_text(&st);
        match &self.mode {
            Mode::Bars(mp) => {
                let (total, sent) = (st.total, st.sent);
                let overall = st.overall.get_or_insert_with(|| {
                    let o = mp.add(ProgressBar::new(1).with_style(overall_style()));
                    o.set_prefix("total");
                    o
                });
                overall.set_length(total.max(1));
                overall.set_position(sent.min(total));
                overall.set_message(text);
                let overall = overall.clone();
                let bar = st.bars.entry(key.clone()).or_insert_with(|| {
                    let b =
                        mp.insert_before(&overall, ProgressBar::new(size).with_style(blob_style()));
                    b.set_prefix(prefix);
                    b
                });
                if bytes < bar.position() || !bar.message().is_empty() && bytes > bar.position() {
                    bar.set_message(""); // moving again after a retry
                }
                bar.set_position(bytes);
            }
            Mode::Plain if st.last_plain.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) => {
                st.last_plain = Some(Instant::now());
                let active = st.active.values().filter(|a| a.sent > 0).count();
                drop(st);
                self.line(&format!("progress: {text}, {active} blobs active"));
            }
            _ => {}
        }
    }
}

/// `12.0 MiB of 40.0 MiB (30%), 38.2 MiB/s, eta 1s`
fn total_text(st: &State) -> String {
    let pct = (st.sent.min(st.total) * 100)
        .checked_div(st.total)
        .unwrap_or(0);
    let mut s = format!("{} of {} ({pct}%)", human(st.sent), human(st.total));
    if let Some(r) = st.window.rate() {
        s.push_str(&format!(", {}/s", human(r as u64)));
    }
    if let Some(eta) = st.window.eta(st.total.saturating_sub(st.sent)) {
        s.push_str(&format!(", eta {}", short_duration(eta)));
    }
    s
}

fn blob_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix} [{wide_bar}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

fn overall_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} [{wide_bar}] {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("## ")
}

impl Reporter for Progress {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::BlobStarted {
                repository,
                digest,
                size,
            } => {
                let a = Active {
                    sent: 0,
                    size,
                    repository: repository.to_string(),
                };
                self.lock().active.insert(digest.to_string(), a);
            }
            Event::BlobProgress { digest, bytes } => {
                if !matches!(self.mode, Mode::Hidden) {
                    self.progress(digest.to_string(), bytes);
                }
            }
            Event::BlobDone { record } => {
                let key = record.digest.to_string();
                {
                    let mut st = self.lock();
                    if let Some(Active { sent, size, .. }) = st.active.remove(&key) {
                        if record.status == BlobStatus::Pushed {
                            if sent == 0 {
                                st.total += size;
                            }
                            st.sent += size.saturating_sub(sent);
                        } else if sent > 0 {
                            // Counted, then found present after all: out of the total.
                            st.total = st.total.saturating_sub(size);
                            st.sent = st.sent.saturating_sub(sent);
                        }
                    }
                    if let Some(bar) = st.bars.remove(&key) {
                        bar.finish_and_clear();
                    }
                }
                if !self.shown.blob_lines {
                    return;
                }
                let what = match record.status {
                    BlobStatus::Pushed => "pushed",
                    BlobStatus::Mounted => "mounted",
                    BlobStatus::Skipped => "exists",
                    BlobStatus::WouldPush => "would push",
                    BlobStatus::WouldMount => "would mount",
                };
                let from = record
                    .mounted_from
                    .as_deref()
                    .map(|f| format!(" from {f}"))
                    .unwrap_or_default();
                self.line(&format!(
                    "blob {} {:>10} {what}{from} ({})",
                    record.digest.short(),
                    human(record.size),
                    record.repository
                ));
            }
            Event::TagDone { record } => {
                if !self.shown.tag_lines {
                    return;
                }
                let what = match record.status {
                    TagStatus::Pushed => "pushed",
                    TagStatus::UpToDate => "up-to-date",
                    TagStatus::WouldPush => "would push",
                };
                self.line(&format!(
                    "tag  {} {what} {}",
                    record.reference, record.digest
                ));
            }
            Event::Retrying {
                what,
                digest,
                reason,
                wait,
                attempt,
                max,
            } => {
                let note = format!("retry {attempt}/{max} in {:.1}s", wait.as_secs_f32());
                // The blob's bar says it is retrying instead of standing still.
                if let Some(d) = digest {
                    if let Some(bar) = self.lock().bars.get(&d.to_string()) {
                        bar.set_message(note.clone());
                    }
                }
                if matches!(self.mode, Mode::Hidden) && !self.shown.blob_lines {
                    return;
                }
                self.line(&format!(
                    "retry {attempt}/{max} {what} in {:.1}s: {reason}",
                    wait.as_secs_f32()
                ));
            }
        }
    }
}

/// The first 8 hex digits of a digest's text (`sha256:d5e0bb34...` -> `d5e0bb34`).
fn short_digest(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.get(..8).unwrap_or(hex)
}

fn short_repo(repo: &str) -> String {
    let n = repo.chars().count();
    if n <= 15 {
        repo.to_string()
    } else {
        let tail: String = repo.chars().skip(n - 14).collect();
        format!("…{tail}")
    }
}
