//! Tests of `layer.rs`: plain tar streams compressed, compressed ones kept byte for byte.
use super::*;

#[test]
fn plain_tars_are_compressed_and_compressed_ones_kept_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let tar = b"not really a tar, but bytes all the same".repeat(100);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&tar[..], 19).unwrap();
    let opts = |compression| LayerOptions {
        compression,
        threads: 2,
    };
    let gzip = opts(LayerCompression::Gzip);
    let zstd = opts(LayerCompression::Zstd);
    // (input, options, media type, the blob is the input byte for byte)
    let cases: [(&[u8], LayerOptions, &str, bool); 5] = [
        (&tar, gzip, media_type::OCI_LAYER_GZIP, false),
        (&tar, zstd, media_type::OCI_LAYER_ZSTD, false),
        (&gz, zstd, media_type::OCI_LAYER_GZIP, true),
        (&zst, gzip, media_type::OCI_LAYER_ZSTD, true),
        (&zst, zstd, media_type::OCI_LAYER_ZSTD, true),
    ];
    let want = Digest::sha256_of(&tar);
    for (i, (input, opts, mt, kept)) in cases.into_iter().enumerate() {
        let out = layer_stream(dir.path(), input, Path::new("in"), &opts).unwrap();
        assert_eq!(out.diff_id, want, "case {i}");
        assert_eq!(out.descriptor.media_type, mt, "case {i}");
        let blob = dir
            .path()
            .join("blobs/sha256")
            .join(out.descriptor.digest.hex());
        let bytes = std::fs::read(&blob).unwrap();
        assert_eq!(Digest::sha256_of(&bytes), out.descriptor.digest, "case {i}");
        assert_eq!(bytes.len() as u64, out.descriptor.size, "case {i}");
        assert_eq!(bytes == input, kept, "case {i}");
    }
}
