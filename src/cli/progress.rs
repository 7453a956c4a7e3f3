//! Progress on stderr, fed by the library's `Reporter` events: bars (one per active blob,
//! with bytes, rate and ETA, plus an overall bar) on a terminal; periodic plain lines in CI
//! or a pipe; nothing with `--progress none`. State markers (exists, mounted, pushed,
//! up-to-date, retrying) are printed as lines in both visible modes.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use werf_push::push::{BlobStatus, Event, Reporter, TagStatus};

use super::args::ProgressMode;
use super::output::human;

/// How often plain mode prints a progress line.
const PLAIN_EVERY: Duration = Duration::from_secs(2);

pub struct Progress {
    mode: Mode,
    state: Mutex<State>,
}

enum Mode {
    Bars(MultiProgress),
    Plain,
    None,
}

#[derive(Default)]
struct State {
    bars: HashMap<String, ProgressBar>,
    overall: Option<ProgressBar>,
    total: u64,
    done: u64,
    active: HashMap<String, (u64, u64)>,
    last_plain: Option<Instant>,
}

impl Progress {
    /// `auto` means bars on a terminal, plain lines elsewhere (CI, pipes).
    pub fn new(mode: ProgressMode, quiet: bool) -> Progress {
        let tty = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let mode = match (quiet, mode) {
            (true, _) | (_, ProgressMode::None) => Mode::None,
            (_, ProgressMode::Plain) => Mode::Plain,
            (_, ProgressMode::Auto) if !tty => Mode::Plain,
            _ => Mode::Bars(MultiProgress::with_draw_target(
                ProgressDrawTarget::stderr_with_hz(8),
            )),
        };
        Progress {
            mode,
            state: Mutex::new(State::default()),
        }
    }

    /// Whether anything at all is shown.
    pub fn visible(&self) -> bool {
        !matches!(self.mode, Mode::None)
    }

    fn line(&self, text: &str) {
        match &self.mode {
            Mode::Bars(mp) => {
                let _ = mp.println(text);
            }
            Mode::Plain => {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
            Mode::None => {}
        }
    }

    /// Removes the bars before the final summary.
    pub fn finish(&self) {
        let mut st = self.state.lock().expect("progress lock");
        for (_, bar) in st.bars.drain() {
            bar.finish_and_clear();
        }
        if let Some(o) = st.overall.take() {
            o.finish_and_clear();
        }
    }
}

fn blob_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:<28} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

fn overall_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:<28} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {elapsed}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("## ")
}

impl Reporter for Progress {
    fn event(&self, event: Event<'_>) {
        if matches!(self.mode, Mode::None) {
            return;
        }
        match event {
            Event::BlobStarted {
                repository,
                digest,
                size,
            } => {
                let mut st = self.state.lock().expect("progress lock");
                st.total += size;
                st.active.insert(digest.to_string(), (0, size));
                if let Mode::Bars(mp) = &self.mode {
                    let total = st.total;
                    let overall = st.overall.get_or_insert_with(|| {
                        let o = mp.add(ProgressBar::new(0).with_style(overall_style()));
                        o.set_prefix("total");
                        o
                    });
                    overall.set_length(total);
                    let bar =
                        mp.insert_before(overall, ProgressBar::new(size).with_style(blob_style()));
                    bar.set_prefix(format!("{} {}", digest.short(), short_repo(repository)));
                    st.bars.insert(digest.to_string(), bar);
                }
            }
            Event::BlobProgress { digest, bytes } => {
                let mut st = self.state.lock().expect("progress lock");
                let key = digest.to_string();
                let prev = st.active.get(&key).map(|a| a.0).unwrap_or(0);
                if let Some(a) = st.active.get_mut(&key) {
                    a.0 = bytes;
                }
                if let Some(bar) = st.bars.get(&key) {
                    bar.set_position(bytes);
                }
                if let Some(o) = &st.overall {
                    o.inc(bytes.saturating_sub(prev));
                }
                if matches!(self.mode, Mode::Plain)
                    && st.last_plain.is_none_or(|t| t.elapsed() >= PLAIN_EVERY)
                {
                    st.last_plain = Some(Instant::now());
                    let sent: u64 = st.done + st.active.values().map(|a| a.0).sum::<u64>();
                    let text = format!(
                        "progress: {} of {} sent, {} blobs active",
                        human(sent),
                        human(st.total),
                        st.active.len()
                    );
                    drop(st);
                    self.line(&text);
                }
            }
            Event::BlobDone { record } => {
                let key = record.digest.to_string();
                {
                    let mut st = self.state.lock().expect("progress lock");
                    if let Some((sent, size)) = st.active.remove(&key) {
                        st.done += size;
                        if let Some(o) = &st.overall {
                            o.inc(size.saturating_sub(sent));
                        }
                    }
                    if let Some(bar) = st.bars.remove(&key) {
                        bar.finish_and_clear();
                    }
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
            Event::Retrying { what, reason, wait } => {
                self.line(&format!(
                    "retry {what} in {:.1}s: {reason}",
                    wait.as_secs_f32()
                ));
            }
        }
    }
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
