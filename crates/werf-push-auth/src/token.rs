//! Bearer tokens from a token realm: the answer (`token` or `access_token`, `expires_in`,
//! `refresh_token`), the lifetime (`expires_in`, else the JWT's `exp`, else 60 s) and early
//! renewal (a token is renewed when less than a quarter of its life, at most 30 s, is left).
//! Errors never quote the answer (it holds the token). Pure; no HTTP client.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde::Deserialize;

use super::Secret;

/// Lifetime assumed when the realm says nothing (Docker's default).
pub(crate) const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// The most a token is renewed before it expires.
pub(crate) const MAX_EARLY_RENEWAL: Duration = Duration::from_secs(30);

/// An access token and how long it is good for.
#[derive(Clone, Debug)]
pub struct Token {
    /// The token, sent as `Bearer <value>`.
    pub value: Secret,
    /// An OAuth2 refresh token the realm handed back, if any.
    pub refresh_token: Option<Secret>,
    /// How long the token is good for from `obtained` (`expires_in`, else the JWT's `exp`,
    /// else 60 s).
    pub lifetime: Duration,
    /// When the realm's answer came.
    pub obtained: Instant,
}

#[derive(Deserialize)]
struct Reply {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<i64>,
    refresh_token: Option<String>,
}

impl Token {
    /// Parses a realm's answer received at `obtained` (wall clock `now`, for JWT `exp`).
    pub fn from_reply(body: &[u8], obtained: Instant, now: SystemTime) -> Result<Token, String> {
        let r: Reply = serde_json::from_slice(body).map_err(|e| {
            format!(
                "the answer is not the expected JSON (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let value = r
            .token
            .filter(|t| !t.is_empty())
            .or(r.access_token.filter(|t| !t.is_empty()))
            .ok_or("the answer has no token")?;
        let lifetime = match r.expires_in {
            Some(s) if s > 0 => Duration::from_secs(s as u64),
            _ => jwt_exp(&value)
                .and_then(|exp| {
                    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
                    (exp > now).then(|| Duration::from_secs((exp - now) as u64))
                })
                .unwrap_or(DEFAULT_LIFETIME),
        };
        Ok(Token {
            value: Secret::new(value),
            refresh_token: r.refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
            lifetime,
            obtained,
        })
    }

    /// Whether the token is still good enough to send at `now` (early renewal included).
    pub fn is_fresh(&self, now: Instant) -> bool {
        let margin = (self.lifetime / 4).min(MAX_EARLY_RENEWAL);
        now < self.obtained + self.lifetime.saturating_sub(margin)
    }
}

/// The `exp` claim of a JWT, when the token is one.
pub(crate) fn jwt_exp(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    v.get("exp")?.as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(r#"{"alg":"ES256"}"#),
            e.encode(claims)
        )
    }

    #[test]
    fn replies_table() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let t0 = Instant::now();
        let with_exp = jwt(r#"{"exp":1000120}"#);
        let past_exp = jwt(r#"{"exp":999000}"#);
        // (answer, lifetime in seconds or None for an error, refresh token?)
        let cases: Vec<(String, Option<u64>, bool)> = vec![
            (r#"{"token":"t","expires_in":300}"#.into(), Some(300), false),
            (
                r#"{"access_token":"t","expires_in":5,"refresh_token":"r"}"#.into(),
                Some(5),
                true,
            ),
            (r#"{"token":"","access_token":"t"}"#.into(), Some(60), false),
            (format!(r#"{{"token":"{with_exp}"}}"#), Some(120), false),
            (format!(r#"{{"token":"{past_exp}"}}"#), Some(60), false),
            (
                format!(r#"{{"token":"{with_exp}","expires_in":0}}"#),
                Some(120),
                false,
            ),
            (r#"{"expires_in":300}"#.into(), None, false),
            ("<html>".into(), None, false),
        ];
        for (body, want, refresh) in cases {
            match (Token::from_reply(body.as_bytes(), t0, now), want) {
                (Ok(t), Some(secs)) => {
                    assert_eq!(t.lifetime, Duration::from_secs(secs), "{body}");
                    assert_eq!(t.refresh_token.is_some(), refresh, "{body}");
                }
                (Err(e), None) => assert!(!e.contains("html"), "{e}"),
                (got, want) => panic!("{body}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn early_renewal_table() {
        let t0 = Instant::now();
        // (lifetime, seconds later, fresh?)
        let cases = [
            (300, 0, true),
            (300, 269, true),
            (300, 271, false),
            (8, 5, true),
            (8, 7, false),
            (1, 1, false),
        ];
        for (life, later, fresh) in cases {
            let t = Token {
                value: Secret::new("t"),
                refresh_token: None,
                lifetime: Duration::from_secs(life),
                obtained: t0,
            };
            assert_eq!(
                t.is_fresh(t0 + Duration::from_secs(later)),
                fresh,
                "{life} {later}"
            );
        }
    }
}
