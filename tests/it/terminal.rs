//! What a terminal shows, read off the screen of a real terminal (a `tmux` pane of 80 and
//! 120 columns, `support::screen`) while werf-push pushes through an emulated slow link:
//! one line per bar, nothing wrapped, a result line as wide as the terminal on one line,
//! no text twice, the blob's rate and the total's agreeing with one blob moving, nothing
//! left over after the summary, log lines (`-v`) above the bars, never in them; on Ctrl-C
//! the bars stop and clear, and the notice and the outcome stand on lines of their own.
//! In CI (`--progress plain`) a line comes at the stated interval also while nothing
//! moves, saying what is waited for, and the whole is known from the first line.

use std::time::{Duration, Instant};

use crate::support::cmd::{assert_success, run, werf_push};
use crate::support::layouts::{image, Format};
use crate::support::proxy::{Proxy, ProxyConfig, StatusFault};
use crate::support::registry::Registry;
use crate::support::screen::Screen;
use crate::support::wan::{Wan, WanOptions};

const MIB: usize = 1 << 20;

/// A bar's line: `... [###   ] ...` (the total) or `... [==>  ] ...` (a blob).
fn is_bar(line: &str) -> bool {
    line.contains(" [") && (line.contains("] ") || line.ends_with(']'))
}

/// The rate a line shows (`12.3 MiB/s` -> bytes/s).
fn rate_of(line: &str) -> Option<f64> {
    let i = line.find("iB/s")?;
    let head = &line[..i];
    let unit = head.chars().last()?;
    let number: String = head[..head.len() - 1]
        .trim_end()
        .rsplit(' ')
        .next()?
        .to_string();
    let scale = match unit {
        'K' => 1024.0,
        'M' => 1024.0 * 1024.0,
        'G' => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number.trim_start_matches(',').parse::<f64>().ok()? * scale)
}

/// The werf-push command line, run in a pane.
fn command(args: &[&str]) -> String {
    let mut line = env!("CARGO_BIN_EXE_werf-push").to_string();
    for a in args {
        line.push(' ');
        line.push_str(a);
    }
    line
}

#[test]
fn bars_fit_the_terminal_and_nothing_is_left_after_the_summary() {
    let reg = Registry::start();
    // 6 MB/s: the 12 MiB layer takes about 2 s, frames are read every 100 ms.
    let wan = Wan::start(&reg.host, WanOptions::new(0, 6.0));
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("l");
    image(&dir, &[12 * MIB], 11, Format::Oci, None);
    let src = format!("oci:{}", dir.display());
    for width in [80usize, 120] {
        // A repository name that makes the tag line as wide as the terminal: wider than
        // the bars (a few columns narrower), it still stands on one line.
        let name = format!("{}/screen-{width}-", wan.host);
        let fill = width.saturating_sub(name.len() + "tag  :latest pushed sha256:".len() + 12);
        let dest = format!("{name}{}", "x".repeat(fill));
        let screen = Screen::start(&command(&["push", &src, &dest]), width, 30, &werf_push());
        let frames = frames_until_the_end(&screen);
        let (code, last) = screen.wait(Duration::from_secs(5));
        assert_eq!(code, 0, "{}", last.join("\n"));
        assert!(
            screen.wrapped().is_empty(),
            "{width} columns: lines wrapped: {:?}",
            screen.wrapped()
        );
        bars_fit_and_the_rates_agree(&frames, width);
        only_the_results_are_left_after_the_summary(&last, &dest, width);
    }
}

