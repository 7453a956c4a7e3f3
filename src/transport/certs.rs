//! Docker's per-registry TLS files: `<certs.d>/<host[:port]>/*.crt` are CA certificates
//! trusted for that registry, a `*.cert` with the `*.key` of the same name is the client
//! certificate for mutual TLS (`client.cert` + `client.key`). `<certs.d>` is
//! `/etc/docker/certs.d` unless `TransportOptions::certs_d` says otherwise (the CLI takes
//! `WERF_PUSH_CERTS_D`). A missing directory is nothing to do; an unreadable or malformed
//! file is an error naming it. Knows nothing of requests.

use std::path::Path;

use reqwest::ClientBuilder;

use super::TransportError;

/// Adds what `<certs_d>/<host>` holds to the client being built.
pub(crate) fn apply(
    mut b: ClientBuilder,
    certs_d: &Path,
    host: &str,
) -> Result<ClientBuilder, TransportError> {
    let dir = certs_d.join(host);
    let mut files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => return Ok(b),
    };
    files.sort();
    let read = |p: &Path| {
        std::fs::read(p)
            .map_err(|e| TransportError::Config(format!("cannot read {}: {e}", p.display())))
    };
    for path in &files {
        match path.extension().and_then(|e| e.to_str()) {
            Some("crt") => {
                let certs = reqwest::Certificate::from_pem_bundle(&read(path)?).map_err(|e| {
                    TransportError::Config(format!("{}: not PEM certificates: {e}", path.display()))
                })?;
                tracing::debug!("{host}: trusting CA {}", path.display());
                for c in certs {
                    b = b.add_root_certificate(c);
                }
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
                let mut pem = read(path)?;
                pem.push(b'\n');
                pem.extend(read(&key)?);
                let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
                    TransportError::Config(format!(
                        "client certificate {} with key {}: {e}",
                        path.display(),
                        key.display()
                    ))
                })?;
                tracing::debug!("{host}: client certificate {}", path.display());
                b = b.identity(id);
            }
            _ => {}
        }
    }
    Ok(b)
}
