//! Hostile input on disk: a checkout or an archive that plants links, FIFOs,
//! bad names or bombs changes nothing outside the stages storage, never hangs, and a full
//! disk is said as such with the storage left as it was. Each case is a regression test of
//! one way in.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::cmd::{run, run_timeout, scrub, werf_push, Output};
use crate::support::scenario::{assert_no_panic, oci, tmp};

/// The bundled example's stages storage copied to `dir/stages`.
fn example_storage(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example/.werf/stages");
    let dst = dir.join("stages");
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(&src)
        .arg(&dst)
        .status()
        .expect("cp");
    assert!(st.success(), "cp -a {}", src.display());
    dst
}

fn wp(args: &[&str]) -> Output {
    let mut c = werf_push();
    c.args(args);
    let out = run_timeout(&mut c, Duration::from_secs(60));
    assert_no_panic(&out);
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[track_caller]
fn assert_refused(out: &Output, code: i32, needle: &str) {
    assert_eq!(out.code(), Some(code), "exit code\n{}", out.describe());
    let err = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or("");
    assert!(
        err.contains(needle),
        "'{needle}' not in the error\n{}",
        out.describe()
    );
}

fn mkfifo(p: &Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .expect("mkfifo");
    assert!(st.success(), "mkfifo {}", p.display());
}

fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

/// A planted lock link: `LOCK -> victim` is refused by every writer, the victim untouched.
#[test]
fn a_lock_symlink_is_refused_and_its_target_untouched() {
    let t = tmp();
    let stages = example_storage(t.path());
    let victim = t.path().join("passwd");
    std::fs::write(&victim, b"root:x:0:0:root:/root:/bin/bash\n").unwrap();
    symlink(&victim, stages.join("LOCK")).unwrap();
    let from = t.path().join("from");
    std::fs::create_dir(&from).unwrap();
    std::fs::write(from.join("f"), b"x").unwrap();
    let cases: [&[&str]; 4] = [
        &["stages", "gc", "--dry-run"],
        &["stages", "gc"],
        &[
            "stages",
            "add",
            "--image",
            "backend",
            "--stage",
            "from",
            "--from-dir",
            s(&from),
        ],
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
        a.extend(["--stages-dir", s(&stages)]);
        let out = wp(&a);
        assert!(!out.success(), "{args:?} succeeded\n{}", out.describe());
        assert!(
            out.stderr.contains("LOCK") && out.stderr.contains("symbolic link"),
            "{args:?}\n{}",
            out.describe()
        );
        assert_eq!(
            std::fs::read(&victim).unwrap(),
            b"root:x:0:0:root:/root:/bin/bash\n",
            "{args:?} changed the LOCK's target"
        );
    }
}

/// gc through a `blobs/sha256` symlink deletes nothing there.
#[test]
fn gc_never_deletes_through_a_linked_blob_directory() {
    let t = tmp();
    let stages = example_storage(t.path());
    let elsewhere = t.path().join("elsewhere");
    std::fs::rename(stages.join("blobs/sha256"), &elsewhere).unwrap();
    std::fs::write(elsewhere.join("notes.txt"), b"mine").unwrap();
    std::fs::write(elsewhere.join("a".repeat(64)), b"unreferenced but not gc's").unwrap();
    symlink(&elsewhere, stages.join("blobs/sha256")).unwrap();
    let before = files_under(&elsewhere);
    for dry in [true, false] {
        let mut a = vec!["stages", "gc", "--stages-dir", s(&stages)];
        if dry {
            a.push("--dry-run");
        }
        let out = wp(&a);
        assert!(
            !out.success(),
            "gc through a link succeeded\n{}",
            out.describe()
        );
        assert!(out.stderr.contains("symbolic link"), "{}", out.describe());
        assert_eq!(
            files_under(&elsewhere),
            before,
            "gc touched the linked directory"
        );
    }
}

/// gc removes only regular files named by a digest; other things are left.
#[test]
fn gc_removes_only_regular_files_named_by_a_digest() {
    let t = tmp();
    let stages = example_storage(t.path());
    let blobs = stages.join("blobs/sha256");
    let outside = t.path().join("outside");
    std::fs::write(&outside, b"keep").unwrap();
    let junk = blobs.join("b".repeat(64));
    std::fs::write(&junk, b"junk").unwrap();
    std::fs::write(blobs.join("README"), b"not a digest").unwrap();
    symlink(&outside, blobs.join("c".repeat(64))).unwrap();
    let out = wp(&["stages", "gc", "--stages-dir", s(&stages), "--json"]);
    assert!(out.success(), "{}", out.describe());
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let removed: Vec<String> = report["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(removed, [junk.display().to_string()], "{}", out.describe());
    assert!(!junk.exists());
    assert!(blobs.join("README").exists());
    assert!(std::fs::symlink_metadata(blobs.join("c".repeat(64))).is_ok());
    assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
}

/// A linked blob directory: `blobs` (or `blobs/sha256`) leading out of the layout is refused for reads and
/// writes: push, import, list, add.
#[test]
fn a_blob_directory_leading_out_is_refused_for_reads_and_writes() {
    for linked in ["blobs", "blobs/sha256"] {
        let t = tmp();
        let stages = example_storage(t.path());
        let outside = t.path().join("outside");
        std::fs::rename(stages.join(linked), &outside).unwrap();
        symlink(&outside, stages.join(linked)).unwrap();
        let before = files_under(&outside);
        let out = wp(&["stages", "list", "--stages-dir", s(&stages)]);
        assert_refused(&out, 3, "symlink leading out of the layout");
        let sel = format!(
            "{}:{}",
            oci(&stages),
            "b8d07aea2ca148524b68e9dd4591862689b11764ec5d0ad887ab8597"
        );
        let out = wp(&["push", &sel, "127.0.0.1:9/x:y", "--insecure-registry"]);
        assert_refused(&out, 3, "symlink leading out of the layout");
        let dest = t.path().join("dest");
        let out = wp(&[
            "stages",
            "import",
            &sel,
            "--image",
            "x",
            "--stage",
            "from",
            "--stages-dir",
            s(&dest),
        ]);
        assert_refused(&out, 3, "symlink leading out of the layout");
        let from = t.path().join("from");
        std::fs::create_dir_all(&from).unwrap();
        std::fs::write(from.join("f"), b"new file").unwrap();
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
        assert!(
            !out.success(),
            "{linked}: add wrote through a link\n{}",
            out.describe()
        );
        assert!(out.stderr.contains("not a directory"), "{}", out.describe());
        assert_eq!(
            files_under(&outside),
            before,
            "{linked}: something was written outside"
        );
    }
}

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
        assert_refused(&out, 2, "--image");
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
    assert_refused(&out, 3, "image name");
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
    assert_refused(&out, 2, "holds the stages storage");
    assert_eq!(std::fs::read(stages.join("index.json")).unwrap(), index);
}

/// A `werf-push` command line run in a private mount namespace with the stages storage
/// on a tmpfs of `size` (the example storage copied in first), then `stages list` and
/// a digest of index.json. Returns the script's output.
fn on_small_disk(size: &str, stages: &Path, args: &[&str]) -> Output {
    let bin = env!("CARGO_BIN_EXE_werf-push");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example/.werf/stages");
    let script = r#"
set -u
S=$1; SRC=$2; BIN=$3; SIZE=$4; shift 4
mkdir -p "$S" && mount -t tmpfs -o size="$SIZE" tmpfs "$S" || { echo "mount failed"; exit 90; }
cp -a "$SRC"/. "$S"/ || exit 91
before=$(sha256sum < "$S/index.json")
"$BIN" "$@" --stages-dir "$S"; echo "rc=$?"
"$BIN" stages list --stages-dir "$S" >/dev/null; echo "list=$?"
after=$(sha256sum < "$S/index.json")
[ "$before" = "$after" ] && echo "index=unchanged" || echo "index=changed"
echo "temps=$(find "$S" -name '.tmp-*' | wc -l)"
"#;
    let mut c = std::process::Command::new("unshare");
    c.args(["-rm", "sh", "-c", script, "sh"])
        .arg(stages)
        .arg(&src)
        .arg(bin)
        .arg(size)
        .args(args);
    // werf-push runs inside `unshare`: the same environment as `werf_push()`'s.
    scrub(&mut c);
    let out = run_timeout(&mut c, Duration::from_secs(120));
    assert!(
        !out.stdout.contains("mount failed"),
        "cannot mount a tmpfs in a private mount namespace (unshare -rm, util-linux): this test needs it\n{}",
        out.describe()
    );
    assert_no_panic(&out);
    out
}

/// A directory `big` of 3 MiB of noise, and a stages storage `roomy` (made where there is
/// room) holding it as image big's from stage.
fn big_stage(dir: &Path) -> (PathBuf, PathBuf) {
    let big = dir.join("big");
    std::fs::create_dir(&big).unwrap();
    let noise = crate::support::layouts::random_bytes(7, 3 << 20);
    std::fs::write(big.join("noise"), &noise).unwrap();
    let roomy = dir.join("roomy");
    let out = wp(&[
        "stages",
        "add",
        "--image",
        "big",
        "--stage",
        "from",
        "--from-dir",
        s(&big),
        "--stages-dir",
        s(&roomy),
    ]);
    assert!(out.success(), "{}", out.describe());
    (big, roomy)
}

/// A full disk is said as such (exit 6) naming the storage, and the storage
/// stays valid; an archive bomb's unreferenced member is never written.
#[test]
fn a_full_disk_is_reported_and_the_storage_stays_valid() {
    let t = tmp();
    let (big, roomy) = big_stage(t.path());
    let cases: [(&str, Vec<String>); 2] = [
        (
            "add",
            vec![
                "stages".into(),
                "add".into(),
                "--image".into(),
                "big".into(),
                "--stage".into(),
                "from".into(),
                "--from-dir".into(),
                s(&big).into(),
            ],
        ),
        (
            "import",
            vec![
                "stages".into(),
                "import".into(),
                oci(&roomy),
                "--image".into(),
                "big2".into(),
                "--stage".into(),
                "from".into(),
            ],
        ),
    ];
    for (what, args) in cases {
        let stages = t.path().join(format!("small-{what}"));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = on_small_disk("1m", &stages, &argv);
        assert!(
            out.stdout.contains("rc=6"),
            "{what}: not exit 6\n{}",
            out.describe()
        );
        assert!(
            out.stderr.contains("no space left on device"),
            "{what}\n{}",
            out.describe()
        );
        assert!(
            out.stderr.contains(s(&stages)),
            "{what}: the storage is not named\n{}",
            out.describe()
        );
        assert!(
            out.stdout.contains("list=0"),
            "{what}: storage broken\n{}",
            out.describe()
        );
        assert!(
            out.stdout.contains("index=unchanged"),
            "{what}\n{}",
            out.describe()
        );
        assert!(
            out.stdout.contains("temps=0"),
            "{what}: temporaries left\n{}",
            out.describe()
        );
    }
}

/// Regression: a full disk in `stages pull` said the file twice and gave no "free space"
/// hint. It exits 6 naming the file once, with the hint, the storage as it was.
#[test]
fn a_full_disk_during_pull_exits_6_with_the_free_space_hint() {
    let reg = crate::support::registry::Registry::start();
    let t = tmp();
    let (_, roomy) = big_stage(t.path());
    let repo = format!("{}/app", reg.host);
    let out = wp(&[
        "publish",
        "--dir",
        s(t.path()),
        "--repo",
        &repo,
        "--tag-custom",
        "v1",
        "--with-stages",
        "--stages-dir",
        s(&roomy),
    ]);
    assert!(out.success(), "{}", out.describe());
    let stages = t.path().join("small");
    let out = on_small_disk("1m", &stages, &["stages", "pull", "--repo", &repo]);
    assert!(
        out.stdout.contains("rc=6"),
        "not exit 6\n{}",
        out.describe()
    );
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line\n{}", out.describe()));
    assert!(line.contains("no space left on device"), "{line}");
    assert_eq!(
        line.matches("/blobs/sha256/").count(),
        1,
        "the file said once: {line}"
    );
    assert!(
        out.stderr.contains("hint: free space on that filesystem"),
        "{}",
        out.describe()
    );
    for want in ["list=0", "index=unchanged", "temps=0"] {
        assert!(out.stdout.contains(want), "{want}\n{}", out.describe());
    }
}

/// An archive bomb: only the members the manifest names are unpacked: an archive with a 256 MiB
/// member of zeros nothing references imports into a storage on a 16 MiB disk.
#[test]
fn an_archive_bomb_member_is_never_unpacked() {
    let t = tmp();
    let layout = t.path().join("layout");
    crate::support::layouts::umoci_image(&layout);
    // oci-archive: the layout plus a member nothing names.
    let archive = t.path().join("bomb.tar.gz");
    let zeros = t.path().join("zeros");
    std::fs::create_dir(&zeros).unwrap();
    let f = std::fs::File::create(zeros.join("bomb")).unwrap();
    f.set_len(256 << 20).unwrap();
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"tar -C "$1" -cf - . -C "$2" bomb | gzip -1 > "$3""#)
        .arg("sh")
        .arg(&layout)
        .arg(&zeros)
        .arg(&archive)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(
        std::fs::metadata(&archive).unwrap().len() < 2 << 20,
        "the bomb should be small"
    );
    let src = format!("oci-archive:{}", archive.display());
    let stages = t.path().join("small");
    let out = on_small_disk(
        "16m",
        &stages,
        &["stages", "import", &src, "--image", "x", "--stage", "from"],
    );
    assert!(out.stdout.contains("rc=0"), "{}", out.describe());
    assert!(
        out.stdout.contains("list=0") && out.stdout.contains("temps=0"),
        "{}",
        out.describe()
    );
}

/// Durability: after `index.json` is renamed into place the storage directory is synced.
#[test]
fn the_directory_is_synced_after_a_commit() {
    let t = tmp();
    let stages = t.path().join("stages");
    let from = t.path().join("from");
    std::fs::create_dir(&from).unwrap();
    std::fs::write(from.join("f"), b"x").unwrap();
    let trace = t.path().join("trace");
    let mut c = std::process::Command::new("strace");
    c.args([
        "-f",
        "-e",
        "trace=openat,fsync,rename,renameat,renameat2",
        "-o",
    ])
    .arg(&trace)
    .arg(env!("CARGO_BIN_EXE_werf-push"))
    .args([
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
    scrub(&mut c);
    let out = run(&mut c);
    assert!(
        out.success(),
        "strace (Debian package strace) must be installed\n{}",
        out.describe()
    );
    let log = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let renamed = lines
        .iter()
        .rposition(|l| l.contains("rename") && l.contains("index.json\""))
        .unwrap_or_else(|| panic!("no rename of index.json\n{log}"));
    let dir = format!("\"{}\"", stages.display());
    let opened = format!("{dir}, O_");
    let fds: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("openat(") && l.contains(&opened))
        .filter_map(|l| l.rsplit("= ").next().map(|fd| fd.trim().to_string()))
        .collect();
    let synced = lines[renamed..]
        .iter()
        .any(|l| fds.iter().any(|fd| l.contains(&format!("fsync({fd})"))));
    assert!(
        synced,
        "no fsync of {} after renaming index.json\n{log}",
        stages.display()
    );
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
