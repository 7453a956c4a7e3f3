//! The auth handshake, above request retry (ARCHITECTURE.md). Scopes come from the
//! request URL (`auth::scope`: `/v2/<name>/...` -> `repository:<name>:pull,push`, plus
//! `repository:<from>:pull` for a mount), so the registry layer need not say them.
//!
//! - The scheme is learned from a challenge (the ping's `GET /v2/` 401, or any later 401):
//!   Basic sends the credentials with every request; Bearer uses a token from the realm
//!   (fetched by `token_fetch.rs`), one per scope set, cached and renewed early
//!   (`auth::token`), fetched once for concurrent requests.
//! - A 401 to a request that carried a token (it expired, or was revoked) refreshes the
//!   token and sends that one request again; a second 401 is an error: `Denied` when the
//!   challenge says `insufficient_scope` (distribution answers 401, not 403, to a token
//!   lacking push), else `Unauthorized` naming the credential source.
//! - `Authorization` only ever goes to the registry's own origin (scheme, host, port):
//!   requests to other hosts (absolute upload Locations, blob storage) are sent bare, and
//!   reqwest drops the header on redirects to another host. The realm gets the registry's
//!   credentials only over HTTPS, or when it is on this machine, or when the registry
//!   itself is plain HTTP (`token_fetch.rs` checks).
//!
//! - A `DELETE` whose token for `repository:<name>:delete` is refused asks once for
//!   `repository:<name>:*` (GitLab), then at once for the rest of the run: the retry is in
//!   `client.rs`, the registry's memory of it here.
//!
//! Credentials are looked up (maybe running a helper) at the first challenge, so an
//! anonymous registry never causes a lookup. Secrets are never logged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine;
use reqwest::header::{HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Client, Response};
use tokio::sync::OnceCell;
use url::Url;

use super::token_fetch::TokenRequest;
use super::{Timeouts, TransportError};
use werf_push_auth::{
    challenge, Challenge, CredentialStore, Credentials, Found, Scope, Source, Token,
};

/// What the registry asked for.
#[derive(Debug, Clone)]
enum Scheme {
    Unknown,
    Basic,
    Bearer { realm: Url, service: Option<String> },
}

type Slot = Arc<tokio::sync::Mutex<Option<Token>>>;

/// The auth state of one registry: its scheme, its credentials, its tokens.
#[derive(Debug)]
pub(crate) struct Authenticator {
    host: String,
    base: Url,
    store: CredentialStore,
    found: OnceCell<Found>,
    scheme: Mutex<Scheme>,
    tokens: Mutex<HashMap<String, Slot>>,
    client: Client,
    timeouts: Timeouts,
    /// Deleting was refused to the scope `delete` and granted to `*` (GitLab).
    wildcard_delete: AtomicBool,
}

impl Authenticator {
    pub(crate) fn new(
        host: &str,
        base: &Url,
        store: CredentialStore,
        client: Client,
        timeouts: Timeouts,
    ) -> Authenticator {
        Authenticator {
            host: host.to_string(),
            base: base.clone(),
            store,
            found: OnceCell::new(),
            scheme: Mutex::new(Scheme::Unknown),
            tokens: Mutex::new(HashMap::new()),
            client,
            timeouts,
            wildcard_delete: AtomicBool::new(false),
        }
    }

    /// Whether `url` is the registry's own origin: the only one that gets `Authorization`.
    pub(crate) fn is_own(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }

