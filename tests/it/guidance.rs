//! Errors that lead somewhere, for a werf or skopeo user on the first day: a web server
//! where a registry was expected says what answered (with and without
//! `--insecure-registry`), the Go-template hint gives a command that works, werf's flags
//! and commands that scripts carry are taken or explained, a missing `--repo` names
//! `WERF_IMAGES_REPO`, and environment values stay out of usage and help. Help groups the
//! global options apart.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

use crate::support::cmd::{assert_success, run, werf_push, Output};
use crate::support::layouts::{image, Format};
use crate::support::registry::Registry;
use crate::support::scenario::{assert_error_and_hint, error_line};

fn wp(args: &[&str]) -> Output {
    let mut c = werf_push();
    c.args(args);
    run(&mut c)
}

/// A web server that is no registry: every request answered `404` by "test-web".
fn web_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                // The request head; a TLS ClientHello is no HTTP and gets a 400 and close.
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let body = "<html>not found</html>";
                let _ = write!(
                    conn,
                    "HTTP/1.1 404 Not Found\r\nServer: test-web\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    host
}

#[test]
fn a_web_server_is_not_a_registry_with_or_without_insecure_registry() {
    let host = web_server();
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("l");
    image(&dir, &[100], 1, Format::Oci, None);
    let src = format!("oci:{}", dir.display());
    let dest = format!("{host}/app:v1");
    for extra in [None, Some("--insecure-registry")] {
        let mut args = vec!["push", &src, &dest];
        args.extend(extra);
        let out = wp(&args);
        let error = assert_error_and_hint(
            &format!("{extra:?}"),
            &out,
            4,
            &format!(
                "{host} is not a registry: HTTP answered, but GET /v2/ answered 404 (Server: test-web, text/html)"
            ),
            "check the host and port",
        );
        assert!(!error.contains("--insecure-registry"), "{error}");
    }
}

#[test]
fn the_go_template_hint_is_a_command_that_works() {
    let reg = Registry::start();
    let tmp = tempfile::TempDir::new().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example");
    let project = tmp.path().join("project");
    crate::support::layouts::copy_dir(&example, &project);
    let rendered = std::fs::read_to_string(project.join("werf.yaml")).unwrap();
    std::fs::write(
        project.join("werf.yaml"),
        format!("{{{{ $_ := set . \"x\" 1 }}}}\n{rendered}"),
    )
    .unwrap();
    let repo = format!("{}/tpl", reg.host);
    let out = wp(&[
        "publish",
        "--repo",
        &repo,
        "--tag-custom",
        "v1",
        "--dir",
        project.to_str().unwrap(),
    ]);
    assert_eq!(out.code(), Some(2), "{}", out.describe());
    // Following it literally: the rendered werf.yaml in another directory, the command
    // the error gives with that directory for DIR.
    let error = error_line(&out);
    let command = error
        .split_once("then `werf-push ")
        .and_then(|(_, c)| c.split_once('`'))
        .map(|(c, _)| c)
        .unwrap_or_else(|| panic!("no command in: {error}"));
    let out_dir = tmp.path().join("rendered");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("werf.yaml"), &rendered).unwrap();
    let args: Vec<String> = command
        .split_whitespace()
        .map(|w| w.replace("DIR", out_dir.to_str().unwrap()))
        .collect();
    assert!(
        args.iter().any(|a| a.ends_with(".werf/stages")),
        "{command}"
    );
    let mut c = werf_push();
    c.args(&args).args(["--repo", &repo, "--tag-custom", "v1"]);
    assert_success(&run(&mut c));
    assert!(reg.tag_exists("tpl/backend", "v1"));
}

#[test]
fn werf_flags_and_commands_scripts_carry() {
    let reg = Registry::start();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example");
    let x = example.to_str().unwrap();
    let repo = format!("{}/werf", reg.host);
    stages_storage_local_is_taken_and_its_variable_warned_about(&repo, x);
    werfs_other_flags_and_commands_say_what_to_do_instead(&repo, x);
    no_stages_storage_says_how_stages_get_there();
}

