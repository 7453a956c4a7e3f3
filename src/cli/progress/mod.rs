//! Progress on stderr, fed by the library's `Reporter` events. On a terminal: one bar per
//! blob being sent (drawn once its first bytes go, so blobs found present never flash; its
//! rate over the last seconds and an ETA) and a total line (the sum of those rates), each
//! one line fitted to the terminal's width (one wide field per line), all drawn together at
//! most 8 times a second, with lines logged meanwhile above them. In CI or a pipe: a plain
//! line every few seconds, whatever moves, saying what is waited for when nothing does.
//! `--progress none`: neither. On Ctrl-C or SIGTERM the bars are stopped and cleared
//! before anything else is printed. Results (tag lines) are shown in every mode but `-q`;
//! per-blob lines only with `-v`. The numbers come from `tally`, the lines' words from
//! `lines`; knows nothing of how results are summed up.

mod lines;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use werf_push_engine::{BlobRecord, BlobStatus, Event, Reporter};
use werf_push_spec::Digest;
use werf_push_transport::RetryNotice;

use lines::{blob_line, short_repo, tag_line};

use super::flags::ProgressMode;
use super::tally::Tally;
use super::term::Narrower;

/// How often plain mode prints a progress line, whatever moves.
pub const PLAIN_EVERY: Duration = Duration::from_secs(2);
/// How often the bars are drawn at most (8 times a second).
const DRAW_EVERY: Duration = Duration::from_millis(125);

/// The bars being drawn, if any: lines written meanwhile by logging go above them
/// ([`write_above_bars`]) instead of into the last bar's line.
static DRAWING: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Writes `buf` to stderr above the bars (they are cleared, the text written, the bars
/// drawn again), or plainly when none are drawn.
pub fn write_above_bars(buf: &[u8]) -> std::io::Result<()> {
    let drawing = DRAWING.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match drawing {
        Some(mp) => mp.suspend(|| std::io::stderr().write_all(buf)),
        None => std::io::stderr().write_all(buf),
    }
}

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
    tally: Tally,
    /// Blobs being sent, by digest: their repository (for the bar's label) and size.
    repos: HashMap<String, (String, u64)>,
    last_plain: Option<Instant>,
    /// When the bars were last drawn.
    last_draw: Option<Instant>,
    /// What a blob's bar says instead of its rate while it waits to retry, by digest.
    notes: HashMap<String, String>,
    /// Bars stopped for good (the run is over or interrupted): lines go straight out.
    stopped: bool,
}

impl Progress {
    /// `auto` means bars on a terminal, plain lines elsewhere (CI, pipes).
    pub fn new(mode: ProgressMode, shown: Shown) -> Progress {
        let tty = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let mode = match (shown.results, mode) {
            (false, _) | (_, ProgressMode::None) => Mode::Hidden,
            (_, ProgressMode::Plain) => Mode::Plain,
            (_, ProgressMode::Auto) if !tty => Mode::Plain,
            _ => {
                // Not rate-limited by indicatif: `progress` draws every bar at once, at most
                // every DRAW_EVERY.
                let mp = MultiProgress::with_draw_target(ProgressDrawTarget::term_like(Box::new(
                    Narrower::stderr(),
                )));
                *DRAWING.lock().unwrap_or_else(|e| e.into_inner()) = Some(mp.clone());
                Mode::Bars(mp)
            }
        };
        Progress {
            mode,
            shown,
            start: Instant::now(),
            state: Mutex::new(State::default()),
        }
    }

