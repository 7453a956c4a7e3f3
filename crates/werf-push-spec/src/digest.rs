//! Content digests (`sha256:<hex>`, `sha512:<hex>`): parsing, validation, computing (the
//! hashing and verifying itself is `hasher.rs`). Knows nothing of where content lives.

use std::fmt;
use std::str::FromStr;

use super::{DigestHasher, SpecError};

/// A validated content digest. Only sha256 and sha512 are accepted, hex in lower case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: &'static str,
    hex: String,
}

impl Digest {
    /// Parses `algorithm:hex`; an error names the input and what is wrong with it.
    pub fn parse(input: &str) -> Result<Digest, SpecError> {
        let err = |reason| SpecError::Digest {
            input: input.chars().take(200).collect(),
            reason,
        };
        let (alg, hex) = input.split_once(':').ok_or_else(|| err("missing ':'"))?;
        let (algorithm, len) = match alg {
            "sha256" => ("sha256", 64),
            "sha512" => ("sha512", 128),
            _ => return Err(err("unsupported algorithm")),
        };
        if hex.len() != len {
            return Err(err("wrong length"));
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err("not lower-case hex"));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        let mut h = DigestHasher::sha256();
        h.update(bytes);
        h.finish()
    }

    /// A digest from raw hash output of `algorithm` (one the parser accepts).
    pub(crate) fn from_raw(algorithm: &'static str, raw: &[u8]) -> Digest {
        Digest {
            algorithm,
            hex: hex::encode(raw),
        }
    }

    /// The algorithm: `sha256` or `sha512`.
    pub fn algorithm(&self) -> &'static str {
        self.algorithm
    }

    /// The hash in lower-case hex (64 characters for sha256, 128 for sha512).
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The first 12 hex characters, as docker shows image IDs: the one short form of a
    /// digest for people (progress, retry notices, tag lines).
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }

    /// The algorithm and the short form (`sha256:d5e0bb34a1c2`).
    pub fn short_id(&self) -> String {
        format!("{}:{}", self.algorithm, self.short())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Digest {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let h64 = "a".repeat(64);
        let cases: Vec<(String, Result<&str, &str>)> = vec![
            (format!("sha256:{h64}"), Ok("sha256")),
            (format!("sha512:{}", "0".repeat(128)), Ok("sha512")),
            (h64.clone(), Err("missing ':'")),
            (format!("md5:{h64}"), Err("unsupported algorithm")),
            (format!("sha256:{}", "a".repeat(63)), Err("wrong length")),
            (
                format!("sha256:{}", "A".repeat(64)),
                Err("not lower-case hex"),
            ),
            (
                format!("sha256:{}g", "a".repeat(63)),
                Err("not lower-case hex"),
            ),
            ("".to_string(), Err("missing ':'")),
        ];
        for (input, want) in cases {
            match (Digest::parse(&input), want) {
                (Ok(d), Ok(alg)) => {
                    assert_eq!(d.algorithm(), alg, "{input}");
                    assert_eq!(d.to_string(), input);
                }
                (Err(SpecError::Digest { reason, .. }), Err(want)) => {
                    assert_eq!(reason, want, "{input}")
                }
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn short_forms() {
        let d = Digest::sha256_of(b"");
        assert_eq!(d.short(), "e3b0c44298fc");
        assert_eq!(d.short_id(), "sha256:e3b0c44298fc");
    }

    #[test]
    fn sha256_of_empty() {
        assert_eq!(
            Digest::sha256_of(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
