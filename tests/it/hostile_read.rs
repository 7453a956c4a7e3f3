//! Reading what a checkout or an archive holds while it changes or explodes: a file that
//! shrinks while `stages add` packs it is an error naming it (never a short tar entry that
//! swallows the next file), and the storage is left as it was.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::cmd::{run_timeout, werf_push};
use crate::support::scenario::{assert_no_panic, tmp};

/// Names of the blob files (temporaries included) in the storage at `stages`.
fn blob_dir_entries(stages: &Path) -> Vec<String> {
    std::fs::read_dir(stages.join("blobs/sha256"))
        .map(|it| {
            it.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_file_that_shrinks_while_it_is_packed_is_an_error_naming_it() {
    let t = tmp();
    let from = t.path().join("from");
    std::fs::create_dir(&from).unwrap();
    // Sparse: 4 GiB that cost no disk, and take seconds to compress.
    let big = from.join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    std::fs::write(from.join("next"), b"the file after it").unwrap();
    let stages = t.path().join("stages");
    // Once the layer is being written (its temporary blob exists) and a little later, the
    // file is cut to 1 MiB under the reader.
    let cutter = {
        let (stages, big) = (stages.clone(), big.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(60) {
                if blob_dir_entries(&stages)
                    .iter()
                    .any(|n| n.starts_with(".tmp-"))
                {
                    std::thread::sleep(Duration::from_millis(300));
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&big)
                        .unwrap()
                        .set_len(1 << 20)
                        .unwrap();
                    return true;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            false
        })
    };
    let mut c = werf_push();
    c.args([
        "stages",
        "add",
        "--image",
        "app",
        "--stage",
        "from",
        "--from-dir",
    ])
    .arg(&from)
    .arg("--stages-dir")
    .arg(&stages);
    let out = run_timeout(&mut c, Duration::from_secs(120));
    assert_no_panic(&out);
    assert!(cutter.join().unwrap(), "the layer was never started");
    assert!(
        !out.success(),
        "a short entry was stored\n{}",
        out.describe()
    );
    assert!(
        out.stderr
            .contains(&format!("{}: shrank while it was read", big.display())),
        "the error does not name the file\n{}",
        out.describe()
    );
    assert!(
        !stages.join("index.json").exists(),
        "index.json written\n{}",
        out.describe()
    );
    assert_eq!(
        blob_dir_entries(&stages),
        Vec::<String>::new(),
        "blobs left"
    );
}