    /// In plain mode, a line every [`PLAIN_EVERY`] while the run lasts (a silent CI job
    /// gets killed), saying what is waited for when no byte moves. Ends with the run.
    pub fn tick(self: &Arc<Self>) {
        if !matches!(self.mode, Mode::Plain) {
            return;
        }
        let weak: Weak<Progress> = Arc::downgrade(self);
        tokio::spawn(async move {
            // Looks often, prints when a line is due: lines come PLAIN_EVERY apart.
            let mut every = tokio::time::interval(PLAIN_EVERY / 4);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(p) = weak.upgrade() else { return };
                p.plain_line(true);
            }
        });
    }

    /// Whether results are shown (not `-q`).
    pub fn results(&self) -> bool {
        self.shown.results
    }

    /// A line above the bars (or on its own). Written by us, not by indicatif: a line
    /// longer than the terminal wraps where the terminal wraps it (the bars' terminal is
    /// narrower than the real one, `term::Narrower`).
    pub fn line(&self, text: &str) {
        match &self.mode {
            Mode::Bars(mp) if !self.lock().stopped => {
                let _ = mp.suspend(|| writeln!(std::io::stderr(), "{text}"));
            }
            _ if self.shown.results => {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
            _ => {}
        }
    }

    /// Stops and clears the bars for good (before the final summary, or at an interrupt
    /// before its notice), so that nothing drawn is left on the screen or drawn again.
    pub fn finish(&self) {
        let mut st = self.lock();
        st.stopped = true;
        // Every line drawn cleared at once, then nothing drawn any more: bars finished one
        // by one would each redraw the others (and leave a line behind).
        if let Mode::Bars(mp) = &self.mode {
            *DRAWING.lock().unwrap_or_else(|e| e.into_inner()) = None;
            let _ = mp.clear();
            mp.set_draw_target(ProgressDrawTarget::hidden());
        }
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

    /// The plain line, when one is due (`ticked`: from the timer, which also says what is
    /// waited for).
    fn plain_line(&self, ticked: bool) {
        let mut st = self.lock();
        if st.stopped || st.last_plain.is_some_and(|t| t.elapsed() < PLAIN_EVERY) {
            return;
        }
        if !ticked && st.last_plain.is_some() {
            return;
        }
        st.last_plain = Some(Instant::now());
        let mut text = format!(
            "progress: {}, {} active",
            st.tally.text(),
            super::tally::count(st.tally.moving(), "blob")
        );
        if ticked {
            let transport = super::waits::pending();
            if let Some(w) = st
                .tally
                .waiting(self.start.elapsed(), PLAIN_EVERY, transport)
            {
                text.push_str(&format!("; {w}"));
            }
        }
        drop(st);
        self.line(&text);
    }

    fn progress(&self, digest: &werf_push_spec::Digest, bytes: u64) {
        let key = digest.to_string();
        let mut st = self.lock();
        if st.stopped || !st.tally.is_active(&key) {
            return;
        }
        st.tally.moved(&key, bytes, self.start.elapsed());
        let Mode::Bars(mp) = &self.mode else {
            drop(st);
            // The first line at once, the others by the timer.
            self.plain_line(false);
            return;
        };
        // Moving again after a retry.
        st.notes.remove(&key);
        // A new bar at once; otherwise every bar and the total together, at most
        // DRAW_EVERY apart: indicatif formats a bar's line only when that bar draws, so
        // bars updated one by one would show numbers of different moments.
        let new = !st.bars.contains_key(&key);
        if !new && st.last_draw.is_some_and(|t| t.elapsed() < DRAW_EVERY) {
            return;
        }
        st.last_draw = Some(Instant::now());
        let overall = st
            .overall
            .get_or_insert_with(|| {
                let o = mp.add(ProgressBar::new(1).with_style(overall_style()));
                o.set_prefix("total");
                o
            })
            .clone();
        if new {
            let (repo, size) = st.repos.get(&key).cloned().unwrap_or_default();
            let b = mp.insert_before(&overall, ProgressBar::new(size).with_style(blob_style()));
            b.set_prefix(format!("{} {}", digest.short(), short_repo(&repo)));
            st.bars.insert(key, b);
        }
        for (digest, bar) in &st.bars {
            bar.set_position(st.tally.at(digest));
            match st.notes.get(digest) {
                Some(note) => bar.set_message(note.clone()),
                None => bar.set_message(st.tally.blob_text(digest)),
            }
        }
        let (sent, total) = st.tally.position();
        overall.set_length(total.max(1));
        overall.set_position(sent.min(total));
        overall.set_message(st.tally.text());
    }
}

fn blob_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} [{wide_bar}] {binary_bytes}/{binary_total_bytes} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// One wide field (the bar): the text beside it is as long as it needs.
fn overall_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} [{wide_bar}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("## ")
}

impl Reporter for Progress {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Planned { blobs } => {
                let blobs = blobs.iter().map(|(d, n)| (d.to_string(), *n));
                self.lock().tally.planned(blobs);
            }
            Event::BlobStarted {
                repository,
                digest,
                size,
            } => {
                let mut st = self.lock();
                let key = digest.to_string();
                st.tally.started(&key, size);
                st.repos.insert(key, (repository.to_string(), size));
            }
            Event::BlobProgress { digest, bytes } if !matches!(self.mode, Mode::Hidden) => {
                self.progress(digest, bytes);
            }
            Event::BlobDone { record } => self.blob_done(record),
            Event::TagDone { record } if self.shown.tag_lines => self.line(&tag_line(record)),
            Event::Retrying {
                what,
                digest,
                reason,
                wait,
                attempt,
                max,
            } => {
                let notice = RetryNotice {
                    what: &what,
                    reason: &reason,
                    wait,
                    attempt,
                    max,
                };
                self.retrying(digest, &notice);
            }
            // Progress with the display hidden, tags summed up at the end, or an event of a
            // newer library: nothing to show for it.
            _ => {}
        }
    }
}

impl Progress {
    /// A blob is done: its bar goes, its line is shown with `-v`.
    fn blob_done(&self, record: &BlobRecord) {
        let key = record.digest.to_string();
        {
            let mut st = self.lock();
            st.tally.done(&key, record.status == BlobStatus::Pushed);
            st.repos.remove(&key);
            st.notes.remove(&key);
            if let Some(bar) = st.bars.remove(&key) {
                bar.finish_and_clear();
            }
        }
        if self.shown.blob_lines {
            self.line(&blob_line(record));
        }
    }

    /// An operation waits to go again: the blob's bar says so instead of standing still,
    /// and the notice is a line (unless progress is hidden and blob lines are not shown).
    fn retrying(&self, digest: Option<&Digest>, notice: &RetryNotice<'_>) {
        let wait = notice.wait;
        let note = format!(
            "retry {}/{} in {:.1}s",
            notice.attempt,
            notice.max,
            wait.as_secs_f32()
        );
        {
            let mut st = self.lock();
            st.tally.retrying(notice.what, self.start.elapsed() + wait);
            if let Some(d) = digest.map(|d| d.to_string()) {
                if let Some(bar) = st.bars.get(&d) {
                    bar.set_message(note.clone());
                }
                st.notes.insert(d, note);
            }
        }
        if matches!(self.mode, Mode::Hidden) && !self.shown.blob_lines {
            return;
        }
        // The one format of every retry line.
        self.line(&notice.to_string());
    }
}
