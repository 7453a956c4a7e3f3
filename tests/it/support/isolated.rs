//! Isolated werf-push runs for the auth and TLS tests: a scratch directory with one small
//! image in an OCI layout, and a runner that gives werf-push its own HOME,
//! XDG_RUNTIME_DIR, an empty certs.d (`WERF_PUSH_CERTS_D`) and a `bin/` first in PATH (for
//! credential helper scripts), in the environment scrubbed by [`cmd::werf_push`] (no
//! DOCKER_CONFIG, SSL_CERT_FILE, REGISTRY_*, CI_* or WERF_* variable of the caller), so no
//! credential of the machine leaks in.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::cmd::{self, Output};
use super::layouts::{self, Format};
pub use super::registry::basic;
use super::registry::{http_request, Registry};
pub use super::scenario::error_line;
use super::token::TokenIssuer;

/// `--registry-username`/`--registry-password` flags of the test registries' account.
pub const USER_FLAGS: [&str; 4] = [
    "--registry-username",
    super::registry::TEST_USER,
    "--registry-password",
    super::registry::TEST_PASSWORD,
];

/// A scratch environment for werf-push runs, with one small image in a layout.
pub struct Env {
    dir: TempDir,
    pub layout: PathBuf,
    /// The image's manifest digest.
    pub digest: String,
}

impl Env {
    pub fn new(layer_sizes: &[usize]) -> Env {
        let dir = tempfile::Builder::new()
            .prefix("werf-push-auth-")
            .tempdir()
            .unwrap();
        for sub in ["home", "xdg", "certs.d", "bin"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let layout = dir.path().join("layout");
        let digest = layouts::image(&layout, layer_sizes, 7, Format::Oci, None);
        Env {
            dir,
            layout,
            digest,
        }
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    pub fn src(&self) -> String {
        format!("oci:{}", self.layout.display())
    }

    /// `werf-push ARGS...` with the isolated environment plus `env`.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = cmd::werf_push();
        c.args(args);
        c.env("HOME", self.path("home"))
            .env("XDG_RUNTIME_DIR", self.path("xdg"))
            .env("WERF_PUSH_CERTS_D", self.path("certs.d"));
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("PATH", path);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = cmd::run(&mut c);
        assert!(
            !out.stderr.contains("panicked"),
            "werf-push panicked\n{}",
            out.describe()
        );
        out
    }

    pub fn push(&self, dest: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let mut args = vec!["push", "--json"];
        args.extend_from_slice(extra);
        let src = self.src();
        args.push(&src);
        args.push(dest);
        self.run(&args, env)
    }
}

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The manifest digest of `repo:tag` on a token-auth registry, read with a token of the
/// issuer's.
pub fn token_manifest_digest(
    reg: &Registry,
    issuer: &TokenIssuer,
    repo: &str,
    tag: &str,
) -> Option<String> {
    let token = issuer.token_for(&[&format!("repository:{repo}:pull")]);
    let auth = format!("Bearer {token}");
    let (status, headers, _) = http_request(
        "HEAD",
        &format!("{}/v2/{repo}/manifests/{tag}", reg.url()),
        &[
            ("Authorization", &auth),
            ("Accept", super::registry::MANIFEST_ACCEPT),
        ],
        &[],
    );
    (status == 200).then(|| {
        super::registry::header(&headers, "Docker-Content-Digest")
            .unwrap()
            .to_string()
    })
}
