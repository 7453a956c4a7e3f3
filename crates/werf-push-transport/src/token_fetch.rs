//! One token from a registry's token realm, the Bearer half of the handshake (`auth.rs`
//! decides when a token is needed and caches it): the request (`GET realm?service=&scope=`
//! with Basic credentials or anonymously; a Docker `identitytoken` is an OAuth2 refresh
//! token POSTed to the realm), the credentials sent only where they may go (a realm over
//! HTTPS, on this machine, or of a plain-HTTP registry), the answer under the timeouts and
//! read under a size cap, and its token parsed (`auth::token`). Errors never quote the
//! answer (it holds the token) nor the realm's query.

use std::time::{Instant, SystemTime};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, Response};
use url::Url;

use super::auth::basic_header;
use super::client::redact_query;
use super::error::chain;
use super::watch::{guard, Watch};
use super::{BodyReader, Limit, Timeouts, TransportError};
use werf_push_auth::{Credentials, Found, Scope, Token};
use werf_push_spec::reference::is_local_host;

/// A token to ask one registry's realm for.
pub(crate) struct TokenRequest<'a> {
    /// The client to send with (the registry's plain client).
    pub(crate) client: &'a Client,
    /// The timeouts of every request.
    pub(crate) timeouts: Timeouts,
    /// The registry's host, for errors.
    pub(crate) host: &'a str,
    /// The registry's base URL: a plain-HTTP registry may send credentials to a plain-HTTP
    /// realm.
    pub(crate) base: &'a Url,
    /// The realm of the registry's Bearer challenge.
    pub(crate) realm: &'a Url,
    /// The challenge's `service`, if any.
    pub(crate) service: Option<&'a str>,
    /// The scopes the token is for.
    pub(crate) scopes: &'a [Scope],
}

impl TokenRequest<'_> {
    /// Asks the realm for a token with `found`'s credentials (or anonymously, when the realm
    /// may not have them).
    pub(crate) async fn fetch(&self, found: &Found) -> Result<Token, TransportError> {
        let realm_text = redact_query(self.realm);
        let creds = self.credentials_for_realm(&found.credentials, &realm_text);
        let scope_list: Vec<String> = self.scopes.iter().map(|s| s.to_string()).collect();
        tracing::debug!("token for [{}] from {realm_text}", scope_list.join(" "));
        let obtained = Instant::now();
        let (method, request) = match creds {
            Credentials::IdentityToken { token, .. } => {
                ("POST", self.refresh_grant(token.expose(), &scope_list))
            }
            _ => ("GET", self.get(creds, &scope_list)),
        };
        let resp = self.send(request, method, &realm_text).await?;
        self.check_status(&resp, found, &realm_text)?;
        let body = BodyReader::new(resp, method, &self.timeouts)
            .collect(Limit::TOKEN)
            .await?;
        Token::from_reply(&body, obtained, SystemTime::now()).map_err(|detail| {
            TransportError::TokenRealm {
                realm: realm_text,
                detail,
            }
        })
    }

    /// `creds`, or none when the realm is plain HTTP on another machine while the registry
    /// is not plain HTTP itself (the credentials would cross the network in the clear).
    fn credentials_for_realm<'c>(
        &self,
        creds: &'c Credentials,
        realm_text: &str,
    ) -> &'c Credentials {
        if may_send_credentials(self.realm, self.base) {
            creds
        } else {
            tracing::warn!("token realm {realm_text} is plain HTTP: credentials not sent to it");
            &Credentials::Anonymous
        }
    }

    /// The OAuth2 refresh-token grant (Docker's identity tokens): a form POSTed to the realm.
    fn refresh_grant(&self, refresh_token: &str, scope_list: &[String]) -> RequestBuilder {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", refresh_token)
            .append_pair("client_id", "werf-push")
            .append_pair("scope", &scope_list.join(" "));
        if let Some(s) = self.service {
            form.append_pair("service", s);
        }
        self.client
            .post(self.realm.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.finish())
    }

    /// `GET realm?service=&scope=...`, with Basic credentials when `creds` are some.
    fn get(&self, creds: &Credentials, scope_list: &[String]) -> RequestBuilder {
        let mut url = self.realm.clone();
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = self.service {
                q.append_pair("service", s);
            }
            for s in scope_list {
                q.append_pair("scope", s);
            }
        }
        let mut r = self.client.get(url);
        if let Some(h) = basic_header(creds) {
            r = r.header(AUTHORIZATION, h);
        }
        r
    }

    /// Sends `request` under the connect and response timeouts.
    async fn send(
        &self,
        request: RequestBuilder,
        method: &str,
        realm_text: &str,
    ) -> Result<Response, TransportError> {
        let watch = Watch::new(self.timeouts, 0, Instant::now());
        guard(&watch, request.send())
            .await
            .map_err(|(kind, after)| TransportError::Timeout {
                method: method.into(),
                url: realm_text.to_string(),
                kind,
                after,
            })?
            .map_err(|e| TransportError::TokenRealm {
                realm: realm_text.to_string(),
                detail: chain(&e),
            })
    }

    /// Only a 200 carries a token: 401 and 403 refuse the credentials (naming their
    /// source), any other status is the realm's failure.
    fn check_status(
        &self,
        resp: &Response,
        found: &Found,
        realm_text: &str,
    ) -> Result<(), TransportError> {
        match resp.status().as_u16() {
            200 => Ok(()),
            status @ (401 | 403) => Err(TransportError::Unauthorized {
                host: self.host.to_string(),
                credentials: found.source.to_string(),
                detail: format!("the token realm {realm_text} answered {status}"),
            }),
            status => Err(TransportError::TokenRealm {
                realm: realm_text.to_string(),
                detail: format!("answered {status}"),
            }),
        }
    }
}

/// Whether the registry's credentials may go to `realm`: over HTTPS, to this machine, or
/// when the registry at `base` is plain HTTP itself (they cross the network in the clear
/// anyway).
fn may_send_credentials(realm: &Url, base: &Url) -> bool {
    realm.scheme() == "https"
        || base.scheme() == "http"
        || realm.host_str().is_some_and(is_local_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_to_the_realm_table() {
        // (realm, registry base, credentials sent)
        let cases = [
            (
                "https://auth.example.com/token",
                "https://reg.example.com/",
                true,
            ),
            (
                "http://auth.example.com/token",
                "https://reg.example.com/",
                false,
            ),
            (
                "http://auth.example.com/token",
                "http://reg.example.com/",
                true,
            ),
            (
                "http://127.0.0.1:5001/token",
                "https://reg.example.com/",
                true,
            ),
            (
                "http://localhost:5001/token",
                "https://reg.example.com/",
                true,
            ),
            ("http://[::1]:5001/token", "https://reg.example.com/", true),
            ("http://10.0.0.1/token", "https://reg.example.com/", false),
        ];
        for (realm, base, want) in cases {
            let (realm, base) = (Url::parse(realm).unwrap(), Url::parse(base).unwrap());
            assert_eq!(
                may_send_credentials(&realm, &base),
                want,
                "{realm} for {base}"
            );
        }
    }
}
