//! An S3 emulator (moto's server, `pip install 'moto[server]'`, which `scripts/deps.sh`
//! installs) for a `docker-registry` on object storage, as production registries (Harbor,
//! GitLab) keep blobs in S3. Each [`S3`] runs its own `moto_server` on a free loopback
//! port (a `process::Service`: stopped with its process group on drop) with one bucket
//! created before the registry starts, whose keys a test can list ([`S3::keys`]).
//!
//! ```ignore
//! let s3 = S3::start();
//! let reg = RegistryOptions::new().s3(&s3.endpoint(), S3::BUCKET).start();
//! ```

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::http::client::{http_get, try_http_request};
use super::process::Service;
use super::registry::free_port;

/// The emulator's program, looked up in `PATH`.
pub const MOTO_BIN: &str = "moto_server";

/// Time allowed for the emulator to answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running S3 emulator with one bucket.
pub struct S3 {
    pub port: u16,
    /// Declared before `dir`: the server stops before its directory goes.
    _server: Service,
    _dir: TempDir,
}

impl S3 {
    /// The bucket created at start.
    pub const BUCKET: &'static str = "werf-push-registry";

    pub fn start() -> S3 {
        let dir = tempfile::Builder::new()
            .prefix("werf-push-s3-")
            .tempdir()
            .expect("s3 temp dir");
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("moto.log")).unwrap();
            let mut cmd = Command::new(MOTO_BIN);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .current_dir(dir.path())
                .env_remove("AWS_CA_BUNDLE")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            let mut server = Service::spawn(&mut cmd, MOTO_BIN).unwrap_or_else(|e| {
                panic!(
                    "{MOTO_BIN} cannot be run ({e}): run scripts/test (it installs it) or \
                     pip install 'moto[server]'"
                )
            });
            let url = format!("http://127.0.0.1:{port}/{}", S3::BUCKET);
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if server.try_wait().is_some() {
                    last = std::fs::read_to_string(dir.path().join("moto.log")).unwrap_or_default();
                    break;
                }
                // Path-style bucket creation; moto's server checks no signature.
                match try_http_request("PUT", &url, &[], &[], Duration::from_secs(2)) {
                    Ok((200, _, _)) => {
                        return S3 {
                            port,
                            _server: server,
                            _dir: dir,
                        }
                    }
                    Ok((s, _, body)) => {
                        panic!(
                            "creating bucket {url}: {s} {}",
                            String::from_utf8_lossy(&body)
                        )
                    }
                    Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
                    Err(e) => {
                        panic!("{MOTO_BIN} did not answer on {port} within {START_TIMEOUT:?}: {e}")
                    }
                }
            }
        }
        panic!("{MOTO_BIN} failed to start:\n{last}");
    }

    /// The keys of the bucket under `prefix` (ListObjectsV2, up to 1000; path-style).
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let url = format!(
            "{}/{}?list-type=2&prefix={}",
            self.endpoint(),
            S3::BUCKET,
            prefix.replace('/', "%2F")
        );
        let (status, _, body) = http_get(&url);
        let xml = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "GET {url}: {xml}");
        xml.split("<Key>")
            .skip(1)
            .filter_map(|k| k.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect()
    }

    /// `http://127.0.0.1:PORT`, the registry's `regionendpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
