//! Unit tests of the pure upload decisions (`upload_rules.rs`).
use super::*;
use werf_push_registry::ErrorBody;
use werf_push_spec::Digest;

const MIB: u64 = 1 << 20;

fn status(status: u16, code: Option<&str>) -> RegistryError {
    let mut body = ErrorBody::default();
    body.code = code.map(str::to_string);
    RegistryError::Status {
        op: "PUT blob".into(),
        action: werf_push_registry::Action::FinishUpload,
        status,
        body,
        retry_after: None,
    }
}

fn plan(monolithic: bool) -> UploadPlan {
    UploadPlan {
        monolithic,
        chunk: 32 * MIB,
        min_chunk: 1,
        max_chunk: None,
        empty_put: false,
    }
}

#[test]
fn adapt_table() {
    use Step::{Patch, Put};
    // (monolithic plan, status, code, step, body size) -> (adapted, monolithic after)
    let cases = [
        (true, 413, None, Put, 64 * MIB, (true, false)),
        (false, 416, None, Patch, 8 * MIB, (true, false)),
        (true, 416, None, Put, 8 * MIB, (false, true)),
        // 400 on a small chunk: ECR's minimum (here chunks are big already: not that).
        (false, 400, None, Patch, MIB, (false, false)),
        (false, 400, None, Put, MIB, (false, false)),
        (false, 405, None, Patch, 32 * MIB, (true, true)),
        (false, 501, None, Patch, 32 * MIB, (true, true)),
        (false, 404, None, Patch, 32 * MIB, (true, true)),
        (
            false,
            404,
            Some("BLOB_UPLOAD_UNKNOWN"),
            Patch,
            32 * MIB,
            (false, false),
        ),
        (false, 500, None, Patch, 32 * MIB, (false, false)),
        (true, 401, None, Put, 32 * MIB, (false, true)),
        // Artifactory: a PUT carrying data refused with 404 BLOB_UNKNOWN: one PATCH
        // and an empty PUT.
        (
            true,
            404,
            Some("BLOB_UNKNOWN"),
            Put,
            32 * MIB,
            (true, false),
        ),
    ];
    for (mono, st, code, step, len, (want, mono_after)) in cases {
        let mut p = plan(mono);
        let got = adapt(&mut p, Some(st), code, step, len, 64 * MIB);
        assert_eq!(
            (got, p.monolithic),
            (want, mono_after),
            "{st} {code:?} {step:?}"
        );
    }
    let mut p = plan(true);
    assert!(!adapt(&mut p, None, None, Step::Put, MIB, MIB), "no status");
}

#[test]
fn refuses_digest_table() {
    use Step::{Patch, Put};
    let mismatch = RegistryError::DigestMismatch {
        op: "PUT blob".into(),
        want: Digest::sha256_of(b"a"),
        got: "sha256:0".into(),
    };
    let cases = [
        (status(400, Some("DIGEST_INVALID")), Patch, true),
        (status(400, Some("SIZE_INVALID")), Put, true),
        (mismatch, Put, true),
        (status(400, None), Put, true),
        (status(400, None), Patch, false),
        (status(500, None), Put, false),
        (status(404, Some("BLOB_UPLOAD_UNKNOWN")), Put, false),
    ];
    for (e, step, want) in cases {
        assert_eq!(refuses_digest(&e, step), want, "{e} {step:?}");
    }
}

#[test]
fn resumable_table() {
    // (offset, size) -> resumable
    let cases = [
        (0, 10, false),
        (1, 10, false),
        (2, 10, true),
        (10, 10, true),
        (11, 10, false),
    ];
    for (offset, size, want) in cases {
        assert_eq!(resumable(offset, size), want, "{offset} of {size}");
    }
}

#[test]
fn stale_resume_table() {
    let status = |s: u16| RegistryError::Status {
        op: "PATCH".into(),
        action: werf_push_registry::Action::UploadChunk,
        status: s,
        body: Default::default(),
        retry_after: None,
    };
    // (status, offset of the failed PATCH, offset resumed at) -> start over
    let cases = [
        (416, 1 << 20, Some(1 << 20), true),
        (416, 2 << 20, Some(1 << 20), false),
        (416, 0, Some(0), false),
        (416, 1 << 20, None, false),
        (400, 1 << 20, Some(1 << 20), false),
    ];
    for (s, offset, at, want) in cases {
        assert_eq!(
            stale_resume(&status(s), offset, at),
            want,
            "{s} {offset} {at:?}"
        );
    }
}

#[test]
fn may_have_landed_table() {
    use werf_push_transport::{TimeoutKind, TransportError};
    use Step::{Patch, Put, Verify};
    let timeout = || {
        RegistryError::Transport(TransportError::Timeout {
            method: "PUT".into(),
            url: "http://r/v2/a/blobs/uploads/x".into(),
            kind: TimeoutKind::Response,
            after: std::time::Duration::from_secs(60),
        })
    };
    let protocol = RegistryError::Protocol {
        op: "PUT blob".into(),
        detail: "no Location".into(),
    };
    let cases = [
        (timeout(), Put, true),
        (timeout(), Patch, false),
        (status(504, None), Put, true),
        (status(502, None), Put, true),
        (status(503, None), Put, false),
        (status(500, None), Put, false),
        (status(404, Some("BLOB_UPLOAD_UNKNOWN")), Put, false),
        (status(400, Some("DIGEST_INVALID")), Put, false),
        (protocol, Put, false),
        (timeout(), Verify, false),
    ];
    for (e, step, want) in cases {
        assert_eq!(may_have_landed(&e, step), want, "{e} {step:?}");
    }
}
