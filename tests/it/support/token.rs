//! A token issuer for `docker-registry`'s `auth: token:` mode: a tiny HTTP/1.1 server on
//! loopback (std threads) that answers `GET /token?service=&scope=...` (Basic credentials
//! or anonymous) and `POST /token` (OAuth2 `grant_type=refresh_token`), signing short-lived
//! JWTs with an ES256 key whose self-signed certificate travels in the `x5c` header and is
//! the registry's `rootcertbundle`. (distribution 2.8 verifies ES256 as well as RS256;
//! ES256 keys come from rcgen without an RSA implementation.)
//!
//! ```ignore
//! let issuer = TokenIssuer::start(IssuerOptions::new().lifetime(3));
//! let reg = issuer.registry_options().start();
//! // ... push ...
//! let log = issuer.log(); // every token request: account, scopes asked, scopes granted
//! ```
//!
//! Token life: distribution accepts a token up to 60 s after its `exp`, so a token meant
//! to die `N` seconds after issue carries `exp = now + N - 60` (`now` rounded up to the
//! next second, so it lives at least `N` seconds). `expires_in` in the answer
//! is `N` unless [`IssuerOptions::reported_expires_in`] says otherwise (to make a client
//! trust a token longer than it lives, so that the registry's 401 is what tells it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::json;

use super::http::{serve, Exchange};
use super::registry::{RegistryOptions, TEST_PASSWORD, TEST_USER};
use super::server::Server;

/// `service` of the registry and `aud` of the tokens.
pub const SERVICE: &str = "werf-push-test-registry";
/// `iss` of the tokens.
pub const ISSUER: &str = "werf-push-test-issuer";
/// The refresh token (Docker `identitytoken`) the issuer accepts for [`TEST_USER`].
pub const REFRESH_TOKEN: &str = "werf-push-test-refresh-token";

/// Which actions an account gets on a repository, given those asked for.
pub type Grant = Arc<dyn Fn(Option<&str>, &str, &[String]) -> Vec<String> + Send + Sync>;

/// Which token requests (by their scopes) are answered 404.
pub type Refuse = Arc<dyn Fn(&[String]) -> bool + Send + Sync>;

#[derive(Clone)]
pub struct IssuerOptions {
    lifetime: u64,
    reported: Option<u64>,
    grant: Grant,
    /// Token requests (by their scopes) answered 404 (GitLab, for mount scopes).
    refuse: Option<Refuse>,
}

impl Default for IssuerOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl IssuerOptions {
    /// Tokens live 300 s; [`TEST_USER`] gets every action asked for, anonymous nothing.
    pub fn new() -> Self {
        IssuerOptions {
            lifetime: 300,
            reported: None,
            grant: Arc::new(|account, _, asked| {
                if account.is_some() {
                    asked.to_vec()
                } else {
                    Vec::new()
                }
            }),
            refuse: None,
        }
    }

    /// Answer 404 to token requests whose scopes `f` picks.
    pub fn refuse(mut self, f: impl Fn(&[String]) -> bool + Send + Sync + 'static) -> Self {
        self.refuse = Some(Arc::new(f));
        self
    }

    /// Seconds a token is accepted by the registry after it is issued.
    pub fn lifetime(mut self, secs: u64) -> Self {
        self.lifetime = secs;
        self
    }

    /// `expires_in` to report instead of the real lifetime.
    pub fn reported_expires_in(mut self, secs: u64) -> Self {
        self.reported = Some(secs);
        self
    }

    /// The grant policy: `(account, repository, asked) -> granted`.
    pub fn grant(
        mut self,
        f: impl Fn(Option<&str>, &str, &[String]) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.grant = Arc::new(f);
        self
    }
}

/// One token request as the issuer saw it.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub method: String,
    /// The authenticated account; None for anonymous requests.
    pub account: Option<String>,
    /// `scope` parameters as asked (`repository:a:pull,push`).
    pub scopes: Vec<String>,
    /// What the token grants, in the same notation.
    pub granted: Vec<String>,
    /// 200, or 401 for bad credentials.
    pub status: u16,
}

struct Shared {
    opts: IssuerOptions,
    key: ring::signature::EcdsaKeyPair,
    x5c: String,
    log: Mutex<Vec<IssuedToken>>,
    tokens: Mutex<Vec<String>>,
    serial: AtomicU64,
}

/// A running issuer; stopped on drop.
pub struct TokenIssuer {
    pub port: u16,
    cert_pem: String,
    shared: Arc<Shared>,
    /// Accepting stops when the issuer is dropped.
    _server: Server,
}

