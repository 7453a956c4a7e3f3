//! Unit tests of `engine.rs`.
use super::*;
use crate::NoopReporter;
use werf_push_spec::Manifest;
use werf_push_transport::{RetryBudget, TransportOptions};

fn pusher() -> Pusher {
    let registries = Registries::new(
        TransportOptions::default(),
        Arc::new(RetryBudget::new(0, 0)),
    );
    Pusher::new(
        PushOptions::default(),
        Arc::new(registries),
        Arc::new(NoopReporter),
    )
}

fn target(dest: &str) -> Target {
    let config = Digest::sha256_of(b"{}");
    let bytes = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[]}}"#
    );
    let m = Manifest::parse(bytes.into(), None).unwrap();
    let blobs = m
        .blobs()
        .into_iter()
        .map(|d| (d.clone(), super::super::BlobSource::Bytes("{}".into())))
        .collect();
    Target {
        image: Arc::new(PushImage::new(Vec::new(), m, blobs)),
        dest: Reference::parse(dest).unwrap(),
    }
}

#[tokio::test]
async fn nothing_to_push() {
    let (summary, errors) = pusher().push(Vec::new()).await;
    assert!(errors.is_empty());
    assert_eq!((summary.tags.len(), summary.blobs.len()), (0, 0));
}

/// A registry nobody listens on: each of its targets fails to connect (a network
/// failure, named by registry), nothing is written, no blob is reported.
#[tokio::test]
async fn unreachable_registry_fails_its_targets() {
    let (summary, errors) = pusher()
        .push(vec![target("127.0.0.1:1/a:v1"), target("127.0.0.1:1/b:v1")])
        .await;
    assert_eq!(errors.len(), 2, "{errors:?}");
    for e in &errors {
        assert!(matches!(e, PushError::Connect { registry, .. } if registry == "127.0.0.1:1"));
        assert_eq!(e.kind(), werf_push_spec::ErrorKind::Network, "{e}");
    }
    assert_eq!((summary.tags.len(), summary.blobs.len()), (0, 0));
}
