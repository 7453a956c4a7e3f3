//! Bad input never panics: a seed corpus of malformed `index.json`,
//! manifests and `oci-layout` files, invalid references and digests (testdata/fuzz/), plus
//! layouts broken on disk (symlinks leading out, truncated blobs, absurd sizes), fed to the
//! parsers and to the `werf-push` binary; and property tests (proptest) that feed the same
//! parsers arbitrary and mutated input. Every case must be an error that names what is
//! wrong, never a panic.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use proptest::prelude::*;
use werf_push_layout::Layout;
use werf_push_spec::{Digest, Manifest, Reference};

use crate::support::scenario::{assert_no_panic, oci, push, tmp};

fn corpus(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fuzz")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", root.display());
    files
}

fn lines(file: &str) -> Vec<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fuzz")
        .join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs `f`, which must neither panic nor succeed; returns its error message.
#[track_caller]
fn must_fail<T: std::fmt::Debug, E: std::fmt::Display>(
    what: &str,
    f: impl FnOnce() -> Result<T, E>,
) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Err(_) => panic!("{what}: panicked"),
        Ok(Ok(v)) => panic!("{what}: accepted: {v:?}"),
        Ok(Err(e)) => {
            let msg = e.to_string();
            assert!(msg.len() > 10, "{what}: unhelpful error '{msg}'");
            msg
        }
    }
}

/// A layout whose `oci-layout` and `index.json` are given; `blobs` are written under their
/// sha256.
fn layout_with(dir: &Path, oci_layout: &[u8], index: &[u8], blobs: &[&[u8]]) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), oci_layout).unwrap();
    std::fs::write(dir.join("index.json"), index).unwrap();
    for b in blobs {
        let d = Digest::sha256_of(b);
        std::fs::write(dir.join("blobs/sha256").join(d.hex()), b).unwrap();
    }
}

const GOOD_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// An index.json pointing at `manifest` (right digest and size).
fn index_for(manifest: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": Digest::sha256_of(manifest).to_string(),
            "size": manifest.len(),
        }],
    }))
    .unwrap()
}

/// Opens the layout and loads its only image, as `push` does.
fn load(dir: &Path) -> Result<usize, werf_push_layout::LayoutError> {
    let l = Layout::open(dir)?;
    let e = l.select(None)?.clone();
    Ok(l.image(&e)?.blobs.len())
}

/// Every broken layout of the corpus, built in `root`: (name, dir).
fn broken_layouts(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for f in corpus("index") {
        let dir = root.join(format!(
            "index-{}",
            f.file_stem().unwrap().to_string_lossy()
        ));
        layout_with(&dir, GOOD_LAYOUT, &std::fs::read(&f).unwrap(), &[]);
        out.push((f.display().to_string(), dir));
    }
    for f in corpus("manifest") {
        let m = std::fs::read(&f).unwrap();
        let dir = root.join(format!(
            "manifest-{}",
            f.file_stem().unwrap().to_string_lossy()
        ));
        layout_with(&dir, GOOD_LAYOUT, &index_for(&m), &[&m]);
        out.push((f.display().to_string(), dir));
    }
    for f in corpus("oci-layout") {
        let dir = root.join(format!(
            "layout-{}",
            f.file_name().unwrap().to_string_lossy()
        ));
        layout_with(&dir, &std::fs::read(&f).unwrap(), b"{}", &[]);
        out.push((f.display().to_string(), dir));
    }
    // On-disk damage: a valid manifest whose config blob is a symlink leading out of the
    // layout, or a truncated file, or whose manifest blob is truncated.
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let cd = Digest::sha256_of(config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": [],
    }))
    .unwrap();
    let outside = root.join("outside-config");
    std::fs::write(&outside, config).unwrap();
    for case in [
        "symlink-out",
        "truncated-config",
        "truncated-manifest",
        "directory-blob",
    ] {
        let dir = root.join(case);
        layout_with(&dir, GOOD_LAYOUT, &index_for(&manifest), &[&manifest]);
        let cpath = dir.join("blobs/sha256").join(cd.hex());
        match case {
            "symlink-out" => std::os::unix::fs::symlink(&outside, &cpath).unwrap(),
            "truncated-config" => std::fs::write(&cpath, &config[..config.len() / 2]).unwrap(),
            "directory-blob" => std::fs::create_dir(&cpath).unwrap(),
            _ => {
                std::fs::write(&cpath, config).unwrap();
                let mpath = dir
                    .join("blobs/sha256")
                    .join(Digest::sha256_of(&manifest).hex());
                std::fs::write(&mpath, &manifest[..manifest.len() - 3]).unwrap();
            }
        }
        out.push((case.to_string(), dir));
    }
    out
}

#[test]
fn corpus_layouts_are_clear_errors_in_the_library() {
    let t = tmp();
    for (name, dir) in broken_layouts(t.path()) {
        let msg = must_fail(&name, || load(&dir));
        println!("{name}: {msg}");
    }
}