/// werf's `--stages-storage :local` is taken; the variable is warned about.
fn stages_storage_local_is_taken_and_its_variable_warned_about(repo: &str, x: &str) {
    let mut c = werf_push();
    c.env("WERF_STAGES_STORAGE", ":local").args([
        "publish",
        "--stages-storage",
        ":local",
        "--repo",
        repo,
        "--tag-custom",
        "v1",
        "--dir",
        x,
    ]);
    let out = run(&mut c);
    assert_success(&out);
    assert!(
        out.stderr
            .contains("WERF_STAGES_STORAGE (:local) is werf's and is not read"),
        "{}",
        out.describe()
    );
}

/// A remote stages storage, werf's build commands, no repository and a repository in
/// upper case: usage errors (2) that say what to do instead.
fn werfs_other_flags_and_commands_say_what_to_do_instead(repo: &str, x: &str) {
    // (args, in the error)
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "publish",
                "--stages-storage",
                "reg.io/a/stages",
                "--repo",
                repo,
                "--tag-custom",
                "v1",
                "--dir",
                x,
            ],
            "werf-push stages pull --repo REPO",
        ),
        (
            &["build-and-publish", "--repo", repo, "--tag-custom", "v1"],
            "werf-push does not build images",
        ),
        (
            &["build", "--repo", repo],
            "werf-push does not build images",
        ),
        (
            &["publish", "--tag-custom", "v1", "--dir", x],
            "or set WERF_IMAGES_REPO",
        ),
        (
            &[
                "publish",
                "--repo",
                "reg.io/Group/app",
                "--tag-custom",
                "v1",
                "--dir",
                x,
            ],
            "(lower case: 'group')",
        ),
    ];
    for (args, want) in cases {
        let out = wp(args);
        assert_eq!(out.code(), Some(2), "{args:?}: {}", out.describe());
        assert!(
            error_line(&out).contains(want),
            "{args:?}: {}",
            out.describe()
        );
    }
}

/// No stages storage: how stages get there.
fn no_stages_storage_says_how_stages_get_there() {
    let tmp = tempfile::TempDir::new().unwrap();
    let out = wp(&["stages", "list", "--dir", tmp.path().to_str().unwrap()]);
    assert_eq!(out.code(), Some(2), "{}", out.describe());
    for way in ["stages import", "stages add", "stages pull"] {
        assert!(out.stderr.contains(way), "{way}: {}", out.describe());
    }
}

#[test]
fn environment_values_stay_out_of_usage_and_help() {
    let secret_path = "/private/place/ca.pem";
    let mut c = werf_push();
    c.env("SSL_CERT_FILE", secret_path)
        .env("WERF_IMAGES_REPO", "registry.internal/secret-project")
        .args(["push", "oci:x"]);
    let out = run(&mut c);
    assert_eq!(out.code(), Some(2), "{}", out.describe());
    let usage = out
        .stderr
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .unwrap_or("");
    assert_eq!(
        usage,
        "Usage: werf-push push <SRC> <DEST>...",
        "{}",
        out.describe()
    );
    for cmd in [&["push", "--help"][..], &["publish", "--help"]] {
        let mut c = werf_push();
        c.env("SSL_CERT_FILE", secret_path)
            .env("WERF_IMAGES_REPO", "registry.internal/secret-project")
            .args(cmd);
        let out = run(&mut c);
        assert_success(&out);
        assert!(
            !out.stdout.contains(secret_path) && !out.stdout.contains("secret-project"),
            "{cmd:?}: {}",
            out.stdout
        );
    }
}

#[test]
fn help_groups_global_options_and_says_what_stages_do() {
    let out = wp(&["--help"]);
    assert_success(&out);
    let stages = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("stages "))
        .unwrap_or("");
    for verb in ["import", "add", "pull", "list", "garbage"] {
        assert!(stages.contains(verb), "{verb}: {stages}");
    }
    for cmd in ["push", "publish", "bench"] {
        let out = wp(&[cmd, "--help"]);
        assert_success(&out);
        let (own, global) = out
            .stdout
            .split_once("\nGlobal options:\n")
            .unwrap_or_else(|| panic!("{cmd}: no heading\n{}", out.stdout));
        for flag in ["--verbose", "--quiet", "--log-format", "--progress"] {
            assert!(global.contains(flag), "{cmd}: {flag} under the heading");
            assert!(!own.contains(flag), "{cmd}: {flag} among the command's own");
        }
        assert!(
            own.contains("--retries"),
            "{cmd}: the command's own options"
        );
    }
}
