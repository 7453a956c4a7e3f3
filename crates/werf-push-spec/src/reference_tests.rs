//! Unit tests of `reference.rs`: the reference grammar, table-driven.
use super::*;

#[test]
fn parse_table() {
    let d = format!("sha256:{}", "b".repeat(64));
    // (input, Ok((registry, repository, tag, has_digest, api_host)) or Err(part))
    type Want = Result<
        (
            &'static str,
            &'static str,
            Option<&'static str>,
            bool,
            &'static str,
        ),
        &'static str,
    >;
    let cases: Vec<(String, Want)> = vec![
        (
            "nginx".into(),
            Ok((
                "docker.io",
                "library/nginx",
                None,
                false,
                "registry-1.docker.io",
            )),
        ),
        (
            "nginx:1.25".into(),
            Ok((
                "docker.io",
                "library/nginx",
                Some("1.25"),
                false,
                "registry-1.docker.io",
            )),
        ),
        (
            "user/app".into(),
            Ok(("docker.io", "user/app", None, false, "registry-1.docker.io")),
        ),
        (
            "index.docker.io/user/app:v1".into(),
            Ok((
                "docker.io",
                "user/app",
                Some("v1"),
                false,
                "registry-1.docker.io",
            )),
        ),
        (
            "registry-1.docker.io/nginx".into(),
            Ok((
                "docker.io",
                "library/nginx",
                None,
                false,
                "registry-1.docker.io",
            )),
        ),
        (
            "localhost:5000/a/b:t".into(),
            Ok(("localhost:5000", "a/b", Some("t"), false, "localhost:5000")),
        ),
        (
            "localhost/app".into(),
            Ok(("localhost", "app", None, false, "localhost")),
        ),
        (
            "127.0.0.1:5000/app".into(),
            Ok(("127.0.0.1:5000", "app", None, false, "127.0.0.1:5000")),
        ),
        (
            "[::1]:5000/app:x".into(),
            Ok(("[::1]:5000", "app", Some("x"), false, "[::1]:5000")),
        ),
        (
            "ghcr.io/org/team/app:main".into(),
            Ok(("ghcr.io", "org/team/app", Some("main"), false, "ghcr.io")),
        ),
        (
            format!("ghcr.io/org/app@{d}"),
            Ok(("ghcr.io", "org/app", None, true, "ghcr.io")),
        ),
        (
            format!("ghcr.io/org/app:v1@{d}"),
            Ok(("ghcr.io", "org/app", Some("v1"), true, "ghcr.io")),
        ),
        (
            "reg.io/a__b/c-d--e/f.g".into(),
            Ok(("reg.io", "a__b/c-d--e/f.g", None, false, "reg.io")),
        ),
        ("".into(), Err("reference")),
        ("UPPER/app".into(), Err("repository")),
        ("reg.io/App".into(), Err("repository")),
        ("reg.io/a//b".into(), Err("repository")),
        ("reg.io/a/".into(), Err("repository")),
        ("reg.io/-a".into(), Err("repository")),
        ("reg.io/a...b".into(), Err("repository")),
        ("reg.io/".into(), Err("repository")),
        ("reg.io:99999/a".into(), Err("registry host")),
        ("reg.io/a:-bad".into(), Err("tag")),
        (format!("reg.io/a:{}", "t".repeat(129)), Err("tag")),
        ("reg.io/a@sha256:abc".into(), Err("digest")),
        ("reg io/a".into(), Err("reference")),
        ("http://localhost:5000/a:b".into(), Err("scheme")),
        ("docker://nginx".into(), Err("scheme")),
        (format!("reg.io/{}", "a".repeat(260)), Err("name")),
    ];
    for (input, want) in cases {
        match (Reference::parse(&input), want) {
            (Ok(r), Ok((reg, repo, tag, has_digest, api))) => {
                assert_eq!(r.registry, reg, "{input}");
                assert_eq!(r.repository, repo, "{input}");
                assert_eq!(r.tag.as_deref(), tag, "{input}");
                assert_eq!(r.digest.is_some(), has_digest, "{input}");
                assert_eq!(r.api_host(), api, "{input}");
            }
            (Err(SpecError::Reference { part, .. }), Err(want)) => {
                assert_eq!(part, want, "{input}")
            }
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn upper_case_components_get_their_lower_case_form() {
    // (input, the reason says)
    let cases = [
        ("reg.io/Group/App:v1", "has 'G'"),
        ("reg.io/group/App:v1", "(lower case: 'app')"),
        ("reg.io/App-_x", "has 'A'"),
    ];
    for (input, want) in cases {
        match Reference::parse(input) {
            Err(SpecError::Reference { reason, .. }) => {
                assert!(reason.contains(want), "{input}: {reason}")
            }
            got => panic!("{input}: {got:?}"),
        }
    }
    // No suggestion where lower case would not be valid either.
    let Err(SpecError::Reference { reason, .. }) = Reference::parse("reg.io/App-_x") else {
        panic!()
    };
    assert!(!reason.contains("lower case:"), "{reason}");
}

#[test]
fn local_hosts() {
    let cases = [
        ("localhost:5000", true),
        ("localhost", true),
        ("127.0.0.1:5000", true),
        ("127.1.2.3", true),
        ("[::1]:5000", true),
        ("example.com:5000", false),
        ("127.example.com", false),
        ("docker.io", false),
    ];
    for (host, want) in cases {
        assert_eq!(is_local_host(host), want, "{host}");
    }
}

#[test]
fn grammar_parts_table() {
    // The host and path-component rules that werf's repo addresses share.
    let hosts = [
        ("registry.example.com", true),
        ("localhost:5000", true),
        ("[::1]:5000", true),
        ("[fe80::1]", true),
        ("a-b.io", true),
        ("-a.io", false),
        ("a-.io", false),
        ("a..io", false),
        ("reg istry.io", false),
        ("registry.io:port", false),
        ("registry.io:0", false),
        ("registry.io:", false),
        ("[::1]x", false),
        ("[zz]", false),
        ("", false),
    ];
    for (h, want) in hosts {
        assert_eq!(is_host(h), want, "{h}");
    }
    let components = [
        ("a", true),
        ("a.b", true),
        ("c__d", true),
        ("e---f", true),
        ("", false),
        ("-a", false),
        ("a_", false),
        ("a..b", false),
        ("a___b", false),
        ("X", false),
        ("x:latest", false),
    ];
    for (c, want) in components {
        assert_eq!(is_path_component(c), want, "{c}");
        if !want {
            let problem = component_problem(c);
            let names = if c.is_empty() {
                "empty path component"
            } else {
                c
            };
            assert!(problem.contains(names), "{c}: {problem}");
        }
    }
}
