//! Ctrl-C during a local stages-storage write (`stages add`): the process ends at once and
//! the storage's index.json is exactly as before (every write is a temporary file renamed
//! into place). Regression test: such commands used to go on after Ctrl-C and then
//! claim "interrupted; nothing more was written" with exit 130 after all.

mod support;

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::cmd::{assert_success, run, werf_push};

#[test]
fn ctrl_c_during_stages_add_leaves_the_storage_as_it_was() {
    let tmp = tempfile::TempDir::new().unwrap();
    let project = tmp.path().join("p");
    let small = tmp.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    std::fs::write(small.join("a"), b"a").unwrap();
    let add = |dir: &std::path::Path, stage: &str| {
        let mut c = werf_push();
        c.args([
            "stages",
            "add",
            "--image",
            "app",
            "--stage",
            stage,
            "--from-dir",
        ])
        .arg(dir)
        .arg("--dir")
        .arg(&project);
        c
    };
    assert_success(&run(&mut add(&small, "from")));
    let index = project.join(".werf/stages/index.json");
    let before = std::fs::read(&index).unwrap();

    // A directory big enough that packing it takes a while (incompressible bytes).
    let big = tmp.path().join("big");
    std::fs::create_dir_all(&big).unwrap();
    let mut f = std::fs::File::create(big.join("blob")).unwrap();
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..256 {
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        f.write_all(&buf).unwrap();
    }
    drop(f);

    let mut child = add(&big, "install")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let started = Instant::now();
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "Ctrl-C must end it at once"
    );
    assert_eq!(
        status.signal(),
        Some(libc::SIGINT),
        "ended by SIGINT: {status:?}"
    );
    assert_eq!(
        std::fs::read(&index).unwrap(),
        before,
        "index.json changed by an interrupted add"
    );
}
