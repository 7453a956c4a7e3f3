//! Unit tests of registry failures: their class, error bodies parsed, GHCR's rate-limit 403.
use super::*;
use werf_push_spec::ErrorKind;

#[test]
fn class_table() {
    let status = |status| RegistryError::Status {
        op: "PUT manifest a:v1".into(),
        action: Action::PutManifest,
        status,
        body: ErrorBody::default(),
        retry_after: None,
    };
    let digest: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
    let cases = [
        (status(500), ErrorKind::Registry),
        (status(404), ErrorKind::Registry),
        (status(401), ErrorKind::Auth),
        (status(403), ErrorKind::Auth),
        (
            RegistryError::DigestMismatch {
                op: "GET blob".into(),
                want: digest,
                got: "sha256:b".into(),
            },
            ErrorKind::Integrity,
        ),
        (
            RegistryError::Protocol {
                op: "GET tags".into(),
                detail: "not JSON".into(),
            },
            ErrorKind::Registry,
        ),
        (
            RegistryError::Transport(TransportError::Config("x".into())),
            ErrorKind::Usage,
        ),
    ];
    for (e, want) in cases {
        assert_eq!(e.kind(), want, "{e}");
    }
}

#[test]
fn error_body_table() {
    let cases: [(&str, Option<&str>, Option<&str>); 8] = [
        (
            r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"x"}]}"#,
            Some("BLOB_UNKNOWN"),
            Some("blob unknown to registry"),
        ),
        (r#"{"errors":[{"code":"DENIED"}]}"#, Some("DENIED"), None),
        ("Too Many Requests\n", None, Some("Too Many Requests")),
        (
            "<html>\n<head><title>413 Request Entity Too Large</title></head>",
            None,
            Some("413 Request Entity Too Large"),
        ),
        (
            "<html><body>no title</body></html>",
            None,
            Some("<html><body>no title</body></html>"),
        ),
        (
            "unauthorized: authentication required\n",
            None,
            Some("unauthorized: authentication required"),
        ),
        ("", None, None),
        (r#"{"errors":[]}"#, None, Some(r#"{"errors":[]}"#)),
    ];
    for (body, code, message) in cases {
        let e = ErrorBody::parse(body.as_bytes());
        assert_eq!(e.code.as_deref(), code, "{body}");
        assert_eq!(e.message.as_deref(), message, "{body}");
    }
}

#[test]
fn rate_limit_403_table() {
    let cases = [
        (
            r#"{"errors":[{"code":"DENIED","message":"You have exceeded a secondary rate limit"}]}"#,
            true,
        ),
        (
            r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#,
            true,
        ),
        ("Too Many Requests (HAP429)\n", true),
        (
            r#"{"errors":[{"code":"DENIED","message":"permission_denied: write_package"}]}"#,
            false,
        ),
        (
            r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#,
            false,
        ),
        ("", false),
    ];
    for (body, want) in cases {
        let e = RegistryError::Status {
            op: "PUT blob".into(),
            action: Action::FinishUpload,
            status: 403,
            body: ErrorBody::parse(body.as_bytes()),
            retry_after: None,
        };
        assert_eq!(e.is_retryable(), want, "{body}");
    }
}