/// The screen's frames, read every 100 ms until the command's end shows (a minute at
/// most).
fn frames_until_the_end(screen: &Screen) -> Vec<Vec<String>> {
    let mut frames = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let frame = screen.capture(false);
        let ended = frame.iter().any(|l| l.starts_with("[exit "));
        frames.push(frame);
        if ended {
            return frames;
        }
        assert!(Instant::now() < deadline, "no end: {:?}", frames.last());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Some frames show the total's bar; in each, one total line with no text twice, no bar
/// wider than the terminal, and where one blob moves its rate agrees with the total's.
fn bars_fit_and_the_rates_agree(frames: &[Vec<String>], width: usize) {
    let with_bars: Vec<&Vec<String>> = frames
        .iter()
        .filter(|f| f.iter().any(|l| l.starts_with("total [")))
        .collect();
    assert!(
        !with_bars.is_empty(),
        "{width} columns: no frame showed the total's bar: {frames:?}"
    );
    let mut compared = 0;
    for f in &with_bars {
        let totals: Vec<&String> = f.iter().filter(|l| l.starts_with("total [")).collect();
        assert_eq!(totals.len(), 1, "one total line: {f:?}");
        let total = totals[0];
        assert_eq!(total.matches(" of ").count(), 1, "text twice: {total:?}");
        assert!(total.contains('#') || total.contains("[ "), "{total:?}");
        for l in f.iter().filter(|l| is_bar(l)) {
            assert!(l.chars().count() <= width, "{l:?}");
        }
        // One blob moves (the config is sent before the layer starts): its rate and
        // the total's are measured alike.
        let blobs: Vec<&String> = f
            .iter()
            .filter(|l| is_bar(l) && !l.starts_with("total"))
            .collect();
        if let ([blob], Some(t)) = (blobs.as_slice(), rate_of(total)) {
            if let Some(b) = rate_of(blob) {
                compared += 1;
                assert!(
                    (b - t).abs() / t < 0.05,
                    "blob {b} vs total {t} B/s: {blob:?} / {total:?}"
                );
            }
        }
    }
    assert!(compared > 0, "no frame showed both rates: {with_bars:?}");
}

/// After the summary: the result lines only, no bar, no "progress:" line; the tag line
/// as wide as the terminal with a short digest.
fn only_the_results_are_left_after_the_summary(last: &[String], dest: &str, width: usize) {
    let shown: Vec<&String> = last.iter().filter(|l| !l.is_empty()).collect();
    assert_eq!(shown.len(), 4, "{width} columns: {shown:?}");
    let tag = format!("tag  {dest}:latest pushed sha256:");
    assert!(shown[0].starts_with(&tag), "{:?}", shown[0]);
    assert_eq!(shown[0].chars().count(), width, "{:?}", shown[0]);
    assert_eq!(
        shown[0].len(),
        tag.len() + 12,
        "a short digest: {:?}",
        shown[0]
    );
    assert_eq!(
        shown[1],
        "done: tags: 1 pushed, 0 up-to-date; blobs: 2 pushed, 0 mounted, 0 skipped"
    );
    assert!(shown[2].starts_with("sent 12.0 MiB in "), "{:?}", shown[2]);
    assert_eq!(shown[3], "[exit 0]");
}

#[test]
fn ctrl_c_stops_the_bars_before_the_notice() {
    let reg = Registry::start();
    let wan = Wan::start(&reg.host, WanOptions::new(0, 4.0));
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("l");
    image(&dir, &[16 * MIB; 3], 12, Format::Oci, None);
    let src = format!("oci:{}", dir.display());
    let dest = format!("{}/stopped:v1", wan.host);
    let screen = Screen::start(&command(&["push", &src, &dest]), 80, 30, &werf_push());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !screen
        .capture(false)
        .iter()
        .any(|l| is_bar(l) && !l.starts_with("total") && l.contains("MiB/s"))
    {
        assert!(
            Instant::now() < deadline,
            "no blob bar: {:?}",
            screen.capture(false)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    screen.keys("C-c");
    let (code, last) = screen.wait(Duration::from_secs(20));
    assert_eq!(code, 130, "{}", last.join("\n"));
    let shown: Vec<&String> = last.iter().filter(|l| !l.is_empty()).collect();
    assert!(
        !shown.iter().any(|l| is_bar(l)),
        "a bar was left: {shown:?}"
    );
    assert!(screen.wrapped().is_empty(), "{:?}", screen.wrapped());
    assert_eq!(
        shown.as_slice(),
        [
            "interrupted: cancelling open uploads; Ctrl-C again to quit at once",
            "error: interrupted; nothing more was written (run again to finish)",
            "[exit 130]",
        ],
        "the notice and the outcome on lines of their own, no warning"
    );
}

#[test]
fn plain_progress_prints_at_its_interval_while_nothing_moves() {
    let reg = Registry::start();
    // Every upload start is refused once with `Retry-After: 5`: 5 s without a byte.
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            status_faults: vec![StatusFault::new(Some("POST"), "/blobs/uploads/", 503)
                .times(1)
                .retry_after("5")],
            ..Default::default()
        },
    );
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("l");
    image(&dir, &[3 * MIB, 2 * MIB], 13, Format::Oci, None);
    let src = format!("oci:{}", dir.display());
    let mut c = werf_push();
    c.args(["push", "--progress", "plain", &src])
        .arg(format!("{}/waits:v1", proxy.host));
    let out = run(&mut c);
    assert_success(&out);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .collect();
    // Lines 2 s apart while the retry is waited for, saying what waits and for how long.
    let waiting = lines
        .iter()
        .filter(|l| l.contains("; retrying POST upload in "))
        .count();
    assert!(
        waiting >= 2,
        "a line every 2 s while the retry is waited for, saying so\n{}",
        out.describe()
    );
    // The whole is known from the first line: the same total on every line.
    let totals: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split(" of ").nth(1)?.split(" (").next())
        .collect();
    assert!(!totals.is_empty(), "{}", out.describe());
    assert!(
        totals.iter().all(|t| *t == totals[0]),
        "the total changed: {totals:?}\n{}",
        out.describe()
    );
    assert!(totals[0].starts_with("5.0 MiB"), "{totals:?}");
}

