//! Unit tests of `blob.rs`.
use super::*;
use werf_push_spec::Digest;

#[test]
fn short_hex_is_eight_digits() {
    let d = Digest::sha256_of(b"x");
    assert_eq!(short_hex(&d), &d.hex()[..8]);
}
