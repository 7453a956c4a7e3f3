//! OCI image layouts for tests, written with the crate's own `LayoutWriter`
//! ([`image`], [`index_image`]) or by a third-party tool, `umoci` ([`umoci_image`]).
//!
//! Layers are real tar archives (one regular file of pseudo-random bytes, from a seeded
//! xorshift generator, so every run writes the same bytes) in gzip streams made of
//! *stored* deflate blocks (valid gzip, no compression library needed, size predictable:
//! [`gzip_size`]). They are declared `application/vnd.oci.image.layer.v1.tar+gzip` (OCI)
//! or `application/vnd.docker.image.rootfs.diff.tar.gzip` (Docker schema 2), and the
//! config's diff IDs are the digests of the tars. Gzip rather than plain tar because
//! `skopeo copy` into an `oci:` layout compresses uncompressed layers, which would change
//! their digests when reading an image back. Configs are valid image configs
//! (`architecture`, `os`, `rootfs.diff_ids`). Manifests are stored pretty-printed, exactly
//! as written: a client that re-serialised them would push other bytes, hence another
//! digest.
//!
//! Helpers to compare blob sets: [`blob_files`] (every blob file of a layout, each checked
//! against its name), [`referenced_blobs`] (what one image references), [`read_blob`].

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};
use werf_push_layout::{LayoutWriter, REF_NAME};
use werf_push_spec::media_type;

use super::cmd::{self, sha256_digest};

/// tar block size.
const BLOCK: usize = 512;

/// Which manifest flavour [`image`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OCI image manifest, OCI config and OCI gzip layers.
    Oci,
    /// Docker schema 2 manifest, Docker config and Docker gzip layers.
    Docker,
}

impl Format {
    pub fn manifest_type(self) -> &'static str {
        match self {
            Format::Oci => media_type::OCI_MANIFEST,
            Format::Docker => media_type::DOCKER_MANIFEST,
        }
    }

    pub fn config_type(self) -> &'static str {
        match self {
            Format::Oci => media_type::OCI_CONFIG,
            Format::Docker => media_type::DOCKER_CONFIG,
        }
    }

    pub fn layer_type(self) -> &'static str {
        match self {
            Format::Oci => media_type::OCI_LAYER_GZIP,
            Format::Docker => media_type::DOCKER_LAYER_GZIP,
        }
    }
}

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

/// An image config (valid JSON: architecture, os, rootfs diff IDs). `seed` goes into a
/// label so that images of different seeds have different configs.
fn config_json(arch: &str, diff_ids: &[String], seed: u64) -> Vec<u8> {
    let v = json!({
        "created": "2024-01-01T00:00:00Z",
        "architecture": arch,
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Labels": { "werf-push.test.seed": seed.to_string() },
        },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": diff_ids.iter().map(|_| json!({
            "created": "2024-01-01T00:00:00Z",
            "created_by": "werf-push test layout",
        })).collect::<Vec<_>>(),
    });
    serde_json::to_vec(&v).expect("config serialises")
}

fn descriptor_json(d: &werf_push_spec::Descriptor) -> Value {
    json!({
        "mediaType": d.media_type,
        "digest": d.digest.to_string(),
        "size": d.size,
    })
}

/// Writes one image manifest's blobs (layers, config, manifest) and returns the manifest
/// descriptor.
fn write_manifest(
    w: &LayoutWriter,
    layers: &[(Vec<u8>, String)],
    format: Format,
    arch: &str,
    seed: u64,
) -> werf_push_spec::Descriptor {
    let layer_descs: Vec<_> = layers
        .iter()
        .map(|(l, _)| w.write_blob(l, format.layer_type()).expect("write layer"))
        .collect();
    let diff_ids: Vec<String> = layers.iter().map(|(_, d)| d.clone()).collect();
    let config = w
        .write_blob(&config_json(arch, &diff_ids, seed), format.config_type())
        .expect("write config");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": format.manifest_type(),
        "config": descriptor_json(&config),
        "layers": layer_descs.iter().map(descriptor_json).collect::<Vec<_>>(),
    });
    // Pretty-printed with a trailing newline: not what a re-serialiser would produce.
    let mut bytes = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    bytes.push(b'\n');
    w.write_blob(&bytes, format.manifest_type())
        .expect("write manifest")
}

/// Writes an image with one layer per entry of `layer_sizes` (each a gzip of a tar of
/// [`tar_size`]`(size)` bytes, so a blob of [`layer_blob_size`]`(size)` bytes; content from
/// `seed`) into the layout `dir` (created if missing; existing entries are kept) and adds
/// it to `index.json`, named `ref_name` when given. Returns the manifest digest
/// (`sha256:...`).
pub fn image(
    dir: &Path,
    layer_sizes: &[usize],
    seed: u64,
    format: Format,
    ref_name: Option<&str>,
) -> String {
    child_image(dir, (&[], 0), layer_sizes, seed, format, ref_name)
}

