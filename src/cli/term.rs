//! The terminal progress bars are drawn on: stderr's, reported a few columns narrower than
//! it is, so that a bar line never fills the last column.

use console::Term;
use indicatif::TermLike;

/// Room for the echoed `^C` and the column where a wrap is pending.
const MARGIN: u16 = 3;

/// stderr's terminal, [`MARGIN`] columns narrower than it is. The terminal echoes a
/// Ctrl-C as `^C` after the last line drawn: on a line as wide as the terminal that wraps,
/// the cursor is a line lower than indicatif believes, and clearing the bars left the top
/// one on the screen (tests/it/terminal.rs reads the screen).
#[derive(Debug)]
pub struct Narrower(Term);

impl Narrower {
    pub fn stderr() -> Narrower {
        Narrower(Term::stderr())
    }
}

impl TermLike for Narrower {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(MARGIN).max(1)
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}
