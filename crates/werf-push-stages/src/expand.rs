//! The bound on how far a compressed layer from outside (an archive member) may expand
//! while its diff_id is computed: a zstd bomb (a few MB expanding to tens of GiB) would
//! cost CPU in proportion to its expanded size before any check could refuse it. A layer
//! may expand to [`MAX_EXPANSION`] times the compressed bytes read so far, plus
//! [`EXPANSION_SLACK`]; past that the decompression stops with an error naming the limit.
//! gzip (deflate) cannot expand more than about 1032 times, so no gzip layer ever trips it;
//! only a zstd layer of long runs of one byte can. Knows nothing of tar or of layouts.

use std::cell::Cell;
use std::io::Write;

/// The most a layer may expand, as a multiple of its compressed size.
pub(crate) const MAX_EXPANSION: u64 = 1100;
/// Expanded bytes allowed on top of [`MAX_EXPANSION`] times the compressed ones (a small
/// layer of a big empty file).
pub(crate) const EXPANSION_SLACK: u64 = 64 << 20;

/// Passes the expanded bytes on to `inner`, failing once they are more than the bound
/// allows for the compressed bytes read so far (`compressed`, counted by the reader).
pub(crate) struct Expansion<'a, W> {
    inner: W,
    compressed: &'a Cell<u64>,
    expanded: u64,
}

impl<'a, W: Write> Expansion<'a, W> {
    pub(crate) fn new(inner: W, compressed: &'a Cell<u64>) -> Self {
        Expansion {
            inner,
            compressed,
            expanded: 0,
        }
    }

    pub(crate) fn into_inner(self) -> W {
        self.inner
    }
}

/// Whether `expanded` bytes from `compressed` bytes are within the bound.
pub(crate) fn within(compressed: u64, expanded: u64) -> bool {
    expanded
        <= compressed
            .saturating_mul(MAX_EXPANSION)
            .saturating_add(EXPANSION_SLACK)
}

impl<W: Write> Write for Expansion<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let expanded = self.expanded + buf.len() as u64;
        let compressed = self.compressed.get();
        if !within(compressed, expanded) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "it expands to more than {MAX_EXPANSION} times its compressed size (over \
                     {expanded} bytes from {compressed}): refused as a decompression bomb"
                ),
            ));
        }
        let n = self.inner.write(buf)?;
        self.expanded += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_bound_table() {
        // (compressed bytes read, expanded bytes written, allowed)
        let cases = [
            (0, EXPANSION_SLACK, true),
            (0, EXPANSION_SLACK + 1, false),
            (1 << 20, (1 << 20) * MAX_EXPANSION + EXPANSION_SLACK, true),
            (
                1 << 20,
                (1 << 20) * MAX_EXPANSION + EXPANSION_SLACK + 1,
                false,
            ),
            // gzip's best (about 1032:1) is always within.
            (10 << 20, (10 << 20) * 1032, true),
            // The zstd bomb that was reported: 2.6 MB expanding to 80 GiB.
            (2_600_000, 80 << 30, false),
            (u64::MAX, u64::MAX, true),
        ];
        for (compressed, expanded, ok) in cases {
            assert_eq!(
                within(compressed, expanded),
                ok,
                "{compressed} -> {expanded}"
            );
        }
        let read = Cell::new(10);
        let mut w = Expansion::new(std::io::sink(), &read);
        let piece = vec![0u8; 1 << 20];
        let mut written = 0u64;
        let err = loop {
            match w.write_all(&piece) {
                Ok(()) => written += piece.len() as u64,
                Err(e) => break e,
            }
        };
        assert_eq!(written, EXPANSION_SLACK, "stops at the bound");
        assert!(err.to_string().contains("decompression bomb"), "{err}");
    }
}
