//! Text from a registry (error bodies, header values, realms) made safe to print: the
//! secrets of the run and anything that looks like a credential (`Basic`/`Bearer` values,
//! `token=`/`"password":` pairs) replaced by `<redacted>`, control and bidi characters
//! escaped and the whole cut to `spec::text::MAX_SHOWN` characters with an ellipsis, by the
//! one rule of text from outside (`spec::text::shown`). Every secret made with
//! [`Secret::new`](super::Secret::new) is known here.
//! No I/O; the secrets are kept in one process-wide list (so that a message formed anywhere
//! later in the run is redacted too).

use std::sync::Mutex;

use werf_push_spec::text::shown;

/// Shorter secrets are not looked for (they would redact ordinary words).
const MIN_SECRET: usize = 4;
/// The most secrets remembered (the oldest are forgotten first: expired tokens).
const MAX_SECRETS: usize = 256;

const REDACTED: &str = "<redacted>";

static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers `secret` so that [`quote`] never prints it.
pub fn remember(secret: &str) {
    if secret.len() < MIN_SECRET {
        return;
    }
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    if known.iter().any(|k| k == secret) {
        return;
    }
    if known.len() >= MAX_SECRETS {
        known.remove(0);
    }
    known.push(secret.to_string());
}

/// `text` (from a registry) as it may be shown: credentials redacted, control characters
/// escaped, at most `spec::text::MAX_SHOWN` characters (then `…`).
pub fn quote(text: &str) -> String {
    let mut t = text.to_string();
    {
        let known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
        // Longest first: a secret that contains another is redacted whole.
        let mut ks: Vec<&String> = known.iter().collect();
        ks.sort_by_key(|k| std::cmp::Reverse(k.len()));
        for k in ks {
            if t.contains(k.as_str()) {
                t = t.replace(k.as_str(), REDACTED);
            }
        }
    }
    shown(&redact_patterns(&t))
}

/// Words after which the next token is a credential: auth schemes (`Basic xxx`) and keys
/// (`token=xxx`, `"password": "xxx"`).
const SCHEMES: [&str; 2] = ["basic", "bearer"];
const KEYS: [&str; 6] = [
    "access_token",
    "refresh_token",
    "token",
    "password",
    "secret",
    "authorization",
];

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+/=._~-".contains(c)
}

/// Replaces credential-looking values, matched case-insensitively on ASCII words.
fn redact_patterns(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let word_start = i == 0 || !b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b'_';
        let mut skip_to = None;
        if word_start {
            for s in SCHEMES {
                if lower[i..].starts_with(s) {
                    let mut j = i + s.len();
                    let spaces = text[j..].len() - text[j..].trim_start_matches(' ').len();
                    if spaces > 0 {
                        j += spaces;
                        skip_to = value_end(text, j).map(|e| (j, e));
                    }
                }
            }
            for k in KEYS {
                if skip_to.is_none() && lower[i..].starts_with(k) {
                    let mut j = i + k.len();
                    let sep = text[j..]
                        .chars()
                        .take_while(|c| matches!(c, '"' | '\'' | ' ' | ':' | '='))
                        .count();
                    let scheme_follows = SCHEMES
                        .iter()
                        .any(|s| lower[j + sep..].starts_with(&format!("{s} ")));
                    // `Authorization: Basic xxx`: the scheme rule takes the value.
                    if text[j..j + sep].contains([':', '=']) && !scheme_follows {
                        j += sep;
                        skip_to = value_end(text, j).map(|e| (j, e));
                    }
                }
            }
        }
        match skip_to {
            Some((from, to)) => {
                out.push_str(&text[i..from]);
                out.push_str(REDACTED);
                i = to;
            }
            None => {
                let c = text[i..].chars().next().expect("in bounds");
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// The end of the credential value starting at `from`, `None` when there is none: a
/// challenge parameter (`Bearer realm="..."`, `Basic realm=x`) is not a credential.
fn value_end(text: &str, from: usize) -> Option<usize> {
    let len: usize = text[from..]
        .chars()
        .take_while(|&c| is_token_char(c))
        .map(char::len_utf8)
        .sum();
    let value = &text[from..from + len];
    let after = text[from + len..].chars().next();
    // Base64 has `=` only as padding at the end; JWTs and tokens have none.
    let param = value.trim_end_matches('=').contains('=')
        || (value.ends_with('=') && matches!(after, Some('"' | '\'')));
    (len > 0 && !param).then_some(from + len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use werf_push_spec::text::MAX_SHOWN;

    #[test]
    fn quote_table() {
        remember("hunter2-secret");
        let long = "A".repeat(70_000);
        // (input, must contain, must not contain)
        let cases: Vec<(String, Vec<&str>, Vec<&str>)> = vec![
            (
                "denied: Authorization: Basic dXNlcjpodW50ZXIy was refused".into(),
                vec!["<redacted>", "was refused"],
                vec!["dXNlcjpodW50ZXIy"],
            ),
            (
                "bad header authorization: bearer eyJhbGciOi.eyJzdWIi.c2ln end".into(),
                vec!["<redacted>", "end"],
                vec!["eyJhbGciOi"],
            ),
            (
                r#"{"token":"abc.def","access_token":"ghi"}"#.into(),
                vec!["<redacted>"],
                vec!["abc.def", "ghi"],
            ),
            (
                "GET /v2/?password=p4ssw0rd&x=1".into(),
                vec!["x=1"],
                vec!["p4ssw0rd"],
            ),
            (
                "echo hunter2-secret here".into(),
                vec!["here"],
                vec!["hunter2-secret"],
            ),
            (
                "line1\nline2\x1b[31mred\u{202E}".into(),
                vec!["line1\\nline2\\u{1b}[31mred\\u{202e}"],
                vec!["\n", "\x1b", "\u{202E}"],
            ),
            (
                r#"Bearer realm="https://auth.example/token",service="r""#.into(),
                vec![r#"realm="https://auth.example/token""#],
                vec!["<redacted>"],
            ),
            (
                "Basic authentication required".into(),
                vec!["<redacted> required"],
                vec![],
            ),
            (
                "unknown blob".into(),
                vec!["unknown blob"],
                vec!["<redacted>"],
            ),
            (long.clone(), vec!["…"], vec![&long[..MAX_SHOWN + 1]]),
        ];
        for (input, yes, no) in cases {
            let q = quote(&input);
            assert!(q.chars().count() <= MAX_SHOWN + 1, "{q}");
            for y in yes {
                assert!(q.contains(y), "{input:?} -> {q:?}: no {y:?}");
            }
            for n in no {
                assert!(!q.contains(n), "{input:?} -> {q:?}: has {n:?}");
            }
        }
    }

    #[test]
    fn cap_counts_characters_not_bytes() {
        let q = quote(&"é".repeat(MAX_SHOWN + 10));
        assert_eq!(q.chars().count(), MAX_SHOWN + 1);
        assert!(q.ends_with('…'));
    }
}
