//! The TLS configuration of registry connections, built in one place: the system's roots,
//! plus the certificates the user trusts explicitly (`--ca-file`, `certs.d/HOST/*.crt`), a
//! client certificate (`certs.d/HOST/*.cert` + `*.key`), and ALPN (`h2` and `http/1.1`,
//! or `http/1.1` alone with `--http1`).
//!
//! A certificate the user trusts explicitly is also accepted as the server's own
//! certificate when webpki refuses it only for being marked as a CA, as a plain
//! `openssl req -x509` makes it (`CaUsedAsEndEntity`; curl and skopeo accept it): the exact
//! certificate, still checked for the host's name, with the handshake signatures verified
//! as usual. With `--skip-tls-verify-registry` every certificate is accepted (the handshake
//! signatures are still checked). Knows nothing of requests.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::TransportError;

/// What a user gave to trust and to present.
#[derive(Default)]
pub(crate) struct TlsFiles {
    /// Certificates trusted explicitly (as CAs, and as the server's own certificate).
    pub trusted: Vec<CertificateDer<'static>>,
    /// The client certificate chain and its key, for mutual TLS.
    pub identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

/// Whether the server's certificate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Against the system's roots and the certificates trusted explicitly.
    Certificate,
    /// Not at all (`--skip-tls-verify-registry`): any certificate, any name.
    Skip,
}

/// The client configuration for one registry host.
pub(crate) fn client_config(
    files: TlsFiles,
    http1_only: bool,
    verify: Verify,
) -> Result<rustls::ClientConfig, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = system_roots().clone();
    for c in &files.trusted {
        roots.add(c.clone()).map_err(|e| {
            TransportError::Config(format!("a trusted certificate cannot be used: {e}"))
        })?;
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| TransportError::Config(format!("TLS verifier: {e}")))?;
    let verifier = Arc::new(TrustedLeaf {
        webpki,
        trusted: files.trusted,
        verify,
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Config(format!("TLS versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match files.identity {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| TransportError::Config(format!("client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = if http1_only {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// The system's CA certificates, read and parsed once per process (every client of every
/// registry trusts them; reading them costs a few milliseconds each time).
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::debug!("system CA certificates: {e}");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!("system CA certificates: {added} trusted, {ignored} unparsable");
        roots
    })
}

/// Certificates in a PEM file (`what` names it in errors).
pub(crate) fn pem_certificates(
    pem: &[u8],
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TransportError::Config(format!("{what}: not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(TransportError::Config(format!(
            "{what}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(certs)
}

/// A private key in a PEM file.
pub(crate) fn pem_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, TransportError> {
    use rustls::pki_types::pem::PemObject;
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| TransportError::Config(format!("{what}: not a PEM private key: {e}")))
}

/// webpki's verdict, except that an explicitly trusted certificate refused only for being
/// a CA is accepted as the server's own (for the names it holds).
#[derive(Debug)]
struct TrustedLeaf {
    webpki: Arc<WebPkiServerVerifier>,
    trusted: Vec<CertificateDer<'static>>,
    verify: Verify,
}

impl ServerCertVerifier for TrustedLeaf {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.verify == Verify::Skip {
            return Ok(ServerCertVerified::assertion());
        }
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(e)))
                if self.is_trusted(end_entity)
                    && format!("{e:?}").contains("CaUsedAsEndEntity") =>
            {
                let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&cert, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

impl TrustedLeaf {
    fn is_trusted(&self, cert: &CertificateDer<'_>) -> bool {
        self.trusted.iter().any(|t| t.as_ref() == cert.as_ref())
    }
}

/// What is wrong with a TLS connection, as far as the fix depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsProblem {
    /// The certificate does not name the host connected to, and the names it has are
    /// known (said in the detail).
    WrongName,
    /// Anything else: an untrusted or expired certificate, a client certificate wanted, a
    /// failed handshake.
    Other,
}

/// What is wrong with a TLS connection, read from the text of the error chain (rustls'
/// debug names): the failure in words, and whether the fix is another host name.
pub(crate) fn problem(host: &str, detail: &str) -> (TlsProblem, String) {
    let d = detail.to_lowercase();
    let wrong_name = !(d.contains("unknownissuer")
        || d.contains("unknown issuer")
        || d.contains("causedasendentity"))
        && names_of(detail).is_some();
    let kind = if wrong_name {
        TlsProblem::WrongName
    } else {
        TlsProblem::Other
    };
    (kind, in_words(host, detail))
}

/// A TLS failure said in words, from the text of the error chain (rustls' debug names).
fn in_words(host: &str, detail: &str) -> String {
    let d = detail.to_lowercase();
    let trust = format!(
        "pass --ca-file FILE, or put it in /etc/docker/certs.d/{host}/ca.crt (or \
         --skip-tls-verify-registry)"
    );
    if d.contains("unknownissuer") || d.contains("unknown issuer") {
        format!("the certificate of {host} is not signed by a trusted CA; {trust}")
    } else if d.contains("causedasendentity") {
        format!(
            "the certificate of {host} is self-signed (a CA certificate as the server's own) \
             and not trusted here; to trust it, {trust}"
        )
    } else if let Some(names) = names_of(detail) {
        format!(
            "the certificate of {host} is not valid for the name used ({}): it {names}; \
             use one of those names, or reissue the certificate with this one in its \
             subjectAltName",
            host_name(host)
        )
    } else if d.contains("notvalidforname") || d.contains("not valid for name") {
        format!("the certificate of {host} is not valid for that name (check the host name, or the certificate's subjectAltName)")
    } else if d.contains("expired") {
        format!("the certificate of {host} has expired")
    } else if d.contains("notvalidyet") {
        format!("the certificate of {host} is not valid yet (check the clock)")
    } else if d.contains("revoked") {
        format!("the certificate of {host} is revoked")
    } else if d.contains("certificaterequired") || d.contains("certificate required") {
        format!("{host} requires a client certificate: put client.cert and client.key in /etc/docker/certs.d/{host}/")
    } else if d.contains("handshake") || d.contains("alert") {
        format!(
            "the TLS handshake with {host} failed ({})",
            last_part(detail)
        )
    } else {
        format!("TLS with {host} failed: {}", last_part(detail))
    }
}

/// The names a certificate has, from rustls' "certificate not valid for name "x";
/// certificate is only valid for DnsName("a") or IpAddress(1.2.3.4)", in plain words:
/// `is only valid for a or 1.2.3.4`.
fn names_of(detail: &str) -> Option<String> {
    let i = detail.find("not valid for name")?;
    let (_, names) = detail[i..].split_once("; certificate ")?;
    let names = names.split(": ").next().unwrap_or(names);
    let mut out = String::new();
    let mut rest = names;
    // `DnsName("a")` -> `a`, `IpAddress(1.2.3.4)` -> `1.2.3.4`.
    while let Some(open) = rest.find('(') {
        let head = &rest[..open];
        let word_start = head
            .rfind(|c: char| !c.is_ascii_alphanumeric())
            .map_or(0, |j| j + 1);
        out.push_str(&head[..word_start]);
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        out.push_str(rest[open + 1..open + close].trim_matches('"'));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Some(werf_push_spec::text::printable(&out).into_owned())
}

/// `host` without its port: the name the certificate is checked against.
fn host_name(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, p))
            if !h.ends_with(']') && p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') =>
        {
            h
        }
        Some((h, _)) if h.starts_with('[') && h.ends_with(']') => h,
        _ => host,
    }
}

