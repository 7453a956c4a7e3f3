//! The bytes of test layers: pseudo-random content from a seeded xorshift generator (the
//! same bytes every run), a tar archive of one regular file, and gzip streams made of
//! *stored* deflate blocks (valid gzip, no compression library needed, size predictable:
//! [`gzip_size`]), so a layer of a chosen size is exactly as big as asked.

use std::sync::OnceLock;

use crate::support::cmd::sha256_digest;

/// tar block size.
const BLOCK: usize = 512;

/// xorshift64*: tiny, deterministic, good enough to make incompressible, distinct bytes.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        // Mix the seed so that nearby seeds give unrelated streams; never zero.
        let mut s = seed ^ 0x9E37_79B9_7F4A_7C15;
        s = (s ^ (s >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        s = (s ^ (s >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        XorShift((s ^ (s >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// `n` pseudo-random bytes from `seed`.
pub fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    XorShift::new(seed).fill(&mut buf);
    buf
}

/// The size of the tar archive [`tar_layer`] makes for a requested size: `size` rounded up
/// to whole 512-byte blocks, and at least 3 blocks (header, end-of-archive marker).
pub fn tar_size(size: usize) -> usize {
    size.div_ceil(BLOCK).max(3) * BLOCK
}

/// An uncompressed tar archive of exactly [`tar_size`]`(size)` bytes holding one regular
/// file `name` of pseudo-random content (ustar header, data padded to a block, two zero
/// blocks).
pub fn tar_layer(name: &str, size: usize, seed: u64) -> Vec<u8> {
    let total = tar_size(size);
    let data_len = total - 3 * BLOCK;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&tar_header(name, data_len as u64));
    out.extend_from_slice(&random_bytes(seed, data_len));
    out.resize(total, 0);
    debug_assert_eq!(out.len(), total);
    out
}

fn tar_header(name: &str, size: u64) -> [u8; BLOCK] {
    assert!(name.len() < 100, "tar name too long: {name}");
    let mut h = [0u8; BLOCK];
    let put = |h: &mut [u8; BLOCK], off: usize, bytes: &[u8]| {
        h[off..off + bytes.len()].copy_from_slice(bytes)
    };
    put(&mut h, 0, name.as_bytes());
    put(&mut h, 100, b"0000644\0"); // mode
    put(&mut h, 108, b"0000000\0"); // uid
    put(&mut h, 116, b"0000000\0"); // gid
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, b"00000000000\0"); // mtime
    put(&mut h, 156, b"0"); // regular file
    put(&mut h, 257, b"ustar\0");
    put(&mut h, 263, b"00");
    // The checksum is computed with its own field as spaces.
    put(&mut h, 148, b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

/// Largest stored deflate block.
const STORED_MAX: usize = 65_535;

/// The size of [`gzip_stored`]`(data)` for `len` bytes of data: a 10-byte header, 5 bytes
/// per stored block, an 8-byte trailer.
pub fn gzip_size(len: usize) -> usize {
    10 + 5 * len.div_ceil(STORED_MAX).max(1) + len + 8
}

/// `data` as a gzip stream of stored (uncompressed) deflate blocks: valid for any gzip
/// reader, and as big as the data, so random bytes make layers of a chosen size.
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(gzip_size(data.len()));
    // magic, deflate, no flags, mtime 0, no extra flags, OS unknown
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut blocks = data.chunks(STORED_MAX).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = blocks.peek().is_none();
        let len = block.len() as u16;
        out.push(u8::from(last)); // BFINAL, BTYPE 00 (stored); the rest of the byte unused
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    debug_assert_eq!(out.len(), gzip_size(data.len()));
    out
}

/// CRC-32 (IEEE 802.3, reflected), as gzip wants it.
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: OnceLock<[u32; 256]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// A layer: the gzip ([`gzip_stored`]) of [`tar_layer`]`(name, size, seed)`, and the
/// digest of the tar (its diff ID).
pub fn gzip_layer(name: &str, size: usize, seed: u64) -> (Vec<u8>, String) {
    let tar = tar_layer(name, size, seed);
    let diff_id = sha256_digest(&tar);
    (gzip_stored(&tar), diff_id)
}

/// The size of a layer blob that [`image`] writes for a requested size.
pub fn layer_blob_size(size: usize) -> usize {
    gzip_size(tar_size(size))
}
