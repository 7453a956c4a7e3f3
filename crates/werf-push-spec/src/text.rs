//! Text that came from outside (a layout, a registry, an archive) made safe to print: control
//! characters (ESC, OSC sequences, newlines, DEL, C1 codes) shown as escapes, so nothing
//! read from a hostile source can drive the terminal or forge a line of output, and cut
//! short, so that no value can flood it. The one rule: a value from outside is shown with
//! [`shown`] (at most [`MAX_SHOWN`] characters), a list of them with [`shown_list`]; and every
//! error line ([`error_chain`], the one place error messages are formed for printing) is
//! escaped and cut again as a whole, so no message can forget it. Knows nothing of where
//! the text came from.

use std::borrow::Cow;

/// The most characters of one value from outside that are shown (then `…`).
pub const MAX_SHOWN: usize = 256;
/// The most values of a list from outside that are shown (then how many more).
pub const MAX_LISTED: usize = 16;
/// The most characters of an error line (all its causes): a bound no message can pass.
pub const MAX_LINE: usize = 4096;

/// An error and its causes on one line, joined by `: `; a cause whose text the line holds
/// already (an error that prints its source) is not said twice. The one way the crate and
/// its command line join error chains; the line is [`printable`] and at most [`MAX_LINE`]
/// characters, whatever a message holds.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cur = c.source();
    }
    cut(&line, MAX_LINE)
}

/// A value from outside as it may be shown: [`printable`], and at most [`MAX_SHOWN`] of its
/// characters (then `…`).
pub fn shown(s: &str) -> String {
    cut(s, MAX_SHOWN)
}

/// Values from outside as a list: each [`shown`], joined by `, `, at most [`MAX_LISTED`] of
/// them (then `… (N more)`); `none` when there are none.
pub fn shown_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let mut out = Vec::new();
    let mut more = 0usize;
    for item in items {
        if out.len() < MAX_LISTED {
            out.push(shown(item.as_ref()));
        } else {
            more += 1;
        }
    }
    if out.is_empty() {
        return "none".into();
    }
    let mut text = out.join(", ");
    if more > 0 {
        text.push_str(&format!(", … ({more} more)"));
    }
    text
}

/// `s` made [`printable`], then cut to its first `max` characters (counted after escaping,
/// so the result is never longer than `max` and `…`).
fn cut(s: &str, max: usize) -> String {
    let p = printable(s);
    match p.char_indices().nth(max) {
        None => p.into_owned(),
        Some((at, _)) => format!("{}…", &p[..at]),
    }
}

/// `s` with every control character, and every Unicode direction override or invisible
/// mark (which make a terminal show other text than what is there), escaped (`\n`,
/// `\u{1b}`, `\u{202e}`, ...); unchanged when it has none.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Control characters, bidi overrides and isolates, zero-width marks, the BOM.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_table() {
        let cases = [
            ("backend", "backend"),
            ("", ""),
            ("a\nb", "a\\nb"),
            ("\u{1b}]0;owned\u{7}x", "\\u{1b}]0;owned\\u{7}x"),
            ("\u{9b}31m", "\\u{9b}31m"),
            ("del\u{7f}", "del\\u{7f}"),
            ("ünïcode ok", "ünïcode ok"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
        ];
        for (input, want) in cases {
            assert_eq!(printable(input), want, "{input:?}");
        }
    }

    #[test]
    fn shown_and_listed_table() {
        let long = "a".repeat(MAX_SHOWN + 1);
        let cut = format!("{}…", "a".repeat(MAX_SHOWN));
        let esc_long = format!("\u{1b}{}", "b".repeat(10 << 20));
        let esc_cut = format!("\\u{{1b}}{}…", "b".repeat(MAX_SHOWN - 6));
        let cases: [(&str, &str); 5] = [
            ("v1.0.0", "v1.0.0"),
            ("\u{1b}[31mred", "\\u{1b}[31mred"),
            (&long, &cut),
            (&esc_long, &esc_cut),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(shown(input), want, "{}", &input[..input.len().min(20)]);
        }
        let many: Vec<String> = (0..MAX_LISTED + 3).map(|i| i.to_string()).collect();
        // (items, what is shown)
        let lists: [(Vec<String>, String); 4] = [
            (vec![], "none".into()),
            (vec!["a".into(), "b\n".into()], "a, b\\n".into()),
            (
                many.clone(),
                format!("{}, … (3 more)", many[..MAX_LISTED].join(", ")),
            ),
            (vec!["x".repeat(MAX_SHOWN + 5)], cut.replace('a', "x")),
        ];
        for (items, want) in lists {
            assert_eq!(shown_list(&items), want);
        }
    }
}

#[cfg(test)]
mod chain_tests {
    use super::{error_chain, MAX_LINE};

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn error_chain_table() {
        fn e(t: &'static str, s: Option<E>) -> E {
            E(t, s.map(Box::new))
        }
        let cases = [
            (e("top", None), "top"),
            (e("top", Some(e("cause", None))), "top: cause"),
            // A wrapper that prints its cause: said once.
            (e("ctx: cause", Some(e("cause", None))), "ctx: cause"),
            (e("a", Some(e("b", Some(e("c", None))))), "a: b: c"),
            // Whatever a message holds: escaped, and cut to a bound.
            (
                e("bad \u{1b}]0;x\u{7}", Some(e("\r\n", None))),
                "bad \\u{1b}]0;x\\u{7}: \\r\\n",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(error_chain(&err), want);
        }
        let huge = "z".repeat(MAX_LINE * 4);
        let leaked: &'static str = Box::leak(huge.into_boxed_str());
        let line = error_chain(&e(leaked, None));
        assert_eq!(line.chars().count(), MAX_LINE + 1, "cut with an ellipsis");
    }
}