/// The layers [`image`] makes of `layer_sizes` and `seed`, named from `layer-<first>.bin`.
fn seeded_layers(layer_sizes: &[usize], seed: u64, first: usize) -> Vec<(Vec<u8>, String)> {
    layer_sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            gzip_layer(
                &format!("layer-{}.bin", first + i),
                size,
                seed.wrapping_mul(1000).wrapping_add(i as u64),
            )
        })
        .collect()
}

/// As [`image`], built on the image [`image`] makes of `parent` (layer sizes, seed): its
/// layers first, then those of `layer_sizes` and `seed` (a werf stage and its parent).
pub fn child_image(
    dir: &Path,
    parent: (&[usize], u64),
    layer_sizes: &[usize],
    seed: u64,
    format: Format,
    ref_name: Option<&str>,
) -> String {
    let mut w = LayoutWriter::create(dir).expect("create layout");
    let mut layers = seeded_layers(parent.0, parent.1, 0);
    layers.extend(seeded_layers(layer_sizes, seed, parent.0.len()));
    let desc = write_manifest(&w, &layers, format, "amd64", seed);
    let extra = match ref_name {
        Some(name) => json!({ "annotations": { REF_NAME: name } }),
        None => json!({}),
    };
    w.add_entry(&desc, extra);
    w.commit().expect("commit index.json");
    desc.digest.to_string()
}

/// Writes an OCI image index with two platform manifests (linux/amd64, linux/arm64) that
/// share one layer (each also has a small layer of its own and its own config) into `dir`,
/// and adds the index to `index.json`. Returns the index digest.
pub fn index_image(dir: &Path, seed: u64) -> String {
    let mut w = LayoutWriter::create(dir).expect("create layout");
    let shared = gzip_layer("shared.bin", 96 << 10, seed.wrapping_mul(1000));
    let mut children = Vec::new();
    for (i, arch) in ["amd64", "arm64"].into_iter().enumerate() {
        let own = gzip_layer(
            &format!("{arch}.bin"),
            (8 << 10) * (i + 1),
            seed.wrapping_mul(1000).wrapping_add(1 + i as u64),
        );
        let d = write_manifest(
            &w,
            &[shared.clone(), own],
            Format::Oci,
            arch,
            seed.wrapping_add(i as u64),
        );
        let mut v = descriptor_json(&d);
        v["platform"] = json!({ "architecture": arch, "os": "linux" });
        children.push(v);
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": children,
    });
    let mut bytes = serde_json::to_vec_pretty(&index).expect("index serialises");
    bytes.push(b'\n');
    let desc = w
        .write_blob(&bytes, media_type::OCI_INDEX)
        .expect("write index");
    w.add_entry(&desc, json!({}));
    w.commit().expect("commit index.json");
    desc.digest.to_string()
}

/// The umoci binary, looked up in `PATH`.
pub const UMOCI_BIN: &str = "umoci";

/// Tag of the image [`umoci_image`] makes.
pub const UMOCI_TAG: &str = "latest";

/// Panics with an install hint when umoci cannot be run (checked once per test binary).
pub fn ensure_umoci() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| match Command::new(UMOCI_BIN).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`{UMOCI_BIN} --version` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{UMOCI_BIN} not found: run scripts/test (it installs it) or apt-get install umoci"
        ),
        Err(e) => panic!("cannot run {UMOCI_BIN}: {e}"),
    });
}

fn umoci(args: &[&str]) {
    let mut c = cmd::bin(UMOCI_BIN);
    c.args(args);
    let out = cmd::run(&mut c);
    cmd::assert_success(&out);
}

/// Makes an image with the real `umoci`: `init`, `new`, `unpack --rootless`, a file of a few
/// hundred KiB (pseudo-random, so the gzip layer stays that big) added to the rootfs,
/// `repack`. The layout is `dir` (must not exist yet); the image is tagged [`UMOCI_TAG`].
/// Returns its manifest digest, as umoci recorded it in `index.json` (it changes from run
/// to run: umoci records times).
pub fn umoci_image(dir: &Path) -> String {
    umoci_image_seeded(dir, UMOCI_SEED)
}

/// The seed of the file [`umoci_image`] adds.
pub const UMOCI_SEED: u64 = 0x0075_6d6f_6369;

