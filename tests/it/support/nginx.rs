//! nginx (Debian package) as a TLS terminator with HTTP/2 in front of a real
//! `docker-registry`, and a test CA made with rcgen to sign its certificate (and client
//! certificates for mutual TLS). nginx passes `X-Forwarded-Proto https` and the
//! `Host` as the client sent it (`$http_host`), so the registry writes `https://`
//! Locations on the address the client used (nginx, or a WAN proxy in front of it).
//! Its access log records `$server_protocol`, so a test can see HTTP/2 was negotiated.
//!
//! ```ignore
//! let ca = TestCa::new("werf-push test CA");
//! let nginx = Nginx::start(NginxOptions::new(&reg.host, &ca));
//! // push to nginx.host with --ca-file (ca.cert_pem written to a file)
//! assert!(nginx.access_log().contains("HTTP/2.0"));
//! ```

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;

use super::process::Service;
use super::registry::free_port;

/// A certificate authority for one test.
pub struct TestCa {
    /// The CA certificate, PEM.
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let cert = p.self_signed(&key).expect("self-sign CA");
        TestCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(p, key),
        }
    }

    /// A certificate for `names` (DNS names or IP addresses), for a server or a client:
    /// `(certificate PEM, private key PEM)`.
    pub fn issue(&self, names: &[&str], client: bool) -> (String, String) {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut p = CertificateParams::new(names.clone()).expect("cert params");
        p.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        p.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().expect("leaf key");
        let cert = p.signed_by(&key, &self.issuer).expect("sign leaf");
        (cert.pem(), key.serialize_pem())
    }
}

pub struct NginxOptions {
    upstream: String,
    cert: (String, String),
    client_ca: Option<String>,
}

impl NginxOptions {
    /// TLS for 127.0.0.1 and localhost with a certificate from `ca`, proxying to
    /// `upstream` (`127.0.0.1:PORT`).
    pub fn new(upstream: &str, ca: &TestCa) -> Self {
        NginxOptions {
            upstream: upstream.to_string(),
            cert: ca.issue(&["127.0.0.1", "localhost"], false),
            client_ca: None,
        }
    }

    /// Serve this certificate and key (PEM) instead of one from the CA.
    pub fn cert(mut self, cert_pem: &str, key_pem: &str) -> Self {
        self.cert = (cert_pem.to_string(), key_pem.to_string());
        self
    }

    /// Require client certificates signed by this CA (PEM).
    pub fn client_ca(mut self, pem: &str) -> Self {
        self.client_ca = Some(pem.to_string());
        self
    }
}

/// A running nginx; stopped on drop with its workers (`process::Service`).
pub struct Nginx {
    /// `127.0.0.1:PORT`
    pub host: String,
    /// Declared before `dir`: nginx stops before its directory goes.
    child: Service,
    dir: TempDir,
}

/// The nginx binary: in PATH, else /usr/sbin/nginx.
fn nginx_bin() -> PathBuf {
    if let Some(paths) = std::env::var_os("PATH") {
        for p in std::env::split_paths(&paths) {
            let c = p.join("nginx");
            if c.is_file() {
                return c;
            }
        }
    }
    let sbin = PathBuf::from("/usr/sbin/nginx");
    if sbin.is_file() {
        return sbin;
    }
    panic!("nginx not found: run scripts/test (it installs it) or apt-get install nginx");
}

impl Nginx {
    pub fn start(opts: NginxOptions) -> Nginx {
        let dir = tempfile::Builder::new()
            .prefix("werf-push-nginx-")
            .tempdir()
            .expect("nginx temp dir");
        let d = dir.path();
        fs::create_dir_all(d.join("tmp")).unwrap();
        fs::write(d.join("server.crt"), &opts.cert.0).unwrap();
        fs::write(d.join("server.key"), &opts.cert.1).unwrap();
        if let Some(ca) = &opts.client_ca {
            fs::write(d.join("client-ca.crt"), ca).unwrap();
        }
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            fs::write(d.join("nginx.conf"), config(d, port, &opts)).unwrap();
            let _ = fs::remove_file(d.join("error.log"));
            let mut cmd = Command::new(nginx_bin());
            cmd.arg("-p")
                .arg(d)
                .arg("-c")
                .arg(d.join("nginx.conf"))
                .arg("-e")
                .arg(d.join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // SIGQUIT: nginx's graceful stop (the master waits for its workers); the
            // group's SIGKILL after the wait catches a worker that outlived it.
            let mut child = Service::spawn(&mut cmd, "nginx")
                .unwrap_or_else(|e| panic!("cannot start nginx: {e}"))
                .stop_signal(libc::SIGQUIT);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if child.try_wait().is_some() {
                    last = fs::read_to_string(d.join("error.log")).unwrap_or_default();
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Nginx {
                        host: format!("127.0.0.1:{port}"),
                        dir,
                        child,
                    };
                }
                if Instant::now() > deadline {
                    child.stop();
                    panic!(
                        "nginx did not listen on {port} within 10s: {}",
                        fs::read_to_string(d.join("error.log")).unwrap_or_default()
                    );
                }
                thread::sleep(Duration::from_millis(20));
            }
            if !last.contains("Address already in use") {
                break;
            }
        }
        panic!("nginx failed to start:\n{last}");
    }

    /// One line per request: `METHOD URI PROTOCOL STATUS REQUEST_LENGTH`, e.g.
    /// `PUT /v2/... HTTP/2.0 201 9012` (the length counts headers and body).
    pub fn access_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// The master process's PID (its workers are its children).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn config(d: &Path, port: u16, o: &NginxOptions) -> String {
    let d = d.display();
    let client = if o.client_ca.is_some() {
        format!("    ssl_client_certificate {d}/client-ca.crt;\n    ssl_verify_client on;\n")
    } else {
        String::new()
    };
    // Workers run as root when the master does (root-owned temp dirs); ignored otherwise.
    format!(
        r#"daemon off;
user root root;
worker_processes 1;
pid {d}/nginx.pid;
events {{ worker_connections 256; }}
http {{
  log_format werf '$request_method $request_uri $server_protocol $status conn=$connection $request_length';
  access_log {d}/access.log werf;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {d}/server.crt;
    ssl_certificate_key {d}/server.key;
{client}    client_max_body_size 0;
    location / {{
      proxy_pass http://{upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_request_buffering off;
      proxy_buffering off;
      # Google Artifact Registry's upload answers carry ~21 KB of headers (quirks_uploads.rs).
      proxy_buffer_size 64k;
      proxy_buffers 4 64k;
      proxy_busy_buffers_size 128k;
      proxy_read_timeout 300s;
    }}
  }}
}}
"#,
        upstream = o.upstream
    )
}