/// With `-v`, the request lines logged while bars are drawn go above them: no log text in a
/// bar's line, no bar left between log lines.
#[test]
fn log_lines_go_above_the_bars() {
    let reg = Registry::start();
    let wan = Wan::start(&reg.host, WanOptions::new(0, 6.0));
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("l");
    image(&dir, &[6 * MIB, 6 * MIB], 14, Format::Oci, None);
    let src = format!("oci:{}", dir.display());
    let dest = format!("{}/logged:v1", wan.host);
    let args = [
        "-v",
        "push",
        "--upload-strategy",
        "chunked",
        "--chunk-size",
        "1MiB",
        &src,
        &dest,
    ];
    let screen = Screen::start(&command(&args), 200, 50, &werf_push());
    let mut frames = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let frame = screen.capture(true);
        let ended = frame.iter().any(|l| l.starts_with("[exit "));
        frames.push(frame);
        if ended {
            break;
        }
        assert!(Instant::now() < deadline, "no end: {:?}", frames.last());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, last) = screen.wait(Duration::from_secs(5));
    assert_eq!(code, 0, "{}", last.join("\n"));
    let logged = |l: &str| l.contains("DEBUG ") || l.contains("INFO ");
    let mut drawn = 0;
    for f in &frames {
        let bars: Vec<usize> = (0..f.len()).filter(|&i| is_bar(&f[i])).collect();
        drawn += bars.len();
        for &i in &bars {
            assert!(!logged(&f[i]), "log text in a bar's line: {:?}", f[i]);
        }
        // Bars are the last lines drawn: no log line below the first bar.
        if let Some(&first) = bars.first() {
            assert!(
                !f[first..].iter().any(|l| logged(l)),
                "a log line among the bars: {:?}",
                &f[first..]
            );
        }
    }
    assert!(drawn > 0, "no bar was seen: {frames:?}");
    assert!(last.iter().any(|l| logged(l)), "-v logs requests: {last:?}");
    assert!(!last.iter().any(|l| is_bar(l)), "a bar left: {last:?}");
}
