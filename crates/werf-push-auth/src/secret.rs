//! A secret string (password, token) that cannot be printed: `Debug` and `Display` show
//! `<redacted>`, only `expose` reveals it. Knows nothing of where secrets come from.

use std::fmt;

/// A secret string: `Debug` and `Display` print `<redacted>`; only `expose` reveals it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret, remembered so that registry text quoting it is redacted
    /// ([`super::redact::quote`]).
    pub fn new(s: impl Into<String>) -> Secret {
        let s = s.into();
        super::redact::remember(&s);
        Secret(s)
    }
    /// The secret itself, to send it (never to print it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        for shown in [format!("{s}"), format!("{s:?}"), format!("{:?}", Some(&s))] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert_eq!(s.expose(), "hunter2");
    }
}
