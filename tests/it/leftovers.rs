//! Nothing the suite starts outlives it: nginx's workers stop with their master (they were
//! orphaned when the master got SIGKILL, and answered later tests on reused ports), every
//! program of `support::process` stops with its process group also when its test panics,
//! and `scripts/leftovers`, which `scripts/test` runs after the suite, finds a process of
//! the run by its marker and kills it by its PID.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::cmd::{bin, run};
use crate::support::nginx::{Nginx, NginxOptions, TestCa};
use crate::support::process::SUITE_MARKER;
use crate::support::registry::Registry;

/// Whether `pid` is a live process (not gone, not a zombie).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// The PIDs of the live children of `parent`.
fn children(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split(' ').nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) && alive(pid) {
            out.push(pid);
        }
    }
    out
}

/// The worker processes of nginx master `master` (waits up to 5 s for the first: nginx
/// listens before it starts them).
fn workers(master: u32) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let w = children(master);
        if !w.is_empty() || Instant::now() > deadline {
            return w;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits up to 5 s for every one of `pids` to be gone; returns those still alive.
fn gone_soon(pids: &[u32]) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn nginx_workers_stop_with_their_master() {
    let reg = Registry::start();
    let ca = TestCa::new("werf-push leftovers test CA");
    let nginx = Nginx::start(NginxOptions::new(&reg.host, &ca));
    let master = nginx.pid();
    let workers = workers(master);
    assert!(!workers.is_empty(), "nginx {master} has no worker process");
    drop(nginx);
    assert_eq!(
        gone_soon(&workers),
        Vec::<u32>::new(),
        "workers left running"
    );
    assert!(!alive(master));
}

#[test]
fn a_panicking_test_leaves_no_program_running() {
    let pids = std::sync::Mutex::new(Vec::new());
    let result = std::panic::catch_unwind(|| {
        let reg = Registry::start();
        let ca = TestCa::new("werf-push leftovers test CA");
        let nginx = Nginx::start(NginxOptions::new(&reg.host, &ca));
        let mut p = pids.lock().unwrap();
        p.extend([reg.pid(), nginx.pid()]);
        p.extend(workers(nginx.pid()));
        drop(p);
        panic!("a test failing with a registry and nginx running");
    });
    assert!(result.is_err());
    let pids = pids.into_inner().unwrap();
    assert!(pids.len() >= 3, "{pids:?}");
    assert_eq!(gone_soon(&pids), Vec::<u32>::new(), "left running");
}

#[test]
fn scripts_leftovers_finds_a_process_of_the_run_and_no_other() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/leftovers");
    let run_id = format!("leftovers-test-{}", std::process::id());
    // A process of "the run" (its marker), and one of another run: in their own process
    // groups, so that a failure here cannot signal the test itself.
    let mut ours = Command::new("sleep");
    ours.arg("120")
        .env(SUITE_MARKER, &run_id)
        .stdin(Stdio::null())
        .process_group(0);
    let mut ours = ours.spawn().expect("sleep");
    let mut other = Command::new("sleep");
    other
        .arg("120")
        .env(SUITE_MARKER, format!("{run_id}-other"))
        .stdin(Stdio::null())
        .process_group(0);
    let mut other = other.spawn().expect("sleep");
    // No session is this one ("none"): only the marker can match.
    let out = run(bin(&script).args(["none", &run_id]));
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    let listed: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(listed.len(), 1, "{}", out.describe());
    assert!(
        listed[0].starts_with(&format!(
            "{} (parent {}, cwd ",
            ours.id(),
            std::process::id()
        )) && listed[0].ends_with("sleep 120"),
        "{}",
        out.describe()
    );
    let out = run(bin(&script).args(["none", &run_id, "--kill"]));
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    let status = ours.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    let out = run(bin(&script).args(["none", &run_id]));
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert!(alive(other.id()), "another run's process was touched");
    let _ = other.kill();
    let _ = other.wait();
}
