//! Text that came from outside (a layout, a registry, an archive) made safe to print: control
//! characters (ESC, OSC sequences, newlines, DEL, C1 codes) shown as escapes, so nothing
//! read from a hostile source can drive the terminal or forge a line of output, and cut to
//! [`MAX_SHOWN`] characters (the one rule for how much of outside text is shown). Knows
//! nothing of where the text came from.

use std::borrow::Cow;

/// An error and its causes on one line, joined by `: `; a cause whose text the line holds
/// already (an error that prints its source) is not said twice. The one way the crate and
/// its command line join error chains.
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
    line
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

/// The most characters of outside text (a name, a tag, a registry's message) shown in an
/// error, a log line or a report.
pub const MAX_SHOWN: usize = 256;

/// `s` as it may be shown: [`printable`], cut to [`MAX_SHOWN`] characters (counted after
/// escaping) followed by `…` when longer.
pub fn shown(s: &str) -> Cow<'_, str> {
    let p = printable(s);
    match p.char_indices().nth(MAX_SHOWN) {
        None => p,
        Some((at, _)) => Cow::Owned(format!("{}…", &p[..at])),
    }
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
    fn shown_table() {
        let long = "a".repeat(MAX_SHOWN + 1);
        let exact = "é".repeat(MAX_SHOWN);
        let escapes = "\n".repeat(MAX_SHOWN);
        let cut = format!("{}…", "a".repeat(MAX_SHOWN));
        let cut_escapes = format!("{}…", "\\n".repeat(MAX_SHOWN / 2));
        // (input, shown)
        let cases = [
            ("backend", "backend"),
            ("a\nb", "a\\nb"),
            (exact.as_str(), exact.as_str()),
            (long.as_str(), cut.as_str()),
            (escapes.as_str(), cut_escapes.as_str()),
        ];
        for (input, want) in cases {
            assert_eq!(shown(input), want, "{input:?}");
            assert!(shown(input).chars().count() <= MAX_SHOWN + 1);
        }
    }
}

#[cfg(test)]
mod chain_tests {
    use super::error_chain;

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
        ];
        for (err, want) in cases {
            assert_eq!(error_chain(&err), want);
        }
    }
}
