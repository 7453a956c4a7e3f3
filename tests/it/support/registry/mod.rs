//! A real `docker-registry` (CNCF distribution 2.8, Debian package `docker-registry`) for
//! integration tests; the tests' blocking HTTP/1.1 client is the test HTTP kit's
//! (`super::http::client`), [`http_request`] re-exported here.
//!
//! Each [`Registry`] runs its own registry process on a free loopback port, with its own
//! temporary directory holding `config.yml`, `registry.log` and `storage/`; dropping it stops
//! the process (`process::Service`) and removes the directory, so tests running in parallel
//! never share state.
//!
//! ```ignore
//! let reg = Registry::start(); // plain HTTP, anonymous
//! // ... push to reg.host ("127.0.0.1:PORT") ...
//! assert!(reg.tag_exists("app", "v1"));
//! let puts = reg.requests().iter().filter(|(m, _)| m == "PUT").count();
//!
//! let reg = RegistryOptions::new().htpasswd().start(); // Basic auth, TEST_USER/TEST_PASSWORD
//! ```
//!
//! Logging: the registry's own log (logrus text, stderr) and its access log (Apache combined
//! format, one line per request, stdout) both go to `registry.log`. The access log line of a
//! request is written before the response is completed, so [`Registry::requests`] sees a
//! request as soon as the client has its full response.
//!
//! Environment: every `REGISTRY_*` variable of the caller is removed from the registry's
//! environment, since distribution reads them as config overrides (a podman user's
//! `REGISTRY_AUTH_FILE` makes it refuse to start), and every `AWS_*` one (the S3 driver of
//! [`RegistryOptions::s3`] panics at start with `AWS_CA_BUNDLE` set). Overrides wanted on purpose go through
//! [`RegistryOptions::env`].

use std::fs::{self, OpenOptions};
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::http::client::try_http_request;
pub use super::http::client::{http_request, HttpResponse};
/// Case-insensitive lookup of the first header named `name`.
pub use super::http::header;
use super::process::Service;

mod access_log;
mod reads;

pub use access_log::Request;
pub use reads::sorted_tags;

/// The registry binary, looked up in `PATH`.
pub const REGISTRY_BIN: &str = "docker-registry";

/// Time allowed for a registry to start answering `GET /v2/`.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);

/// How many free ports are tried when the registry loses the race for one.
const BIND_ATTEMPTS: usize = 5;

/// The fixed `http.secret` (signs upload `_state`; fixed so runs are reproducible).
pub const HTTP_SECRET: &str = "werf-push-test-secret";

/// User name set up by [`RegistryOptions::htpasswd`].
pub const TEST_USER: &str = "werf";
/// Password of [`TEST_USER`].
pub const TEST_PASSWORD: &str = "werf-push-test";
/// A bcrypt (cost 5) htpasswd line for [`TEST_USER`] / [`TEST_PASSWORD`]; distribution's
/// htpasswd auth accepts bcrypt only.
pub const TEST_HTPASSWD: &str =
    "werf:$2b$05$agrkotY3Z.buU7FUyTBwAue0hX516UabQMZ4tNs6b21WUli2Qvdea\n";

/// `Accept` value covering every manifest type a push may produce.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";

/// How a [`Registry`] is configured. Blocks of YAML are given unindented; they are indented
/// into place. The text `$DIR` anywhere in them is replaced by the registry's temporary
/// directory, where [`RegistryOptions::file`] puts files (htpasswd, token certificates...).
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    auth: Option<String>,
    storage_extra: String,
    files: Vec<(String, Vec<u8>)>,
    credentials: Option<(String, String)>,
    /// The storage driver's block (`s3:` ...) instead of `filesystem:`.
    driver: Option<String>,
    /// `storage.delete.enabled: false` (distribution's default): every DELETE is refused.
    no_delete: bool,
}

