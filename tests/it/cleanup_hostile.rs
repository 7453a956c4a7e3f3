//! Hostile registry answers to cleanup get the limits every command has: a tag list that
//! pages forever stops at a bound with a clear error and deletes nothing; a config of
//! 10 MB is not read (its tag is not taken for werf's), nor is a config whose werf labels
//! name another tag; a placeholder left by a killed cleanup is deleted.

use std::io::{BufReader, Write};
use std::net::TcpListener;

use crate::support::cleanup::{clean, decisions, git_project, publish, push_raw, report};
use crate::support::cmd::sha256_digest;
use crate::support::gitrepo::now;
use crate::support::http::read_head;
use crate::support::registry::Registry;

/// A registry whose tag list of any repository never ends: each page holds 2,000 new tags
/// and a `Link` to the next. Returns its host.
fn endless_tags() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut w = conn.try_clone().unwrap();
                let mut r = BufReader::new(conn);
                let mut page = 0u64;
                while let Ok(Some((line, _))) = read_head(&mut r) {
                    let (status, body, link) = if line.contains("/tags/list") {
                        page += 1;
                        let tags: Vec<String> = (0..2000).map(|i| format!("t{page}-{i}")).collect();
                        let body = serde_json::json!({"name": "demo", "tags": tags}).to_string();
                        let path = line.split(' ').nth(1).unwrap_or("/");
                        let base = path.split('?').next().unwrap_or(path);
                        let last = format!("t{page}-1999");
                        (
                            200,
                            body,
                            Some(format!("<{base}?last={last}&n=2000>; rel=\"next\"")),
                        )
                    } else if line.contains(" /v2/ ") {
                        (200, "{}".to_string(), None)
                    } else {
                        (
                            404,
                            r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.to_string(),
                            None,
                        )
                    };
                    let mut head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                        body.len()
                    );
                    if let Some(l) = link {
                        head.push_str(&format!("Link: {l}\r\n"));
                    }
                    head.push_str("\r\n");
                    if w.write_all(head.as_bytes()).is_err()
                        || w.write_all(body.as_bytes()).is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    host
}

#[test]
fn a_tag_list_that_pages_forever_stops_at_the_bound() {
    let host = endless_tags();
    let (_t, git) = git_project(now() - 86_400);
    let out = clean(
        "cleanup",
        &git.dir,
        &format!("{host}/demo"),
        &["--images-repo-mode", "monorepo"],
    );
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("more than 1000000 tags"),
        "{}",
        out.describe()
    );
}

fn werf_config(image_tag: &str, padding: usize) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": {
            "werf-image": "true", "werf-image-name": "backend",
            "werf-tag-strategy": "git-branch", "werf-image-tag": image_tag,
            "padding": "x".repeat(padding),
        }},
        "rootfs": {"type": "layers", "diff_ids": []},
    }))
    .unwrap()
}

#[test]
fn a_huge_config_or_labels_naming_another_tag_leave_the_tag_alone_and_a_placeholder_goes() {
    let reg = Registry::start();
    let (_t, git) = git_project(now() - 86_400);
    let repo = format!("{}/demo", reg.host);
    publish(&git.dir, &repo, &["--tag-git-branch", "main"]);
    // 10 MB of config whose labels would say "a branch that is gone".
    push_raw(&reg, "demo/backend", "huge", &werf_config("huge", 10 << 20));
    // Labels that claim to be the image of another tag (and of a gone branch).
    push_raw(&reg, "demo/backend", "liar", &werf_config("gone-branch", 0));
    // What a cleanup killed between moving a tag to its placeholder and deleting that
    // leaves behind: deleted by the next run.
    let placeholder = serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"Labels": {"werf-push-cleanup-placeholder": "left 1"}},
        "rootfs": {"type": "layers", "diff_ids": []}});
    push_raw(
        &reg,
        "demo/backend",
        "left",
        &serde_json::to_vec(&placeholder).unwrap(),
    );
    let r = report(&clean("cleanup", &git.dir, &repo, &[]));
    assert_eq!(reg.tags("demo/backend"), vec!["huge", "liar", "main"]);
    let d = decisions(&r);
    let left = d
        .iter()
        .find(|(r, _, _)| r.ends_with("/backend:left"))
        .unwrap();
    assert!(left.1 && left.2 == "placeholder", "{left:?}");
    for tag in ["huge", "liar"] {
        let (_, delete, reason) = d
            .iter()
            .find(|(reference, _, _)| reference.ends_with(&format!("/backend:{tag}")))
            .unwrap();
        assert!(!delete && reason == "not-werf", "{tag}: {reason}");
    }
    assert!(
        !reg.access_log().iter().any(|q| q.method == "GET"
            && q.path()
                .contains(&sha256_digest(werf_config("huge", 10 << 20)))),
        "the 10 MB config is never downloaded"
    );
}
