//! The disk under a stages storage: a full disk (a small tmpfs in a private mount
//! namespace) is said as such, exit 6, naming the storage (`stages add`, `stages import`)
//! or the file, once, with the "free space" hint (`stages pull`), and the storage stays
//! valid, without temporary files; an archive bomb's member that nothing references is
//! never unpacked; after `index.json` is renamed into place the directory is synced. Each
//! case is a regression test of one way in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::cmd::{run, run_timeout, scrub, Output};
use crate::support::hostile_fs::{s, wp};
use crate::support::scenario::{assert_no_panic, oci, tmp};

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
