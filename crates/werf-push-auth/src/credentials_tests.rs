//! Unit tests of the credential sources and their order (`credentials.rs`).
use super::*;
use std::collections::HashMap;

/// Precedence, each source shadowing the ones after it.
#[test]
fn precedence_table() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".docker")).unwrap();
    std::fs::write(
        home.join(".docker/config.json"),
        r#"{"auths":{"reg":{"auth":"ZG9ja2VyOnB3"},"hub.only":{}}}"#,
    )
    .unwrap();
    let xdg = dir.path().join("run");
    std::fs::create_dir_all(xdg.join("containers")).unwrap();
    std::fs::write(
        xdg.join("containers/auth.json"),
        r#"{"auths":{"reg":{"auth":"cG9kbWFuOnB3"},"podman.only":{"auth":"cG9kbWFuOnB3"}}}"#,
    )
    .unwrap();
    let base: HashMap<&str, String> = [
        ("HOME", home.display().to_string()),
        ("XDG_RUNTIME_DIR", xdg.display().to_string()),
        ("CI_REGISTRY", "gitlab.example.com".to_string()),
        ("CI_JOB_TOKEN", "job".to_string()),
    ]
    .into();
    let flags = Some(("flag".to_string(), Secret::new("pw")));
    // (flags?, host, user expected, source kind)
    let cases: [(bool, &str, Option<&str>, &str); 6] = [
        (true, "reg", Some("flag"), "flags"),
        (false, "reg", Some("docker"), "docker"),
        (false, "podman.only", Some("podman"), "auth"),
        (false, "hub.only", None, "none"),
        (
            false,
            "gitlab.example.com",
            Some("gitlab-ci-token"),
            "gitlab",
        ),
        (false, "elsewhere", None, "none"),
    ];
    for (use_flags, host, user, kind) in cases {
        let store = CredentialStore::with_env(
            if use_flags { flags.clone() } else { None },
            None,
            |k| base.get(k).cloned(),
            Path::new("/run/containers/0"),
        );
        let f = store.resolve(host).unwrap();
        let got_user = match &f.credentials {
            Credentials::Basic { username, .. } => Some(username.as_str()),
            _ => None,
        };
        let got_kind = match f.source {
            Source::Flags => "flags",
            Source::DockerConfig { .. } => "docker",
            Source::AuthFile { .. } => "auth",
            Source::GitlabCi => "gitlab",
            Source::None => "none",
            Source::Helper { .. } => "helper",
        };
        assert_eq!((got_user, got_kind), (user, kind), "{host}");
    }
}

#[test]
fn env_picks_files() {
    let env: HashMap<&str, &str> = [
        ("DOCKER_CONFIG", "/dc"),
        ("HOME", "/h"),
        ("REGISTRY_AUTH_FILE", "/a.json"),
        ("XDG_RUNTIME_DIR", "/run/u"),
    ]
    .into();
    let uid_dir = Path::new("/run/containers/7");
    let s = CredentialStore::with_env(None, None, |k| env.get(k).map(|v| v.to_string()), uid_dir);
    assert_eq!(s.docker_config, Some(PathBuf::from("/dc/config.json")));
    assert_eq!(s.auth_files, vec![PathBuf::from("/a.json")]);
    let s = CredentialStore::with_env(
        None,
        Some("/flag".into()),
        |k| {
            env.get(k)
                .filter(|_| k != "REGISTRY_AUTH_FILE")
                .map(|v| v.to_string())
        },
        uid_dir,
    );
    assert_eq!(s.docker_config, Some(PathBuf::from("/flag/config.json")));
    assert_eq!(
        s.auth_files,
        vec![
            PathBuf::from("/run/u/containers/auth.json"),
            PathBuf::from("/h/.config/containers/auth.json")
        ]
    );
    assert!(s.gitlab.is_none());
    let s = CredentialStore::with_env(
        None,
        None,
        |k| match k {
            "XDG_CONFIG_HOME" => Some("/cfg".to_string()),
            _ => None,
        },
        uid_dir,
    );
    // Without XDG_RUNTIME_DIR (root, CI runners) podman logs in to /run/containers/UID.
    assert_eq!(
        s.auth_files,
        vec![
            PathBuf::from("/run/containers/7/auth.json"),
            PathBuf::from("/cfg/containers/auth.json")
        ]
    );
}

#[test]
fn missing_helper_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"credHelpers":{"reg":"werf-push-no-such-helper"}}"#,
    )
    .unwrap();
    let s = CredentialStore::with_env(None, Some(dir.path().into()), |_| None, dir.path());
    let e = s.resolve("reg").unwrap_err().to_string();
    assert!(
        e.contains("docker-credential-werf-push-no-such-helper"),
        "{e}"
    );
}
