//! Docker's per-registry TLS files: `<certs.d>/<host[:port]>/*.crt` are CA certificates
//! trusted for that registry, a `*.cert` with the `*.key` of the same name is the client
//! certificate for mutual TLS (`client.cert` + `client.key`). `<certs.d>` is
//! `/etc/docker/certs.d` unless `TransportOptions::certs_d` says otherwise (the CLI takes
//! `WERF_PUSH_CERTS_D`). A missing directory is nothing to do; an unreadable or malformed
//! file is an error naming it. Knows nothing of requests.

use std::path::Path;

use super::tls::{pem_certificates, pem_key, TlsFiles};
use super::TransportError;

/// Adds what `<certs_d>/<host>` holds to `files`.
pub(crate) fn read(files: &mut TlsFiles, certs_d: &Path, host: &str) -> Result<(), TransportError> {
    let dir = certs_d.join(host);
    let mut paths: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => return Ok(()),
    };
    paths.sort();
    let read = |p: &Path| {
        std::fs::read(p)
            .map_err(|e| TransportError::Config(format!("cannot read {}: {e}", p.display())))
    };
    for path in &paths {
        match path.extension().and_then(|e| e.to_str()) {
            Some("crt") => {
                let certs = pem_certificates(&read(path)?, &path.display().to_string())?;
                tracing::debug!("{host}: trusting CA {}", path.display());
                files.trusted.extend(certs);
            }
            Some("cert") => {
                let key = path.with_extension("key");
                if !key.exists() {
                    return Err(TransportError::Config(format!(
                        "client certificate {} has no key {}",
                        path.display(),
                        key.display()
                    )));
                }
                let chain = pem_certificates(&read(path)?, &path.display().to_string())?;
                let k = pem_key(&read(&key)?, &key.display().to_string())?;
                tracing::debug!("{host}: client certificate {}", path.display());
                files.identity = Some((chain, k));
            }
            _ => {}
        }
    }
    Ok(())
}
