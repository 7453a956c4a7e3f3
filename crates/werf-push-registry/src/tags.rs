//! Tag listing: `GET /v2/<name>/tags/list[?n=N]`, following `Link: <...>; rel="next"`
//! pagination to the end. Each page is read into memory up to `Limit::TAG_PAGE` (16 MiB)
//! and only the tags the caller wants are kept, at most the caller's bound in all: memory
//! stays bounded however many pages a registry sends; at most `MAX_PAGES` pages.

use reqwest::Method;

use super::error::from_answer;
use super::location::resolve;
use super::Action;
use super::{Registry, RegistryError};
use werf_push_auth::redact::quote;
use werf_push_transport::{Limit, Request};

/// More pages than this is a loop (a registry sending the same `Link` again).
const MAX_PAGES: usize = 10_000;

impl Registry {
    /// The tags of `repo` that `keep` (called `what` in the error, e.g. `image-stage-
    /// tags`) wants, in the registry's order; `None` when the repository does not exist.
    /// `page` asks for that many tags per request (`n=`); registries may page on their own
    /// anyway, so `Link` is always followed. More than `max` wanted tags is an error
    /// (a registry paging forever, each page new names, stops there).
    pub async fn list_tags(
        &self,
        repo: &str,
        page: Option<usize>,
        what: &str,
        max: usize,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Option<Vec<String>>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Page {
            tags: Option<Vec<String>>,
        }
        let op = format!("list tags of {repo}");
        let mut url = self.transport.url(&format!("/v2/{repo}/tags/list"));
        if let Some(n) = page {
            url.query_pairs_mut().append_pair("n", &n.to_string());
        }
        let mut tags = Vec::new();
        for n in 0..MAX_PAGES {
            let first = n == 0;
            let a = self
                .transport
                .send_read(&Request::new(Method::GET, url.clone()), Limit::TAG_PAGE)
                .await?;
            match a.status {
                200 => {}
                // distribution answers 404 NAME_UNKNOWN for a repository never pushed to.
                404 if first => return Ok(None),
                _ => return Err(from_answer(Action::ListTags, op, &a)),
            }
            let next = a
                .headers
                .get_all("link")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(next_link)
                .map(|l| {
                    // distribution 3.x, GHCR and Harbor page tag lists (distribution 2.8
                    // answers the whole list) with a relative
                    // `</v2/<name>/tags/list?last=x&n=N>`; tests/it/stages_pull_transfer.rs pages through a
                    // proxy to reproduce it.
                    resolve(&a.url, &l).map_err(|e| RegistryError::Protocol {
                        op: op.clone(),
                        detail: format!("bad Link '{}': {e}", quote(&l)),
                    })
                })
                .transpose()?;
            let p: Page = serde_json::from_slice(&a.body).map_err(|e| RegistryError::Protocol {
                op: op.clone(),
                detail: format!("answer is not a tag list: {e}"),
            })?;
            tags.extend(p.tags.unwrap_or_default().into_iter().filter(|t| keep(t)));
            if tags.len() > max {
                return Err(RegistryError::TooManyTags {
                    op,
                    what: what.to_string(),
                    limit: max,
                });
            }
            match next {
                Some(n) => url = n,
                None => return Ok(Some(tags)),
            }
        }
        Err(RegistryError::Protocol {
            op,
            detail: format!("more than {MAX_PAGES} pages of tags: a Link loop?"),
        })
    }
}

/// The target of the `rel="next"` link of a `Link` header value, if any (RFC 8288: several
/// comma-separated links, parameters after `;`, the relation quoted or not).
pub(crate) fn next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|link| {
        let (target, params) = link.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let Some((k, v)) = p.split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        is_next.then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_table() {
        let cases = [
            (
                r#"</v2/app/tags/list?last=b&n=2>; rel="next""#,
                Some("/v2/app/tags/list?last=b&n=2"),
            ),
            (
                "<https://r.io/v2/a/tags/list?n=1&last=x>; rel=next",
                Some("https://r.io/v2/a/tags/list?n=1&last=x"),
            ),
            (r#"</p1>; rel="prev", </p3>; rel="next""#, Some("/p3")),
            (r#"</p1>; rel="prev""#, None),
            (r#"</p1>; title="next""#, None),
            ("garbage", None),
            ("", None),
        ];
        for (value, want) in cases {
            assert_eq!(next_link(value).as_deref(), want, "{value}");
        }
    }
}
