//! `Location` handling: absolute or relative, resolved against the
//! URL of the request that produced it (after redirects), query kept, `digest=` appended.

use url::Url;

/// Resolves a `Location` header value against the final URL of the request.
pub(crate) fn resolve(base: &Url, location: &str) -> Result<Url, url::ParseError> {
    // GHCR answers `/v2/<name>/blobs/upload/<uuid>`, Google Artifact Registry
    // `/artifacts-uploads/...`: both relative, both resolved here.
    base.join(location)
}

/// `url` with `digest=<d>` appended to its query, keeping what is there.
pub(crate) fn with_query(url: &Url, key: &str, value: &str) -> Url {
    let mut u = url.clone();
    u.query_pairs_mut().append_pair(key, value);
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_table() {
        let base = Url::parse("https://reg.io/v2/app/blobs/uploads/").unwrap();
        let cases = [
            (
                "https://reg.io/v2/app/blobs/uploads/u1?_state=abc",
                "https://reg.io/v2/app/blobs/uploads/u1?_state=abc",
            ),
            (
                "/v2/app/blobs/upload/u2",
                "https://reg.io/v2/app/blobs/upload/u2",
            ),
            (
                "/artifacts-uploads/namespaces/p/u3?upload_id=9",
                "https://reg.io/artifacts-uploads/namespaces/p/u3?upload_id=9",
            ),
            ("u4", "https://reg.io/v2/app/blobs/uploads/u4"),
            (
                "https://storage.example.com/bucket/u5?sig=1",
                "https://storage.example.com/bucket/u5?sig=1",
            ),
        ];
        for (loc, want) in cases {
            assert_eq!(resolve(&base, loc).unwrap().as_str(), want, "{loc}");
        }
    }

    #[test]
    fn digest_appended_table() {
        let d = "sha256:ab";
        let cases = [
            (
                "https://r/v2/a/blobs/uploads/u",
                "https://r/v2/a/blobs/uploads/u?digest=sha256%3Aab",
            ),
            (
                "https://r/v2/a/blobs/uploads/u?_state=x%3D",
                "https://r/v2/a/blobs/uploads/u?_state=x%3D&digest=sha256%3Aab",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(
                with_query(&Url::parse(url).unwrap(), "digest", d).as_str(),
                want
            );
        }
    }
}