    /// Learns the scheme from `WWW-Authenticate` values (Bearer preferred over Basic).
    pub(crate) fn learn<'a>(&self, values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
        let challenges = challenge::parse(values);
        let pick = challenges
            .iter()
            .find(|c| c.is_bearer() && c.param("realm").is_some())
            .or_else(|| challenges.iter().find(|c| c.is_basic()))?
            .clone();
        let scheme = if pick.is_basic() {
            Scheme::Basic
        } else {
            let realm = pick.param("realm").unwrap_or_default();
            match self.base.join(realm) {
                Ok(realm) => Scheme::Bearer {
                    realm,
                    service: pick.param("service").map(str::to_string),
                },
                Err(_) => return None,
            }
        };
        tracing::debug!("{}: auth scheme {}", self.host, pick.scheme);
        *self.scheme.lock().expect("scheme lock") = scheme;
        Some(pick)
    }

    /// Whether deletes ask for the scope `*` (learned by [`Self::learn_wildcard_delete`]).
    pub(crate) fn wildcard_delete(&self) -> bool {
        self.wildcard_delete.load(Ordering::Relaxed)
    }

    /// A delete was refused with the scope `delete` and done with `*`: ask for `*` from now.
    pub(crate) fn learn_wildcard_delete(&self) {
        self.wildcard_delete.store(true, Ordering::Relaxed);
    }

    /// The `Authorization` to send with a request needing `scopes`, before any 401.
    pub(crate) async fn authorization(
        &self,
        scopes: &[Scope],
    ) -> Result<Option<HeaderValue>, TransportError> {
        let scheme = self.scheme.lock().expect("scheme lock").clone();
        match scheme {
            Scheme::Unknown => Ok(None),
            Scheme::Basic => Ok(basic_header(&self.found().await?.credentials)),
            Scheme::Bearer { realm, service } => self
                .bearer(&realm, service.as_deref(), scopes, None)
                .await
                .map(Some),
        }
    }

    /// After a 401 to a request that carried `sent`: what to send it again with, or why not.
    pub(crate) async fn on_unauthorized(
        &self,
        resp: &Response,
        scopes: &[Scope],
        sent: Option<&HeaderValue>,
    ) -> Result<HeaderValue, TransportError> {
        let picked = self.learn(challenge_values(resp));
        let scheme = self.scheme.lock().expect("scheme lock").clone();
        match (picked, scheme) {
            (Some(_), Scheme::Bearer { realm, service }) => {
                if let Credentials::RegistryToken(_) = self.found().await?.credentials {
                    if sent.is_some() {
                        return Err(self.final_error(resp, scopes).await);
                    }
                }
                let stale = sent.and_then(|v| v.to_str().ok()).map(str::to_string);
                self.bearer(&realm, service.as_deref(), scopes, stale.as_deref())
                    .await
            }
            (Some(_), Scheme::Basic) => {
                match (sent, basic_header(&self.found().await?.credentials)) {
                    (None, Some(h)) => Ok(h),
                    _ => Err(self.final_error(resp, scopes).await),
                }
            }
            _ => Err(TransportError::Unauthorized {
                host: self.host.clone(),
                credentials: self.source_text().await,
                detail: "the registry answered 401 with no usable WWW-Authenticate challenge"
                    .into(),
            }),
        }
    }

    /// The error for a 401 that a fresh token or the credentials did not cure.
    pub(crate) async fn final_error(&self, resp: &Response, scopes: &[Scope]) -> TransportError {
        let challenges = challenge::parse(challenge_values(resp));
        let insufficient = challenges
            .iter()
            .any(|c| c.param("error") == Some("insufficient_scope"));
        let source = self.source_text().await;
        let anonymous = matches!(
            self.found.get().map(|f| &f.source),
            Some(Source::None) | None
        );
        // Anonymous and short of scope: logging in is the fix, not asking for rights.
        if insufficient && !anonymous {
            return TransportError::Denied {
                host: self.host.clone(),
                scope: if scopes.is_empty() {
                    "the access this request needs".into()
                } else {
                    scopes
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                },
                credentials: source,
            };
        }
        if anonymous {
            return TransportError::NoCredentials {
                host: self.host.clone(),
                places: self.store.places(),
            };
        }
        // ACR (and any Basic registry) answers a bad password with another Basic challenge.
        let detail = if challenges.iter().any(|c| c.is_basic()) {
            "wrong credentials: the registry answered them with another Basic challenge"
        } else {
            "the registry answered 401 Unauthorized"
        };
        TransportError::Unauthorized {
            host: self.host.clone(),
            credentials: source,
            detail: detail.into(),
        }
    }

    async fn source_text(&self) -> String {
        match self.found().await {
            Ok(f) => f.source.to_string(),
            Err(_) => "no credentials".into(),
        }
    }

    /// The host's credentials, looked up once (a helper may run: off the async threads).
    async fn found(&self) -> Result<&Found, TransportError> {
        self.found
            .get_or_try_init(|| async {
                let (store, host) = (self.store.clone(), self.host.clone());
                let found = tokio::task::spawn_blocking(move || store.resolve(&host))
                    .await
                    .map_err(|e| TransportError::Config(format!("credential lookup: {e}")))??;
                tracing::debug!("{}: credentials from {}", self.host, found.source);
                Ok(found)
            })
            .await
    }

    /// `Bearer <token>` for `scopes`: the cached token when fresh and not `stale` (the one a
    /// 401 just refused), else a new one. Concurrent callers for one scope set wait for one
    /// fetch.
    async fn bearer(
        &self,
        realm: &Url,
        service: Option<&str>,
        scopes: &[Scope],
        stale: Option<&str>,
    ) -> Result<HeaderValue, TransportError> {
        let found = self.found().await?;
        if let Credentials::RegistryToken(t) = &found.credentials {
            return header(&format!("Bearer {}", t.expose()));
        }
        let key = scopes
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let slot = self
            .tokens
            .lock()
            .expect("tokens lock")
            .entry(key)
            .or_default()
            .clone();
        let mut cached = slot.lock().await;
        if let Some(t) = cached.as_ref() {
            let refused =
                stale.is_some_and(|s| s.strip_prefix("Bearer ") == Some(t.value.expose()));
            if !refused && t.is_fresh(Instant::now()) {
                return header(&format!("Bearer {}", t.value.expose()));
            }
        }
        let token = TokenRequest {
            client: &self.client,
            timeouts: self.timeouts,
            host: &self.host,
            base: &self.base,
            realm,
            service,
            scopes,
        }
        .fetch(found)
        .await?;
        let value = header(&format!("Bearer {}", token.value.expose()))?;
        *cached = Some(token);
        Ok(value)
    }
}

fn challenge_values(resp: &Response) -> Vec<&str> {
    resp.headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// `Basic base64(user:password)` for Basic credentials.
pub(crate) fn basic_header(creds: &Credentials) -> Option<HeaderValue> {
    match creds {
        Credentials::Basic { username, password } => {
            let raw = format!("{username}:{}", password.expose());
            let enc = base64::engine::general_purpose::STANDARD.encode(raw);
            // A registry echoing the header back must not get it printed.
            werf_push_auth::redact::remember(&enc);
            header(&format!("Basic {enc}")).ok()
        }
        _ => None,
    }
}

/// A header value marked sensitive (hyper and reqwest never print it).
fn header(value: &str) -> Result<HeaderValue, TransportError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        TransportError::Config("a credential holds characters not allowed in an HTTP header".into())
    })?;
    v.set_sensitive(true);
    Ok(v)
}
