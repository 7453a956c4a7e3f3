//! werf-push with the tools next to it: archives and layouts that the real podman and
//! buildah write (`podman save -m`, `--format oci-archive`, `buildah push oci:DIR:REF`),
//! named as they name images (`localhost/app:1`, a registry port, a path holding `:`),
//! imported and pushed, the results read back with skopeo; and a reader of stdout that goes
//! early (`| head -1`) in every command that writes data there.

use std::path::Path;

use crate::support::cmd::{assert_success, run, run_with_closed_stdout, werf_push, Output};
use crate::support::containers::Containers;
use crate::support::layouts::{blob_files, image, index_json, read_blob, Format};
use crate::support::registry::{Registry, RegistryOptions, TEST_PASSWORD, TEST_USER};
use crate::support::skopeo::Skopeo;
use serde_json::Value;
use tempfile::TempDir;

fn import(stages: &Path, src: &str, image: &str) -> Output {
    let mut c = werf_push();
    c.args(["stages", "import", src, "--image", image, "--stage", "from"])
        .arg("--stages-dir")
        .arg(stages)
        .arg("--json");
    run(&mut c)
}

/// The `rootfs.diff_ids` of the stage `import` wrote (its JSON on stdout).
fn imported_diff_ids(stages: &Path, out: &Output) -> Vec<String> {
    assert_success(out);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let manifest: Value =
        serde_json::from_slice(&read_blob(stages, v["digest"].as_str().unwrap())).unwrap();
    let config: Value = serde_json::from_slice(&read_blob(
        stages,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect()
}

/// Three images in podman's storage: `localhost/app:1` (also tagged with a registry port
/// and a nested repository), `localhost/other:1` and `localhost/third:1`, each with its
/// own layer.
fn three_images(c: &Containers) {
    c.build("localhost/app:1", "app");
    c.podman(&["tag", "localhost/app:1", "localhost:5000/group/app:2"]);
    c.build("localhost/other:1", "other");
    c.build("localhost/third:1", "third");
}

#[test]
fn podman_multi_image_archive_imports_each_image_by_its_name() {
    let c = Containers::new();
    three_images(&c);
    let tmp = TempDir::new().unwrap();
    let tar = tmp.path().join("multi.tar");
    c.podman(&[
        "save",
        "-m",
        "-o",
        tar.to_str().unwrap(),
        "localhost/app:1",
        "localhost:5000/group/app:2",
        "localhost/other:1",
        "localhost/third:1",
    ]);
    let stages = tmp.path().join("stages");
    let archive = tar.display().to_string();
    // (selector, the image it names)
    let cases = [
        ("localhost/app:1", "localhost/app:1"),
        ("localhost:5000/group/app:2", "localhost/app:1"),
        ("localhost/other:1", "localhost/other:1"),
        ("@2", "localhost/third:1"),
    ];
    for (sel, name) in cases {
        let out = import(&stages, &format!("docker-archive:{archive}:{sel}"), "a");
        assert_eq!(imported_diff_ids(&stages, &out), c.diff_ids(name), "{sel}");
    }
    // The error for no name lists the names in the form that works.
    let out = import(&stages, &format!("docker-archive:{archive}"), "a");
    assert_eq!(out.code(), Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("docker-archive:FILE:REPO:TAG")
            && out.stderr.contains("localhost/other:1"),
        "{}",
        out.describe()
    );
    // An unknown name fails, naming what the archive holds, and leaves no stage behind.
    let before = blob_files(&stages);
    let out = import(
        &stages,
        &format!("docker-archive:{archive}:localhost/nope:1"),
        "a",
    );
    assert!(
        !out.status.success() && out.stderr.contains("no image tagged 'localhost/nope:1'"),
        "{}",
        out.describe()
    );
    assert_eq!(blob_files(&stages), before);
    // A missing archive is named by its path alone.
    let missing = tmp.path().join("missing.tar");
    let out = import(
        &stages,
        &format!("docker-archive:{}:localhost/app:1", missing.display()),
        "a",
    );
    assert!(
        !out.status.success() && out.stderr.contains(&format!("{}:", missing.display())),
        "{}",
        out.describe()
    );
    assert!(
        !out.stderr.contains("missing.tar:localhost"),
        "{}",
        out.describe()
    );
}

#[test]
fn buildah_and_podman_oci_layouts_and_archives_import_and_push_by_ref_name() {
    let c = Containers::new();
    three_images(&c);
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("build:2@x").join("layout");
    buildah_pushes_two_named_images_into_one_layout(&c, &tmp.path().join("built"), &dir);
    let layout = dir.to_str().unwrap();
    let oci_dir = tmp.path().join("podman-oci-dir");
    let oci_archive = tmp.path().join("podman.oci.tar");
    let podman_ref = podman_saves_an_oci_dir_and_an_oci_archive(&c, &oci_dir, &oci_archive);

    let stages = tmp.path().join("stages");
    let cases = [
        (
            format!("oci:{layout}:localhost/other:1"),
            "localhost/other:1",
        ),
        (format!("oci:{layout}:localhost/app:1"), "localhost/app:1"),
        (
            format!("oci:{}:{podman_ref}", oci_dir.display()),
            "localhost/app:1",
        ),
        (
            format!("oci-archive:{}:localhost/third:1", oci_archive.display()),
            "localhost/third:1",
        ),
    ];
    for (src, name) in &cases {
        let out = import(&stages, src, "a");
        assert_eq!(imported_diff_ids(&stages, &out), c.diff_ids(name), "{src}");
    }

    // push takes the same form; skopeo reads back the manifest of the named image.
    let reg = Registry::start();
    let dest = format!("{}/group/app:1", reg.host);
    let mut p = werf_push();
    p.args(["push", &format!("oci:{layout}:localhost/other:1"), &dest]);
    let out = run(&mut p);
    assert_success(&out);
    let other = index_json(&dir)["manifests"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let pushed = crate::support::cmd::sha256_digest(Skopeo::new().inspect_raw(&dest));
    assert_eq!(pushed, other, "{}", out.describe());
}

/// Two images that buildah names as it pushes them into one layout (`built`), then moved
/// to `dir`, under a directory whose name holds ':' and '@' (containers/image itself cuts
/// at the first ':'); the layout names them by their ref names.
fn buildah_pushes_two_named_images_into_one_layout(c: &Containers, built: &Path, dir: &Path) {
    for name in ["localhost/app:1", "localhost/other:1"] {
        c.buildah(&[
            "push",
            "-q",
            name,
            &format!("oci:{}:{name}", built.display()),
        ]);
    }
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    std::fs::rename(built, dir).unwrap();
    let refs: Vec<String> = index_json(dir)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(refs, ["localhost/app:1", "localhost/other:1"]);
}

/// podman saves `localhost:5000/group/app:2` as an oci-dir and `localhost/third:1` as an
/// oci-archive; returns the ref name podman gave in the oci-dir.
fn podman_saves_an_oci_dir_and_an_oci_archive(
    c: &Containers,
    oci_dir: &Path,
    oci_archive: &Path,
) -> String {
    c.podman(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        oci_dir.to_str().unwrap(),
        "localhost:5000/group/app:2",
    ]);
    c.podman(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        oci_archive.to_str().unwrap(),
        "localhost/third:1",
    ]);
    index_json(oci_dir)["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A stages storage with one stage, made by `stages add`.
fn one_stage(tmp: &Path) -> std::path::PathBuf {
    let stages = tmp.join("stages");
    let src = tmp.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), "x").unwrap();
    let mut c = werf_push();
    c.args([
        "stages",
        "add",
        "--image",
        "a",
        "--stage",
        "from",
        "--from-dir",
    ])
    .arg(&src)
    .arg("--stages-dir")
    .arg(&stages);
    assert_success(&run(&mut c));
    stages
}

#[test]
fn a_reader_that_goes_early_ends_every_command_quietly() {
    let tmp = TempDir::new().unwrap();
    let stages = one_stage(tmp.path());
    let st = stages.to_str().unwrap();
    let reg = Registry::start();
    let layout = tmp.path().join("l");
    image(&layout, &[2048], 3, Format::Oci, None);
    let src = format!("oci:{}", layout.display());
    let dest = format!("{}/pipe:v1", reg.host);
    let add_src = tmp.path().join("src");
    let add_src = add_src.to_str().unwrap();
    let man = tmp.path().join("man");
    let commands: Vec<Vec<&str>> = vec![
        vec!["stages", "list", "--stages-dir", st],
        vec!["stages", "list", "--json", "--stages-dir", st],
        vec![
            "stages",
            "add",
            "--image",
            "b",
            "--stage",
            "install",
            "--from-dir",
            add_src,
            "--json",
            "--stages-dir",
            st,
        ],
        vec!["slugify", "-f", "docker-tag", "Feature/X"],
        vec!["completion", "bash"],
        vec!["manpages", man.to_str().unwrap()],
        vec!["push", "--json", &src, &dest],
    ];
    for args in commands {
        let mut c = werf_push();
        c.args(&args);
        let out = run_with_closed_stdout(&mut c);
        assert_eq!(out.code(), Some(0), "{args:?}: {}", out.describe());
        assert!(
            !out.stderr.contains("Broken pipe") && !out.stderr.contains("panicked"),
            "{args:?}: {}",
            out.describe()
        );
    }
    // The work was done all the same: the stage was added, the tag pushed.
    let mut c = werf_push();
    c.args(["stages", "list", "--json", "--stages-dir", st]);
    let out = run(&mut c);
    assert_success(&out);
    assert!(
        out.stdout.contains("\"image\": \"b\""),
        "{}",
        out.describe()
    );
    assert!(reg.tag_exists("pipe", "v1"));
}

#[test]
fn podman_login_without_xdg_runtime_dir_is_found() {
    use std::os::unix::fs::MetadataExt;
    use werf_push_auth::{CredentialStore, Credentials, Source};

    let reg = RegistryOptions::new().htpasswd().start();
    let c = Containers::new();
    let tmp = TempDir::new().unwrap();
    // The file a real `podman login` writes, at the place podman uses as root without
    // XDG_RUNTIME_DIR (`/run/containers/<uid>/auth.json`), moved into a temporary directory.
    let per_uid = tmp.path().join("run/containers/0");
    let file = per_uid.join("auth.json");
    c.podman_stdin(
        &[
            "login",
            "--tls-verify=false",
            "--authfile",
            file.to_str().unwrap(),
            "-u",
            TEST_USER,
            "--password-stdin",
            &reg.host,
        ],
        TEST_PASSWORD,
    );
    let home = tmp.path().join("home");
    let env = |k: &str| (k == "HOME").then(|| home.display().to_string());
    let store = CredentialStore::with_env(None, None, env, &per_uid);
    let found = store.resolve(&reg.host).unwrap();
    assert_eq!(found.source, Source::AuthFile { path: file.clone() });
    let Credentials::Basic { username, password } = &found.credentials else {
        panic!("not Basic credentials: {:?}", found.source);
    };
    assert_eq!(
        (username.as_str(), password.expose()),
        (TEST_USER, TEST_PASSWORD)
    );
    // With XDG_RUNTIME_DIR set, podman's runtime file is there and the per-uid one is not read.
    let xdg = tmp.path().join("xdg").display().to_string();
    let env = |k: &str| match k {
        "HOME" => Some(home.display().to_string()),
        "XDG_RUNTIME_DIR" => Some(xdg.clone()),
        _ => None,
    };
    let store = CredentialStore::with_env(None, None, env, &per_uid);
    assert_eq!(store.resolve(&reg.host).unwrap().source, Source::None);

    // The binary looks there too: without credentials and without XDG_RUNTIME_DIR, its
    // hint names /run/containers/<uid>/auth.json among the places looked at.
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    let layout = tmp.path().join("l");
    image(&layout, &[1024], 5, Format::Oci, None);
    let mut p = werf_push();
    p.env("HOME", &home)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .args([
            "push",
            &format!("oci:{}", layout.display()),
            &format!("{}/app:1", reg.host),
        ]);
    let out = run(&mut p);
    assert_eq!(out.code(), Some(5), "{}", out.describe());
    assert!(
        out.stderr
            .contains(&format!("/run/containers/{uid}/auth.json"))
            && out.stderr.contains("podman login"),
        "{}",
        out.describe()
    );
}
