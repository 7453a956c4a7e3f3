//! Files werf-push writes beside what a checkout may hold: the publish report and man
//! pages are written through a new temporary file with an unpredictable name, created
//! exclusively without following links, then renamed over the target. A link planted
//! where the old writer put its temporary file (`report.tmp`), or as the target itself, is
//! never written through; a dangling one creates nothing.

use std::os::unix::fs::symlink;
use std::path::Path;

use crate::support::cmd::assert_success;
use crate::support::layouts::copy_dir;
use crate::support::registry::Registry;
use crate::support::scenario::{tmp, werf_push_args};

const VICTIM: &[u8] = b"root:x:0:0:root:/root:/bin/bash\n";

/// Names in `dir` that start with `.tmp-` (temporary files left behind).
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect()
}

#[test]
fn the_publish_report_is_never_written_through_a_planted_link() {
    let reg = Registry::start();
    let t = tmp();
    let project = t.path().join("project");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example"),
        &project,
    );
    let out_dir = t.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    // (what is planted, the link's name, its target: a victim or a path that must stay absent)
    let cases = [
        (
            "a link where the old writer put its temporary file",
            "report.tmp",
            "passwd",
        ),
        (
            "a dangling link there",
            "report.tmp",
            "created-by-werf-push",
        ),
        ("the report path itself a link", "report.json", "passwd"),
    ];
    let repo = format!("{}/rep", reg.host);
    for (what, link, target) in cases {
        let _ = std::fs::remove_file(out_dir.join("report.json"));
        let _ = std::fs::remove_file(out_dir.join("report.tmp"));
        let victim = t.path().join(target);
        if target == "passwd" {
            std::fs::write(&victim, VICTIM).unwrap();
        }
        symlink(&victim, out_dir.join(link)).unwrap();
        let report = out_dir.join("report.json");
        let out = werf_push_args(&[
            "publish",
            "--dir",
            project.to_str().unwrap(),
            "--repo",
            &repo,
            "--tag-custom",
            "v1",
            "--publish-report-path",
            report.to_str().unwrap(),
        ]);
        assert_success(&out);
        if target == "passwd" {
            assert!(
                std::fs::read(&victim).unwrap() == VICTIM,
                "{what}: the link's target was written"
            );
        } else {
            assert!(!victim.exists(), "{what}: the dangling link created a file");
        }
        let meta = std::fs::symlink_metadata(&report).unwrap();
        assert!(meta.is_file(), "{what}: the report is not a regular file");
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap())
            .unwrap_or_else(|e| panic!("{what}: the report is not JSON: {e}"));
        assert!(r["Images"]["backend"].is_object(), "{what}: {r}");
        assert_eq!(temporaries(&out_dir), Vec::<String>::new(), "{what}");
    }
}

#[test]
fn man_pages_are_never_written_through_a_planted_link() {
    let t = tmp();
    let dir = t.path().join("man1");
    std::fs::create_dir(&dir).unwrap();
    let victim = t.path().join("passwd");
    std::fs::write(&victim, VICTIM).unwrap();
    symlink(&victim, dir.join("werf-push.1")).unwrap();
    let out = werf_push_args(&["manpages", dir.to_str().unwrap()]);
    assert_success(&out);
    assert!(
        std::fs::read(&victim).unwrap() == VICTIM,
        "the link's target was written"
    );
    let page = std::fs::read_to_string(dir.join("werf-push.1")).unwrap();
    assert!(page.contains(".TH"), "not a man page: {page}");
    assert!(!std::fs::symlink_metadata(dir.join("werf-push.1"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(temporaries(&dir), Vec::<String>::new());
}

/// A checkout whose `.werf` (or a stages directory) is a symlink: no writer follows it
/// (the storage would be created at the link's target); the storage's real path, given
/// with `--stages-dir`, is written, and readers follow the link (they write nothing).
#[test]
fn a_linked_werf_or_stages_directory_is_never_written_through() {
    let t = tmp();
    let project = t.path().join("project");
    let elsewhere = t.path().join("elsewhere");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let from = t.path().join("from");
    std::fs::create_dir(&from).unwrap();
    std::fs::write(from.join("f"), b"x").unwrap();
    symlink(&elsewhere, project.join(".werf")).unwrap();
    symlink(elsewhere.join("stages"), t.path().join("stages-link")).unwrap();
    let add = |storage: &[&str]| {
        let mut a = vec![
            "stages",
            "add",
            "--image",
            "backend",
            "--stage",
            "from",
            "--from-dir",
            from.to_str().unwrap(),
        ];
        a.extend_from_slice(storage);
        werf_push_args(&a)
    };
    let link = t.path().join("stages-link");
    // (storage flags, the link the error names)
    let cases = [
        (
            vec!["--dir", project.to_str().unwrap()],
            project.join(".werf"),
        ),
        (vec!["--stages-dir", link.to_str().unwrap()], link.clone()),
    ];
    for (flags, named) in &cases {
        let out = add(flags);
        assert_eq!(out.code(), Some(2), "{flags:?}\n{}", out.describe());
        assert!(
            out.stderr
                .contains(&format!("{}: is a symbolic link", named.display())),
            "{flags:?}: the link is not named\n{}",
            out.describe()
        );
        assert!(
            std::fs::read_dir(&elsewhere).unwrap().next().is_none(),
            "{flags:?}: something was written at the link's target"
        );
    }
    // The real path is written; a reader through the link reads it.
    let real = elsewhere.join("stages");
    assert_success(&add(&["--stages-dir", real.to_str().unwrap()]));
    let list = werf_push_args(&["stages", "list", "--dir", project.to_str().unwrap()]);
    assert_success(&list);
    assert!(list.stdout.contains("backend"), "{}", list.describe());
}
