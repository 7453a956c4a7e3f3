//! Synthetic blob content for benchmarks: bytes defined by a seed and an offset alone
//! (splitmix64 of the seed and the 8-byte word's index), so any range can be produced
//! again for a retry or a resumed upload without disk or memory holding the blob.
//! Incompressible, like real compressed layers. Knows nothing of registries or images.

use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, Stream};

/// Piece size handed to the connection.
const PIECE: usize = super::body::STREAM_BUF;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The word at `index` of the content for `seed`.
fn word(seed: u64, index: u64) -> [u8; 8] {
    splitmix64(seed.rotate_left(32) ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93)).to_le_bytes()
}

/// Fills `buf` with the content for `seed` starting at byte `offset`.
pub fn fill(seed: u64, offset: u64, buf: &mut [u8]) {
    let mut pos = 0usize;
    let mut at = offset;
    // Head: up to the next word boundary.
    let skip = (at % 8) as usize;
    if skip != 0 {
        let w = word(seed, at / 8);
        let n = (8 - skip).min(buf.len());
        buf[..n].copy_from_slice(&w[skip..skip + n]);
        pos += n;
        at += n as u64;
    }
    let mut chunks = buf[pos..].chunks_exact_mut(8);
    let mut index = at / 8;
    for c in &mut chunks {
        c.copy_from_slice(&word(seed, index));
        index += 1;
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let n = rest.len();
        rest.copy_from_slice(&word(seed, index)[..n]);
    }
}

/// `len` bytes of the content for `seed` from `offset`, in pieces of `PIECE` bytes.
pub fn stream(
    seed: u64,
    offset: u64,
    len: u64,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    stream::unfold((offset, len), move |(at, left)| async move {
        if left == 0 {
            return None;
        }
        let n = left.min(PIECE as u64) as usize;
        let mut buf = BytesMut::zeroed(n);
        fill(seed, at, &mut buf);
        Some((Ok(buf.freeze()), (at + n as u64, left - n as u64)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_range_matches_the_whole() {
        let mut whole = vec![0u8; 1000];
        fill(7, 0, &mut whole);
        // (offset, len)
        for (off, len) in [
            (0, 1000),
            (1, 7),
            (3, 13),
            (8, 8),
            (9, 0),
            (500, 499),
            (993, 7),
        ] {
            let mut part = vec![0u8; len];
            fill(7, off as u64, &mut part);
            assert_eq!(part, whole[off..off + len], "offset {off} len {len}");
        }
        let mut other = vec![0u8; 1000];
        fill(8, 0, &mut other);
        assert_ne!(whole, other, "another seed, other bytes");
    }
}