/// [`umoci_image`] with the added file's content from `seed`.
pub fn umoci_image_seeded(dir: &Path, seed: u64) -> String {
    ensure_umoci();
    assert!(!dir.exists(), "{} exists already", dir.display());
    let work = tempfile::Builder::new()
        .prefix("werf-push-umoci-")
        .tempdir()
        .expect("create umoci work dir");
    let bundle = work.path().join("bundle");
    let layout = dir.to_str().expect("UTF-8 layout path");
    let image = format!("{layout}:{UMOCI_TAG}");
    umoci(&["init", "--layout", layout]);
    umoci(&["new", "--image", &image]);
    umoci(&[
        "unpack",
        "--rootless",
        "--image",
        &image,
        bundle.to_str().expect("UTF-8 bundle path"),
    ]);
    let rootfs = bundle.join("rootfs");
    std::fs::create_dir_all(rootfs.join("opt/app")).expect("create dir in rootfs");
    std::fs::write(
        rootfs.join("opt/app/data.bin"),
        random_bytes(seed, 300 << 10),
    )
    .expect("write file into rootfs");
    std::fs::write(
        rootfs.join("opt/app/README"),
        b"written by werf-push tests\n",
    )
    .expect("write file into rootfs");
    umoci(&[
        "repack",
        "--image",
        &image,
        bundle.to_str().expect("UTF-8 bundle path"),
    ]);
    ref_digest(dir, UMOCI_TAG)
}

/// The `index.json` of the layout `dir`, parsed.
pub fn index_json(dir: &Path) -> Value {
    let p = dir.join("index.json");
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()))
}

/// The digest of the entry of `dir`'s `index.json` named `ref_name`.
pub fn ref_digest(dir: &Path, ref_name: &str) -> String {
    let index = index_json(dir);
    index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["annotations"][REF_NAME] == ref_name)
        .and_then(|m| m["digest"].as_str())
        .unwrap_or_else(|| panic!("no '{ref_name}' in {}/index.json: {index}", dir.display()))
        .to_string()
}

/// The layer digests of an image manifest, in order.
pub fn layer_digests(manifest: &Value) -> Vec<String> {
    manifest["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("not an image manifest: {manifest}"))
        .iter()
        .map(|l| l["digest"].as_str().expect("layer digest").to_string())
        .collect()
}

/// The path of blob `digest` (`sha256:...`) in the layout `dir`.
pub fn blob_path(dir: &Path, digest: &str) -> std::path::PathBuf {
    let hex = digest
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("not a sha256 digest: {digest}"));
    dir.join("blobs").join("sha256").join(hex)
}

/// The bytes of blob `digest` in the layout `dir`.
pub fn read_blob(dir: &Path, digest: &str) -> Vec<u8> {
    let p = blob_path(dir, digest);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// The digests of every file under `dir/blobs/sha256` (temporary files skipped), each
/// checked to hash to its name.
pub fn blob_files(dir: &Path) -> BTreeSet<String> {
    let blobs = dir.join("blobs").join("sha256");
    let mut out = BTreeSet::new();
    for entry in
        std::fs::read_dir(&blobs).unwrap_or_else(|e| panic!("read {}: {e}", blobs.display()))
    {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let digest = format!("sha256:{name}");
        let actual = sha256_digest(std::fs::read(entry.path()).expect("read blob"));
        assert_eq!(
            actual,
            digest,
            "{}: content does not match its name",
            entry.path().display()
        );
        out.insert(digest);
    }
    out
}

/// The digests of everything image `digest` of layout `dir` references: the manifest
/// itself, its config and layers, and for an index every child manifest, recursively.
pub fn referenced_blobs(dir: &Path, digest: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_referenced(dir, digest, &mut out);
    out
}

fn collect_referenced(dir: &Path, digest: &str, out: &mut BTreeSet<String>) {
    if !out.insert(digest.to_string()) {
        return;
    }
    let v: Value = serde_json::from_slice(&read_blob(dir, digest))
        .unwrap_or_else(|e| panic!("manifest {digest} is not JSON: {e}"));
    let digest_of = |d: &Value| {
        d["digest"]
            .as_str()
            .unwrap_or_else(|| panic!("descriptor without digest in {digest}: {d}"))
            .to_string()
    };
    if let Some(children) = v["manifests"].as_array() {
        for c in children {
            collect_referenced(dir, &digest_of(c), out);
        }
    }
    if v.get("config").is_some() {
        out.insert(digest_of(&v["config"]));
    }
    for l in v["layers"].as_array().into_iter().flatten() {
        out.insert(digest_of(l));
    }
}

/// The sum of the sizes of the blobs (configs and layers, not manifests) that image
/// `digest` of layout `dir` references, each counted once.
pub fn unique_blob_bytes(dir: &Path, digest: &str) -> u64 {
    let manifests = manifest_digests(dir, digest);
    referenced_blobs(dir, digest)
        .iter()
        .filter(|d| !manifests.contains(*d))
        .map(|d| {
            std::fs::metadata(blob_path(dir, d))
                .expect("stat blob")
                .len()
        })
        .sum()
}

/// The manifests (the root and, for an index, its children) of image `digest`.
pub fn manifest_digests(dir: &Path, digest: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.insert(digest.to_string());
    let v: Value = serde_json::from_slice(&read_blob(dir, digest)).expect("manifest JSON");
    for c in v["manifests"].as_array().into_iter().flatten() {
        let child = c["digest"].as_str().expect("child digest");
        out.extend(manifest_digests(dir, child));
    }
    out
}

/// Copies the directory tree `from` to `to` (a project, a layout).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