#[test]
fn corpus_layouts_are_clear_errors_on_the_command_line() {
    let t = tmp();
    for (name, dir) in broken_layouts(t.path()) {
        // Nothing listens on port 9: a push that got past the layout would fail anyway,
        // with a network error (exit 4), not a layout error (exit 3).
        let out = push(&[&oci(&dir), "127.0.0.1:9/bad:v1"]);
        assert_no_panic(&out);
        assert_eq!(
            out.code(),
            Some(3),
            "{name}: not a layout error\n{}",
            out.describe()
        );
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("");
        assert!(
            line.contains(&dir.display().to_string()),
            "{name}: the error does not name the layout\n{}",
            out.describe()
        );
    }
}

#[test]
fn corpus_references_and_digests_are_clear_errors() {
    for r in lines("references.txt") {
        must_fail(&format!("reference {r:?}"), || Reference::parse(&r));
        if r.contains('\0') {
            continue; // cannot be a command-line argument
        }
        let out = push(&["oci:/nonexistent", &r]);
        assert!(!out.success(), "{r:?} accepted\n{}", out.describe());
        assert_no_panic(&out);
    }
    for d in lines("digests.txt") {
        must_fail(&format!("digest {d:?}"), || Digest::parse(&d));
    }
}

#[test]
fn corpus_manifests_are_clear_errors_when_parsed() {
    for f in corpus("manifest").into_iter().chain(corpus("index")) {
        let bytes = Bytes::from(std::fs::read(&f).unwrap());
        let name = f.display().to_string();
        // A parse may succeed (a valid shape whose blobs are missing): it must not panic.
        let r = catch_unwind(AssertUnwindSafe(|| Manifest::parse(bytes, None)));
        assert!(r.is_ok(), "{name}: panicked");
    }
}

const VALID_MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","size":3}]}"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn manifest_parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Manifest::parse(Bytes::from(bytes), None);
    }

    #[test]
    fn manifest_parse_never_panics_on_mutations(at in 0usize..VALID_MANIFEST.len(), cut in 0usize..40, insert in ".{0,12}") {
        let mut s = VALID_MANIFEST.to_string();
        let end = (at + cut).min(s.len());
        if s.is_char_boundary(at) && s.is_char_boundary(end) {
            s.replace_range(at..end, &insert);
        }
        for hint in [None, Some("application/vnd.oci.image.index.v1+json")] {
            let _ = Manifest::parse(Bytes::from(s.clone()), hint);
        }
    }

    #[test]
    fn references_and_digests_never_panic(s in "\\PC{0,80}", t in "[a-z0-9./:@_-]{0,80}") {
        let _ = Reference::parse(&s);
        let _ = Reference::parse(&t);
        let _ = Digest::parse(&s);
        let _ = Digest::parse(&t);
        let _ = werf_push_spec::reference::validate_tag(&t);
    }

    #[test]
    fn layout_open_never_panics(layout in proptest::collection::vec(any::<u8>(), 0..64), index in "\\PC{0,200}") {
        let t = tmp();
        layout_with(t.path(), &layout, index.as_bytes(), &[]);
        let _ = load(t.path());
    }
}

/// `sha512:<hex>` of `bytes`, computed here with `sha2` (not by the code under test).
fn sha512_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha512:{}", hex_of(&sha2::Sha512::digest(bytes)))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A layout blob named by a sha512 digest is verified in sha512: the right bytes load, the
/// same number of other bytes are refused naming the digest and what they hash to.
#[test]
fn layout_blob_with_a_sha512_digest_is_verified() {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest::sha256_of(config).to_string(), "size": config.len()},
        "layers": [],
    }))
    .unwrap();
    let md = sha512_digest(&manifest);
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": md,
            "size": manifest.len(),
        }],
    }))
    .unwrap();
    let mut other = manifest.clone();
    other[manifest.len() - 2] = b' ';
    let t = tmp();
    // (case, bytes stored under the manifest's sha512 digest, loads)
    let cases: [(&str, &[u8], bool); 2] = [("right", &manifest, true), ("wrong", &other, false)];
    for (case, stored, loads) in cases {
        let dir = t.path().join(case);
        layout_with(&dir, GOOD_LAYOUT, &index, &[config]);
        let sha512 = dir.join("blobs/sha512");
        std::fs::create_dir_all(&sha512).unwrap();
        std::fs::write(sha512.join(md.trim_start_matches("sha512:")), stored).unwrap();
        match (load(&dir), loads) {
            (Ok(_), true) => {}
            (Err(e), false) => {
                let msg = e.to_string();
                let actual = sha512_digest(stored);
                assert!(msg.contains(&md) && msg.contains(&actual), "{case}: {msg}");
            }
            (got, _) => panic!("{case}: got {got:?}, want loads={loads}"),
        }
    }
}