impl RegistryOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Body of the `auth:` section, e.g.
    /// `"htpasswd:\n  realm: test\n  path: $DIR/htpasswd\n"` or
    /// `"token:\n  realm: http://...\n  service: ...\n  issuer: ...\n  rootcertbundle: $DIR/ca.pem\n"`.
    pub fn auth(mut self, yaml: &str) -> Self {
        self.auth = Some(yaml.to_string());
        self
    }

    /// A registry that refuses every `DELETE` with `405 UNSUPPORTED`, as distribution does
    /// without `storage.delete.enabled` (enabled otherwise, for cleanup tests).
    pub fn no_delete(mut self) -> Self {
        self.no_delete = true;
        self
    }

    /// Lines added under `storage:` (next to `filesystem`, `delete`, `maintenance`).
    pub fn storage_extra(mut self, yaml: &str) -> Self {
        self.storage_extra.push_str(yaml);
        self.storage_extra.push('\n');
        self
    }

    /// A file written into the registry's temporary directory before it starts
    /// (refer to it as `$DIR/<name>` in the YAML). `name` may contain `/`.
    pub fn file(mut self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        self.files
            .push((name.to_string(), contents.as_ref().to_vec()));
        self
    }

    /// Basic credentials that the [`Registry`] helper methods (`tags`, `tag_exists`, `get`...)
    /// send. They do not configure the registry itself.
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.to_string(), password.to_string()));
        self
    }

    /// htpasswd Basic auth with one user, [`TEST_USER`] / [`TEST_PASSWORD`], which the
    /// helper methods then use too.
    pub fn htpasswd(self) -> Self {
        self.file("htpasswd", TEST_HTPASSWD)
            .auth("htpasswd:\n  realm: werf-push-test\n  path: $DIR/htpasswd\n")
            .credentials(TEST_USER, TEST_PASSWORD)
    }

    /// Blobs and manifests in an S3 bucket instead of the filesystem, as Harbor and GitLab
    /// keep them: the bucket `bucket` of the S3 emulator at `endpoint`
    /// (`http://127.0.0.1:PORT`, see `support::s3`). Blob reads are served by the registry
    /// itself (no redirect to the bucket).
    pub fn s3(mut self, endpoint: &str, bucket: &str) -> Self {
        self.driver = Some(format!(
            "s3:\n  accesskey: werf-push-test\n  secretkey: werf-push-test\n  \
             region: us-east-1\n  regionendpoint: {endpoint}\n  bucket: {bucket}\n  \
             secure: false\n  v4auth: true\n  rootdirectory: /registry\n\
             redirect:\n  disable: true\n"
        ));
        self
    }

    pub fn start(self) -> Registry {
        Registry::start_with(self)
    }

    fn config_yaml(&self, dir: &Path, port: u16) -> String {
        let mut y = String::new();
        y.push_str("version: 0.1\n");
        y.push_str("log:\n  level: info\n  formatter: text\n");
        y.push_str("storage:\n");
        match &self.driver {
            Some(d) => y.push_str(&indent(d, 2)),
            None => y.push_str("  filesystem:\n    rootdirectory: $DIR/storage\n"),
        }
        y.push_str(&format!("  delete:\n    enabled: {}\n", !self.no_delete));
        y.push_str("  maintenance:\n    uploadpurging:\n      enabled: false\n");
        y.push_str(&indent(&self.storage_extra, 2));
        y.push_str("http:\n");
        y.push_str(&format!("  addr: 127.0.0.1:{port}\n"));
        y.push_str(&format!("  secret: {HTTP_SECRET}\n"));
        y.push_str("health:\n  storagedriver:\n    enabled: false\n");
        if let Some(auth) = &self.auth {
            y.push_str("auth:\n");
            y.push_str(&indent(auth, 2));
        }
        y.replace("$DIR", &dir.to_string_lossy())
    }
}

fn indent(block: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{pad}{l}\n"))
        .collect()
}

/// A running `docker-registry`; stopped (with its process group, see `process::Service`)
/// and its directory removed on drop.
pub struct Registry {
    /// `127.0.0.1:PORT`, the registry part of image references.
    pub host: String,
    /// Declared before `dir`: fields drop in order, so the registry stops before its
    /// directory goes.
    child: Service,
    dir: TempDir,
    credentials: Option<(String, String)>,
}

enum StartFailure {
    PortTaken,
    Other(String),
}

impl Registry {
    /// Plain HTTP, anonymous push and pull.
    pub fn start() -> Registry {
        Self::start_with(RegistryOptions::new())
    }

