//! Files of a stages storage that are not what they should be, and names that are not
//! names: a FIFO as `index.json`, `oci-layout` or the known-blob cache is never waited on;
//! an `index.json` that cannot be read stops a write; bad image names are refused before
//! anything is written and names read from a layout never reach the terminal raw;
//! `add --from-dir` of a directory holding the storage is refused. Each case is a
//! regression test of one way in.

use std::os::unix::fs::symlink;
use std::time::Duration;

use crate::support::cmd::{run_timeout, werf_push};
use crate::support::hostile_fs::{example_storage, files_under, mkfifo, s, wp};
use crate::support::scenario::{assert_error, assert_no_panic, oci, tmp};

/// A FIFO as `index.json` or `oci-layout` is refused at once, never waited on.
#[test]
fn a_fifo_in_the_layout_is_refused_without_hanging() {
    for name in ["index.json", "oci-layout"] {
        let t = tmp();
        let stages = example_storage(t.path());
        std::fs::remove_file(stages.join(name)).unwrap();
        mkfifo(&stages.join(name));
        let cases: [&[&str]; 3] = [
            &["stages", "list"],
            &["stages", "gc", "--dry-run"],
            &[
                "stages",
                "import",
                &oci(&stages),
                "--image",
                "x",
                "--stage",
                "from",
            ],
        ];
        for args in cases {
            let mut a = args.to_vec();
            let other = t.path().join("other");
            if args[1] == "import" {
                a.extend(["--stages-dir", s(&other)]);
            } else {
                a.extend(["--stages-dir", s(&stages)]);
            }
            let out = wp(&a);
            assert!(!out.success(), "{name} {args:?}\n{}", out.describe());
            assert!(
                out.stderr.contains("FIFO"),
                "{name} {args:?}\n{}",
                out.describe()
            );
        }
        let out = wp(&[
            "push",
            &oci(&stages),
            "127.0.0.1:9/x:y",
            "--insecure-registry",
        ]);
        assert!(
            out.stderr.contains("FIFO"),
            "{name} push\n{}",
            out.describe()
        );
    }
}

/// A FIFO as the known-blob cache file is skipped (the push does not wait on it).
#[test]
fn a_fifo_as_the_known_blob_cache_is_not_waited_on() {
    let reg = crate::support::registry::Registry::start();
    let t = tmp();
    let stages = example_storage(t.path());
    let cache = t.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    mkfifo(&cache.join("known-blobs.json"));
    let sel = format!(
        "{}:b8d07aea2ca148524b68e9dd4591862689b11764ec5d0ad887ab8597",
        oci(&stages)
    );
    let mut c = werf_push();
    c.args(["push", &sel, &format!("{}/fifo:v1", reg.host)])
        .env("WERF_PUSH_CACHE_DIR", &cache)
        .env_remove("WERF_PUSH_NO_CACHE");
    let out = run_timeout(&mut c, Duration::from_secs(60));
    assert_no_panic(&out);
    assert!(out.success(), "{}", out.describe());
    assert!(reg.tag_exists("fifo", "v1"));
}

/// An `index.json` that exists but cannot be read stops a write: the storage is
/// not rewritten with only the new entry.
#[test]
fn an_unreadable_index_stops_the_write() {
    let t = tmp();
    let stages = example_storage(t.path());
    // Unreadable as a file (a link to a directory): read fails, but a rename over it works.
    std::fs::remove_file(stages.join("index.json")).unwrap();
    symlink("blobs", stages.join("index.json")).unwrap();
    let from = t.path().join("from");
    std::fs::create_dir(&from).unwrap();
    std::fs::write(from.join("f"), b"x").unwrap();
    let before = files_under(&stages.join("blobs"));
    let out = wp(&[
        "stages",
        "add",
        "--image",
        "x",
        "--stage",
        "from",
        "--from-dir",
        s(&from),
        "--stages-dir",
        s(&stages),
    ]);
    assert!(!out.success(), "{}", out.describe());
    assert!(out.stderr.contains("index.json"), "{}", out.describe());
    assert!(
        stages.join("index.json").is_dir(),
        "index.json was replaced"
    );
    assert_eq!(
        files_under(&stages.join("blobs")),
        before,
        "blobs were left behind"
    );
}

/// Image names are checked before anything is written; names read from a layout
/// never reach the terminal raw.
#[test]
fn bad_image_names_are_refused_and_never_printed_raw() {
    let t = tmp();
    let stages = example_storage(t.path());
    let index = std::fs::read(stages.join("index.json")).unwrap();
    let from = t.path().join("from");
    std::fs::create_dir(&from).unwrap();
    std::fs::write(from.join("f"), b"x").unwrap();
    for name in [
        "bad\nname",
        "../x",
        "Upper",
        "",
        "a//b",
        "x\u{1b}]0;pwned\u{7}",
    ] {
        let out = wp(&[
            "stages",
            "add",
            "--image",
            name,
            "--stage",
            "from",
            "--from-dir",
            s(&from),
            "--stages-dir",
            s(&stages),
        ]);
        assert_error(&format!("--image {name:?}"), &out, 2, "--image");
        assert!(
            !out.stderr.contains('\u{1b}'),
            "{name:?}: raw ESC printed\n{}",
            out.describe()
        );
        assert_eq!(
            std::fs::read(stages.join("index.json")).unwrap(),
            index,
            "{name:?}"
        );
    }
    let hostile = String::from_utf8(index.clone()).unwrap().replacen(
        "\"io.werf.image\": \"backend\"",
        "\"io.werf.image\": \"x\\u001b]0;pwned\\u0007\"",
        1,
    );
    assert_ne!(
        hostile.as_bytes(),
        &index[..],
        "the example's index changed shape"
    );
    std::fs::write(stages.join("index.json"), hostile).unwrap();
    let out = wp(&["stages", "list", "--stages-dir", s(&stages)]);
    assert_error("a hostile name in index.json", &out, 3, "image name");
    assert!(
        !out.stderr.contains('\u{1b}') && !out.stdout.contains('\u{1b}'),
        "raw ESC printed\n{}",
        out.describe()
    );
    assert!(out.stderr.contains("\\u{1b}"), "{}", out.describe());
}

/// `add --from-dir` over a directory holding the storage is refused.
#[test]
fn add_refuses_a_directory_that_holds_the_storage() {
    let t = tmp();
    let stages = example_storage(t.path());
    let index = std::fs::read(stages.join("index.json")).unwrap();
    let out = wp(&[
        "stages",
        "add",
        "--image",
        "x",
        "--stage",
        "from",
        "--from-dir",
        s(t.path()),
        "--stages-dir",
        s(&stages),
    ]);
    assert_error("add --from-dir", &out, 2, "holds the stages storage");
    assert_eq!(std::fs::read(stages.join("index.json")).unwrap(), index);
}
