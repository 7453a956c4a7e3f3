//! The one verifier of content against its digest: a running hash in the algorithm a
//! [`Digest`] names (every algorithm the digest parser accepts: sha256 and sha512), and the
//! checks built on it (bytes in memory, a reader streamed in pieces). Layout reads, blob
//! writes, push verification and downloads all hash through it, so no algorithm the parser
//! accepts goes unchecked anywhere.

use std::io::Read;

use sha2::{Digest as _, Sha256, Sha512};

use super::Digest;

/// A running hash in one digest algorithm; [`finish`](DigestHasher::finish) gives the
/// [`Digest`] of everything fed to it.
///
/// Exhaustive on purpose: one variant per algorithm [`Digest::parse`] accepts, so a new
/// algorithm is added to both at once.
#[derive(Clone, Debug)]
pub enum DigestHasher {
    /// A sha256 hash.
    Sha256(Sha256),
    /// A sha512 hash.
    Sha512(Sha512),
}

impl DigestHasher {
    /// A sha256 hash: the algorithm of content this tool creates.
    pub fn sha256() -> DigestHasher {
        DigestHasher::Sha256(Sha256::new())
    }

    /// A hash in the algorithm of `digest`, to verify content against it.
    pub fn like(digest: &Digest) -> DigestHasher {
        match digest.algorithm() {
            "sha512" => DigestHasher::Sha512(Sha512::new()),
            // The parser accepts sha256 and sha512 only.
            _ => DigestHasher::sha256(),
        }
    }

    /// The algorithm's name, as a digest writes it (`sha256`, `sha512`).
    pub fn algorithm(&self) -> &'static str {
        match self {
            DigestHasher::Sha256(_) => "sha256",
            DigestHasher::Sha512(_) => "sha512",
        }
    }

    /// A new, empty hash in the same algorithm.
    pub fn fresh(&self) -> DigestHasher {
        match self {
            DigestHasher::Sha256(_) => DigestHasher::Sha256(Sha256::new()),
            DigestHasher::Sha512(_) => DigestHasher::Sha512(Sha512::new()),
        }
    }

    /// Feeds `bytes` to the hash.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            DigestHasher::Sha256(h) => h.update(bytes),
            DigestHasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        let alg = self.algorithm();
        match self {
            DigestHasher::Sha256(h) => Digest::from_raw(alg, &h.finalize()),
            DigestHasher::Sha512(h) => Digest::from_raw(alg, &h.finalize()),
        }
    }

    /// Everything `reader` gives, read in 1 MiB pieces (never whole in memory).
    pub(crate) fn read_all(&mut self, mut reader: impl Read) -> std::io::Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => self.update(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Digest {
    /// Checks `bytes` against this digest in its own algorithm; on a mismatch, what they
    /// hash to (in the same algorithm).
    pub fn verify(&self, bytes: &[u8]) -> Result<(), Digest> {
        let mut h = DigestHasher::like(self);
        h.update(bytes);
        self.matches(h.finish())
    }

    /// Checks everything `reader` gives (streamed) against this digest; `Ok(Err(actual))`
    /// on a mismatch, `Err` when the reader fails.
    pub fn verify_reader(&self, reader: impl Read) -> std::io::Result<Result<(), Digest>> {
        let mut h = DigestHasher::like(self);
        h.read_all(reader)?;
        Ok(self.matches(h.finish()))
    }

    /// `Ok` when `actual` is this digest, else `Err(actual)`.
    pub fn matches(&self, actual: Digest) -> Result<(), Digest> {
        if actual == *self {
            Ok(())
        } else {
            Err(actual)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA512_ABC: &str = "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
    const SHA256_ABC: &str =
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn verify_table() {
        let sha512_other = format!("sha512:{}", "0".repeat(128));
        let sha256_other = format!("sha256:{}", "0".repeat(64));
        // (digest, content, the mismatch reported or None for a match)
        let cases: &[(&str, &[u8], Option<&str>)] = &[
            (SHA256_ABC, b"abc", None),
            (SHA512_ABC, b"abc", None),
            (SHA256_ABC, b"abd", Some("sha256:")),
            (SHA512_ABC, b"abd", Some("sha512:")),
            (&sha512_other, b"abc", Some(SHA512_ABC)),
            (&sha256_other, b"abc", Some(SHA256_ABC)),
        ];
        for (digest, content, want) in cases {
            let d = Digest::parse(digest).unwrap();
            let in_memory = d.verify(content);
            let streamed = d.verify_reader(*content).unwrap();
            assert_eq!(in_memory, streamed, "{digest}");
            match (in_memory, want) {
                (Ok(()), None) => {}
                (Err(actual), Some(prefix)) => {
                    assert!(actual.to_string().starts_with(prefix), "{digest}: {actual}");
                    assert_eq!(actual.algorithm(), d.algorithm(), "{digest}");
                }
                (got, want) => panic!("{digest}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn hash_in_pieces_is_hash_of_whole() {
        for d in [SHA256_ABC, SHA512_ABC] {
            let d = Digest::parse(d).unwrap();
            let mut h = DigestHasher::like(&d);
            for piece in [&b"a"[..], b"", b"bc"] {
                h.update(piece);
            }
            assert_eq!(h.finish(), d);
        }
    }
}