    pub fn start_with(opts: RegistryOptions) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("werf-push-registry-")
            .tempdir()
            .expect("create registry temp dir");
        fs::create_dir_all(dir.path().join("storage")).expect("create storage dir");
        for (name, contents) in &opts.files {
            let path = dir.path().join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("create dir for registry file");
            }
            fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        }
        let log_path = dir.path().join("registry.log");
        let mut last = String::new();
        for _ in 0..BIND_ATTEMPTS {
            let port = free_port();
            let config_path = dir.path().join("config.yml");
            fs::write(&config_path, opts.config_yaml(dir.path(), port)).expect("write config.yml");
            // One append-mode file for stdout (access log) and stderr (registry log), so that
            // their lines interleave in order.
            fs::write(&log_path, b"").expect("create registry.log");
            let log = OpenOptions::new()
                .append(true)
                .open(&log_path)
                .expect("open registry.log");
            let log_err = log.try_clone().expect("clone log handle");
            let mut cmd = Command::new(REGISTRY_BIN);
            // distribution 2.8's S3 driver panics at start when AWS_CA_BUNDLE is set, and
            // would take credentials, a profile or a region from the other AWS_ variables.
            for (k, _) in std::env::vars_os() {
                let name = k.to_string_lossy();
                if name.starts_with("REGISTRY_") || name.starts_with("AWS_") {
                    cmd.env_remove(&k);
                }
            }
            cmd.arg("serve")
                .arg(&config_path)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err);
            let mut child = match Service::spawn(&mut cmd, REGISTRY_BIN) {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::NotFound => panic!(
                    "{REGISTRY_BIN} not found: run scripts/test (it installs it) or apt-get install docker-registry"
                ),
                Err(e) => panic!("failed to start {REGISTRY_BIN}: {e}"),
            };
            match wait_ready(&mut child, port, &log_path) {
                Ok(()) => {
                    return Registry {
                        host: format!("127.0.0.1:{port}"),
                        dir,
                        child,
                        credentials: opts.credentials,
                    };
                }
                Err(failure) => {
                    child.stop();
                    let log = fs::read_to_string(&log_path).unwrap_or_default();
                    match failure {
                        StartFailure::PortTaken => last = log,
                        StartFailure::Other(why) => panic!(
                            "{REGISTRY_BIN} on 127.0.0.1:{port} {why}\n--- config.yml ---\n{}\n--- registry.log ---\n{log}",
                            fs::read_to_string(&config_path).unwrap_or_default()
                        ),
                    }
                }
            }
        }
        panic!(
            "{REGISTRY_BIN} could not bind a free port in {BIND_ATTEMPTS} attempts\n--- last registry.log ---\n{last}"
        );
    }

    /// The registry process's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }

    /// The filesystem storage root (`docker/registry/v2/...` lives below it).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }
}

/// A port that was free a moment ago (bind 127.0.0.1:0, read, drop).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

fn wait_ready(child: &mut Service, port: u16, log_path: &Path) -> Result<(), StartFailure> {
    // "listening on ADDR" is logged only after a successful bind, so seeing it in our own log
    // proves that the process answering on the port is ours, not a parallel test's.
    let listening = format!("listening on 127.0.0.1:{port}");
    let url = format!("http://127.0.0.1:{port}/v2/");
    let deadline = Instant::now() + START_TIMEOUT;
    let mut last_err = String::from("no answer yet");
    loop {
        if let Some(status) = child.try_wait() {
            let log = fs::read_to_string(log_path).unwrap_or_default();
            return Err(if log.contains("address already in use") {
                StartFailure::PortTaken
            } else {
                StartFailure::Other(format!("exited early with {status}"))
            });
        }
        let log = fs::read_to_string(log_path).unwrap_or_default();
        if log.contains(&listening) {
            match try_http_request("GET", &url, &[], &[], Duration::from_secs(2)) {
                Ok((200 | 401, _, _)) => return Ok(()),
                Ok((s, _, _)) => last_err = format!("GET /v2/ answered {s}"),
                Err(e) => last_err = format!("GET /v2/ failed: {e}"),
            }
        }
        if Instant::now() >= deadline {
            return Err(StartFailure::Other(format!(
                "did not come up within {START_TIMEOUT:?} ({last_err})"
            )));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The base64 of `user:password`, as in a Basic `Authorization` (standard alphabet,
/// padded).
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}
