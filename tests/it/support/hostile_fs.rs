//! Helpers of the hostile-filesystem tests (`hostile_fs_*.rs`): the bundled example's
//! stages storage copied to be attacked, `werf-push` runs bounded in time and checked for
//! panics, FIFOs, and the files under a directory to show that nothing there changed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::cmd::{run_timeout, werf_push, Output};
use super::scenario::assert_no_panic;

/// The bundled example's stages storage copied to `dir/stages`.
pub fn example_storage(dir: &Path) -> PathBuf {
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

/// `werf-push ARGS...` for at most a minute, checked for panics, whatever its status.
pub fn wp(args: &[&str]) -> Output {
    let mut c = werf_push();
    c.args(args);
    let out = run_timeout(&mut c, Duration::from_secs(60));
    assert_no_panic(&out);
    out
}

/// `p` as a command-line argument (panics when it is not UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Makes a FIFO at `p` (`mkfifo`).
pub fn mkfifo(p: &Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .expect("mkfifo");
    assert!(st.success(), "mkfifo {}", p.display());
}

/// (path, content) of every file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
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
