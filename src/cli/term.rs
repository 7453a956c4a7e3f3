//! The terminal progress bars are drawn on: stderr's, reported a few columns narrower than
//! it is, so that a bar line never fills the last column, and behaving as a terminal of
//! that width would: a line that reaches the reported width goes on at the start of the
//! next line.

use std::sync::atomic::{AtomicUsize, Ordering};

use console::{AnsiCodeIterator, Term};
use indicatif::TermLike;

/// Room for the echoed `^C` and the column where a wrap is pending.
const MARGIN: u16 = 3;

/// stderr's terminal, [`MARGIN`] columns narrower than it is. The terminal echoes a
/// Ctrl-C as `^C` after the last line drawn: on a line as wide as the terminal that wraps,
/// the cursor is a line lower than indicatif believes, and clearing the bars left the top
/// one on the screen (tests/it/terminal.rs reads the screen).
///
/// indicatif (0.18) ends no drawn line with a newline: it pads each one with spaces to the
/// width reported here and counts on the terminal to wrap there. The real terminal is
/// wider, so the wrap is done here ([`wrap`]): without it every bar would be drawn on the
/// line of the one above.
#[derive(Debug)]
pub struct Narrower {
    term: Term,
    /// The column the cursor is at, as a terminal of the reported width counts it (the
    /// width itself: a wrap is pending). indicatif draws under its own lock, so one
    /// writer at a time reads and sets it.
    col: AtomicUsize,
}

impl Narrower {
    pub fn stderr() -> Narrower {
        Narrower {
            term: Term::stderr(),
            col: AtomicUsize::new(0),
        }
    }

    fn set_col(&self, col: usize) {
        self.col.store(col, Ordering::Relaxed);
    }
}

impl TermLike for Narrower {
    fn width(&self) -> u16 {
        self.term.size().1.saturating_sub(MARGIN).max(1)
    }
    fn height(&self) -> u16 {
        self.term.size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.term.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.term.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        let col = self.col.load(Ordering::Relaxed);
        self.set_col((col + n).min(usize::from(self.width())));
        self.term.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.set_col(self.col.load(Ordering::Relaxed).saturating_sub(n));
        self.term.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)?;
        self.set_col(0);
        self.term.write_line("")
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        let mut col = self.col.load(Ordering::Relaxed);
        let text = wrap(s, &mut col, usize::from(self.width()));
        self.set_col(col);
        self.term.write_str(&text)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.set_col(0);
        self.term.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.term.flush()
    }
}

/// `text` written from column `col` of a terminal `width` columns wide that wraps as a
/// terminal does: a character that does not fit in what is left of the line starts the
/// next one (`\r\n` before it), so a line that fills the width exactly wraps only once more
/// text follows. Escape sequences take no room; `\r` and `\n` go back to column 0 (the
/// terminal turns `\n` into `\r\n`). `col` is left where the text ends. Widths are counted
/// as indicatif counts them.
fn wrap(text: &str, col: &mut usize, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for (part, is_escape) in AnsiCodeIterator::new(text) {
        if is_escape {
            out.push_str(part);
            continue;
        }
        for c in part.chars() {
            if c == '\r' || c == '\n' {
                *col = 0;
                out.push(c);
                continue;
            }
            let w = console::measure_text_width(c.encode_utf8(&mut [0; 4]));
            if *col + w > width && *col > 0 {
                out.push_str("\r\n");
                *col = 0;
            }
            out.push(c);
            *col += w;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_as_a_terminal_of_its_width() {
        // (column before, text, width, text written, column after)
        let cases: [(usize, &str, usize, &str, usize); 9] = [
            (0, "abc", 5, "abc", 3),
            // Filling the width exactly: the wrap waits for more text.
            (0, "abcde", 5, "abcde", 5),
            (5, "f", 5, "\r\nf", 1),
            // A bar padded to the width, then the next bar: each on its own line.
            (0, "[==]     ", 9, "[==]     ", 9),
            (9, "total", 9, "\r\ntotal", 5),
            // Longer than the width: cut into lines of the width.
            (0, "abcdefg", 3, "abc\r\ndef\r\ng", 1),
            // Escape sequences take no room.
            (0, "\x1b[1mab\x1b[0m", 2, "\x1b[1mab\x1b[0m", 2),
            // A carriage return or a newline goes back to the start of the line.
            (4, "\rab", 4, "\rab", 2),
            (4, "\nab", 4, "\nab", 2),
        ];
        for (i, (before, text, width, want, after)) in cases.into_iter().enumerate() {
            let mut col = before;
            assert_eq!(wrap(text, &mut col, width), want, "case {i}");
            assert_eq!(col, after, "case {i}");
        }
    }
}
