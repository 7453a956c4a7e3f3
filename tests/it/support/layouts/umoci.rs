//! Images written by a third-party tool, the real `umoci` ([`umoci_image`]): a layout
//! werf-push did not write, its manifest digest as umoci recorded it.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use super::bytes::random_bytes;
use super::read::ref_digest;
use crate::support::cmd;

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