impl TokenIssuer {
    pub fn start(opts: IssuerOptions) -> TokenIssuer {
        let key = rcgen::KeyPair::generate().expect("generate issuer key");
        let params = rcgen::CertificateParams::new(vec!["werf-push-token-issuer".to_string()])
            .expect("issuer cert params");
        let cert = params.self_signed(&key).expect("self-sign issuer cert");
        let rng = ring::rand::SystemRandom::new();
        let signer = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.serialize_der(),
            &rng,
        )
        .expect("ring reads the rcgen key");
        let shared = Arc::new(Shared {
            opts,
            key: signer,
            x5c: base64::engine::general_purpose::STANDARD.encode(cert.der()),
            log: Mutex::new(Vec::new()),
            tokens: Mutex::new(Vec::new()),
            serial: AtomicU64::new(0),
        });
        let s = shared.clone();
        let timeout = Duration::from_secs(10);
        let server = serve("127.0.0.1", "the token issuer", timeout, move |ex| {
            serve_one(ex, &s)
        });
        TokenIssuer {
            port: server.port,
            cert_pem: cert.pem(),
            shared,
            _server: server,
        }
    }

    /// The realm URL.
    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// Registry options with token auth against this issuer.
    pub fn registry_options(&self) -> RegistryOptions {
        RegistryOptions::new()
            .file("issuer.pem", self.cert_pem.as_bytes())
            .auth(&format!(
                "token:\n  realm: {}\n  service: {SERVICE}\n  issuer: {ISSUER}\n  rootcertbundle: $DIR/issuer.pem\n",
                self.realm()
            ))
    }

    /// Every token request so far, in order.
    pub fn log(&self) -> Vec<IssuedToken> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Every token handed out so far (to check that none leaks).
    pub fn tokens(&self) -> Vec<String> {
        self.shared.tokens.lock().unwrap().clone()
    }

    /// A token for `scopes` signed for [`TEST_USER`], for test-side checks.
    pub fn token_for(&self, scopes: &[&str]) -> String {
        let granted: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        sign(&self.shared, Some(TEST_USER), &granted)
    }
}

/// Answers one token request.
fn serve_one(mut ex: Exchange, s: &Shared) {
    let Ok(body) = ex.read_body(ex.len().min(MAX_FORM), None) else {
        return;
    };
    let headers: HashMap<String, String> = ex
        .head
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let (status, reply) = handle(s, &ex.head.method, &ex.head.target, &headers, &body);
    let h = [("Content-Type".to_string(), "application/json".to_string())];
    let _ = ex.respond(status, &h, reply.as_bytes(), false);
}

/// The most bytes of a `POST /token` form read.
const MAX_FORM: u64 = 64 << 10;

fn handle(
    s: &Shared,
    method: &str,
    target: &str,
    headers: &HashMap<String, String>,
    body: &[u8],
) -> (u16, String) {
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut account = None;
    let mut ok = true;
    if method == "POST" {
        params.extend(url::form_urlencoded::parse(body).into_owned());
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        ok = get("grant_type").as_deref() == Some("refresh_token")
            && get("refresh_token").as_deref() == Some(REFRESH_TOKEN);
        account = ok.then(|| TEST_USER.to_string());
    } else if let Some(auth) = headers.get("authorization") {
        let decoded = auth
            .strip_prefix("Basic ")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        ok = decoded == format!("{TEST_USER}:{TEST_PASSWORD}");
        account = ok.then(|| TEST_USER.to_string());
    }
    // POST carries scopes space-separated in one `scope`; GET one `scope` each.
    let scopes: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
        .filter(|v| !v.is_empty())
        .collect();
    let mut entry = IssuedToken {
        method: method.to_string(),
        account: account.clone(),
        scopes: scopes.clone(),
        granted: Vec::new(),
        status: 401,
    };
    if !ok {
        s.log.lock().unwrap().push(entry);
        return (401, r#"{"details":"bad credentials"}"#.to_string());
    }
    if s.opts.refuse.as_ref().is_some_and(|f| f(&scopes)) {
        entry.status = 404;
        s.log.lock().unwrap().push(entry);
        return (404, r#"{"details":"not found"}"#.to_string());
    }
    for scope in &scopes {
        let mut it = scope.splitn(3, ':');
        let (kind, name, actions) = (it.next(), it.next(), it.next());
        if let (Some("repository"), Some(name), Some(actions)) = (kind, name, actions) {
            let asked: Vec<String> = actions.split(',').map(str::to_string).collect();
            let got = (s.opts.grant)(account.as_deref(), name, &asked);
            if !got.is_empty() {
                entry
                    .granted
                    .push(format!("repository:{name}:{}", got.join(",")));
            }
        }
    }
    entry.status = 200;
    let token = sign(s, account.as_deref(), &entry.granted);
    s.tokens.lock().unwrap().push(token.clone());
    s.log.lock().unwrap().push(entry);
    let expires_in = s.opts.reported.unwrap_or(s.opts.lifetime);
    (
        200,
        json!({"token": token, "access_token": token, "expires_in": expires_in}).to_string(),
    )
}

/// An ES256 JWT granting `granted` (`repository:name:a,b` each).
fn sign(s: &Shared, account: Option<&str>, granted: &[String]) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let access: Vec<_> = granted
        .iter()
        .filter_map(|g| {
            let mut it = g.splitn(3, ':');
            let (kind, name, actions) = (it.next()?, it.next()?, it.next()?);
            Some(json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let serial = s.serial.fetch_add(1, Ordering::SeqCst);
    let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [s.x5c]});
    let claims = json!({
        "iss": ISSUER,
        "sub": account.unwrap_or(""),
        "aud": SERVICE,
        // Rounded up: the token lives between `lifetime` and `lifetime + 1` seconds.
        "exp": now + 1 + s.opts.lifetime as i64 - 60,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("werf-push-test-{serial}"),
        "access": access,
    });
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let input = format!(
        "{}.{}",
        e.encode(header.to_string()),
        e.encode(claims.to_string())
    );
    let sig = s
        .key
        .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
        .expect("sign token");
    format!("{input}.{}", e.encode(sig.as_ref()))
}
