//! Ctrl-C during a local stages-storage write (`stages add`): the process ends at once and
//! the storage's index.json is exactly as before (every write is a temporary file renamed
//! into place). Regression test: such commands used to go on after Ctrl-C and then
//! claim "interrupted; nothing more was written" with exit 130 after all.
//!
//! Ctrl-C or SIGTERM during a push with several big blobs mid-transfer, straight to a real
//! registry: exit 130 / 143, no tag, and no upload session left in the registry's storage
//! (sessions with their partial data used to stay, the `DELETE` refused for a stale
//! `_state`); the notice says what happens and how to stop waiting (Ctrl-C again only
//! where a person pressed it), and docker-registry's `404 BLOB_UPLOAD_INVALID` to the
//! `DELETE` of a session it cancelled itself is no warning.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::cmd::{assert_success, run, werf_push};
use crate::support::registry::Registry;
use crate::support::scenario::{oci, push_command, tmp, upload_sessions, MIB};

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
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    // Killed by the signal itself (not finished, not a clean exit): no wall-time bound,
    // which a loaded disk (a sync in progress) would make flaky.
    let status = child.wait().unwrap();
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

/// Pushes 4 layers of 48 MiB at once straight to the registry, sends `signal` once at least
/// two upload sessions hold data, and checks what is left.
fn interrupted_push_leaves_no_upload_session(strategy: &str, signal: &str, want_code: i32) {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    crate::support::layouts::image(
        &src,
        &[48 * MIB; 4],
        40,
        crate::support::layouts::Format::Oci,
        None,
    );
    let repo = format!("stopped-{strategy}");
    let mut c = push_command(&[
        "--upload-strategy",
        strategy,
        "--chunk-size",
        "8MiB",
        "--jobs",
        "4",
        &oci(&src),
        &format!("{}/{repo}:v1", reg.host),
    ]);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("start werf-push");
    let in_flight = two_uploads_under_way(&reg, &repo, &mut child);
    let kill = std::process::Command::new("sh")
        .args(["-c", &format!("kill -{signal} {}", child.id())])
        .status()
        .expect("run sh -c kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait for werf-push");
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "{strategy}, {signal}: {} sessions with data when signalled: {in_flight:?}",
        in_flight.len()
    );
    assert_eq!(out.status.code(), Some(want_code), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    the_notice_says_what_happens(signal, &stderr);
    assert!(!reg.tag_exists(&repo, "v1"), "a tag was written");
    no_upload_session_is_left(&reg, &repo, &stderr);
}

/// Waits (up to a minute) until at least two upload sessions of `repo` hold data, and
/// returns them (uuid, bytes); the push ending first is a failure.
fn two_uploads_under_way(reg: &Registry, repo: &str, child: &mut Child) -> Vec<(String, u64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let with_data: Vec<_> = upload_sessions(reg, repo)
            .into_iter()
            .filter(|(_, data)| *data > 0)
            .collect();
        if with_data.len() >= 2 {
            return with_data;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the push ended ({status}) before two uploads were under way");
        }
        assert!(Instant::now() < deadline, "no uploads under way");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The notice for `signal` on a line of its own, and no warning (a session the registry
/// says is gone is none).
fn the_notice_says_what_happens(signal: &str, stderr: &str) {
    let notice = match signal {
        "TERM" => "terminated (SIGTERM): cancelling open uploads; exiting within 8 s",
        _ => "interrupted: cancelling open uploads; Ctrl-C again to quit at once",
    };
    assert!(
        stderr.lines().any(|l| l == notice),
        "{signal}: the notice on a line of its own\n{stderr}"
    );
    assert!(
        !stderr.contains("WARN"),
        "a session the registry says is gone is no warning\n{stderr}"
    );
}

/// No upload session of `repo` is left in the registry's storage; when some are, the
/// failure comes after the storage's `_uploads` tree and the registry's log about them.
fn no_upload_session_is_left(reg: &Registry, repo: &str, stderr: &str) {
    let left = upload_sessions(reg, repo);
    if !left.is_empty() {
        let up = reg
            .storage_dir()
            .join("docker/registry/v2/repositories")
            .join(repo)
            .join("_uploads");
        let tree = std::process::Command::new("find")
            .arg(&up)
            .output()
            .unwrap();
        println!("{}", String::from_utf8_lossy(&tree.stdout));
        for l in reg
            .log()
            .lines()
            .filter(|l| l.contains("/blobs/uploads/") || l.contains("level=error"))
        {
            println!("{}", &l[..l.len().min(400)]);
        }
    }
    assert!(
        left.is_empty(),
        "{} upload sessions left in the registry (uuid, bytes): {left:?}\nstderr:\n{stderr}",
        left.len()
    );
}

#[test]
fn ctrl_c_mid_push_cancels_every_upload_session() {
    // (strategy, signal, exit code)
    let cases = [
        ("chunked", "INT", 130),
        ("monolithic", "INT", 130),
        ("chunked", "TERM", 143),
        ("monolithic", "TERM", 143),
    ];
    for (strategy, signal, code) in cases {
        interrupted_push_leaves_no_upload_session(strategy, signal, code);
    }
}
