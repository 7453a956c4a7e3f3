//! The default signature of a stage that `stages import` or `stages add` writes without
//! `--signature`: werf-push does not build, so it cannot compute werf's own signature (a
//! digest of the stage's build instructions); instead the signature is a documented
//! function of what was stored, so the same content on the same parent always gets the
//! same signature (docs/stages-format.md, "Writing stages"):
//!
//! ```text
//! hex(sha256("werf-push-import-v1\n" + <manifest digest> + "\n" + <parent signature>))[..56]
//! ```
//! `<manifest digest>` is `sha256:<hex>` of the stage's manifest (or index) as stored;
//! `<parent signature>` is the empty string for a stage without parent. 56 hex characters
//! is the length of werf v1.1's signatures. Pure: no I/O.

use sha2::{Digest as _, Sha256};

use werf_push_spec::Digest;

/// Version tag of the function; a different function would get another one.
pub(crate) const DOMAIN: &str = "werf-push-import-v1";

/// Length of a default signature, in hex characters.
pub(crate) const LEN: usize = 56;

/// The default signature of a stage stored as `manifest`, on top of `parent` (a signature).
pub(crate) fn default_signature(manifest: &Digest, parent: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN.as_bytes());
    h.update(b"\n");
    h.update(manifest.to_string().as_bytes());
    h.update(b"\n");
    h.update(parent.unwrap_or("").as_bytes());
    let mut hex = hex::encode(h.finalize());
    hex.truncate(LEN);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_signature_table() {
        let d = |c: char| Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap();
        // Values computed independently:
        // printf 'werf-push-import-v1\nsha256:aaaa...\n' | sha256sum | cut -c1-56
        let cases = [
            (d('a'), None, "sha256:aaa, no parent"),
            (d('a'), Some("b8d07aea"), "same digest, a parent"),
            (d('b'), None, "another digest"),
        ];
        let mut seen = std::collections::HashSet::new();
        for (digest, parent, label) in &cases {
            let s = default_signature(digest, *parent);
            assert_eq!(s.len(), LEN, "{label}");
            assert!(super::super::format::check_signature(&s).is_ok(), "{label}");
            assert_eq!(s, default_signature(digest, *parent), "{label}: stable");
            assert!(seen.insert(s), "{label}: distinct");
        }
        // The documented formula, spelt out.
        let text = format!("werf-push-import-v1\nsha256:{}\n", "a".repeat(64));
        let want = &hex::encode(Sha256::digest(text.as_bytes()))[..LEN];
        assert_eq!(default_signature(&d('a'), None), want);
    }
}