/// The innermost cause of a `: `-joined chain.
fn last_part(detail: &str) -> &str {
    detail.rsplit(": ").next().unwrap_or(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_errors_in_words_table() {
        let cases = [
            (
                "invalid peer certificate: UnknownIssuer",
                "is not signed by a trusted CA; pass --ca-file",
            ),
            (
                "invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))",
                "is self-signed (a CA certificate as the server's own) and not trusted here; to trust it, pass --ca-file",
            ),
            (
                "invalid peer certificate: NotValidForName",
                "is not valid for that name",
            ),
            (
                "invalid peer certificate: certificate not valid for name \"127.0.0.1\"; \
                 certificate is only valid for DnsName(\"registry.example.com\") or \
                 IpAddress(10.0.0.1)",
                "is not valid for the name used (reg): it is only valid for \
                 registry.example.com or 10.0.0.1; use one of those names",
            ),
            ("invalid peer certificate: Expired", "has expired"),
            (
                "received fatal alert: CertificateRequired",
                "requires a client certificate",
            ),
            ("something else: odd", "TLS with reg:5000 failed: odd"),
        ];
        for (detail, want) in cases {
            let (kind, got) = problem("reg:5000", detail);
            assert_eq!(
                kind == TlsProblem::WrongName,
                got.contains("not valid for the name used"),
                "{detail}: {kind:?}"
            );
            assert!(got.contains(want), "{detail}: {got}");
            assert!(!got.contains("DnsName"), "{detail}: debug text: {got}");
            assert!(
                !got.contains("Other(") && !got.contains("OtherError"),
                "{detail}: debug text: {got}"
            );
        }
    }
}
