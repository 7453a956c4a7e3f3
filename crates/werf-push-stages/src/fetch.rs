//! Fetching blobs for `stages pull`: a small blob (config) into memory, verified; a layer
//! streamed into the stages storage through a `BlobWriter`, resumed with `Range` after a
//! cut, verified, renamed into place. Knows nothing of tags, stage selection or the CLI.

use std::io::Write;
use std::path::Path;

use bytes::Bytes;

use super::error::StoreError;
use werf_push_layout::{BlobWriter, LayoutError};
use werf_push_registry::{Registry, RegistryError};
use werf_push_spec::Descriptor;

/// A config blob, fetched into memory and verified (`Registry::get_small_blob`).
pub(crate) async fn small_blob(
    reg: &Registry,
    repo: &str,
    d: &Descriptor,
) -> Result<Bytes, RegistryError> {
    reg.get_small_blob(repo, d, werf_push_layout::MAX_MANIFEST)
        .await
}

/// Fetches layer `d` into the storage at `root`: resumed from the bytes already written
/// after a cut, verified, renamed into place. Resumptions are retries of the download
/// drawn from the run's budget (`RetryBudget::retry`: `--retries`, `--retry-max-time`).
/// Returns the number of resumptions.
pub(crate) async fn download(
    reg: &Registry,
    repo: &str,
    d: &Descriptor,
    root: &Path,
) -> Result<u32, StoreError> {
    let writer = tokio::sync::Mutex::new(BlobWriter::create_like(root, &d.digest)?);
    // One GET from the bytes written so far; the whole blob, or why not.
    let once = || async {
        let mut w = writer.lock().await;
        match fetch_into(reg, repo, d, &mut w).await {
            Ok(()) if w.len() == d.size => Ok(()),
            Ok(()) => Err(FetchError::Registry(RegistryError::Protocol {
                op: format!("GET blob {} from {repo}", d.digest),
                detail: format!("the answer ended after {} of {} bytes", w.len(), d.size),
            })),
            Err(e) => Err(e),
        }
    };
    let mut resumed = 0;
    let outcome = reg
        .transport()
        .budget()
        .retry(
            once,
            // A cut (or short) answer is resumed; what the storage refused is final.
            |result, _| match result {
                Err(FetchError::Registry(e))
                    if e.is_retryable() || matches!(e, RegistryError::Protocol { .. }) =>
                {
                    Some(e.retry_after())
                }
                _ => None,
            },
            |result, retrier, wait| {
                resumed = retrier.attempt();
                if let Err(FetchError::Registry(e)) = result {
                    let at = writer.try_lock().map(|w| w.len()).unwrap_or(0);
                    werf_push_transport::RetryNotice {
                        what: &format!("download of blob {} from byte {at}", d.digest.short()),
                        reason: &e.brief(),
                        wait,
                        attempt: retrier.attempt(),
                        max: retrier.max(),
                    }
                    .log(false);
                }
            },
        )
        .await;
    match outcome {
        Ok(()) => {}
        Err(FetchError::Store(e)) => return Err(e),
        Err(FetchError::Registry(e)) => return Err(download_failed(e)),
    }
    let w = writer.into_inner();
    w.finish(Some((&d.digest, d.size))).map_err(|e| match e {
        LayoutError::DigestMismatch { digest, actual, .. } => StoreError::PulledCorrupt {
            repo: repo.to_string(),
            digest,
            actual,
        },
        e => e.into(),
    })?;
    Ok(resumed)
}

/// A download given up. The error names the request already (`GET blob <digest> from
/// <repo>: ...`, or `GET <url>: ...` for a transport failure): the context does not say
/// it again.
fn download_failed(source: RegistryError) -> StoreError {
    StoreError::Registry {
        context: "stages pull".to_string(),
        source,
    }
}

enum FetchError {
    Registry(RegistryError),
    Store(StoreError),
}

/// One GET of `d` from the bytes `w` holds; a registry that ignores `Range` restarts it.
async fn fetch_into(
    reg: &Registry,
    repo: &str,
    d: &Descriptor,
    w: &mut BlobWriter,
) -> Result<(), FetchError> {
    let mut dl = reg
        .get_blob(repo, &d.digest, w.len())
        .await
        .map_err(FetchError::Registry)?;
    if dl.start != w.len() {
        w.reset().map_err(|e| FetchError::Store(e.into()))?;
    }
    while let Some(chunk) = dl.chunk().await.map_err(FetchError::Registry)? {
        if w.len() + chunk.len() as u64 > d.size {
            return Err(FetchError::Store(StoreError::PulledTooLong {
                repo: repo.to_string(),
                digest: d.digest.clone(),
                size: d.size,
            }));
        }
        // A full disk travels inside the io::Error as the layout's own failure, naming the
        // file once.
        w.write_all(&chunk)
            .map_err(|e| FetchError::Store(StoreError::io(w.tmp_path())(e)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use werf_push_spec::Digest;
    use werf_push_transport::TransportError;

    /// Regression: a download error said the request twice ("GET ... GET blob ...").
    #[test]
    fn download_error_says_the_request_once() {
        let digest = Digest::sha256_of(b"layer");
        let op = format!("GET blob {digest} from app");
        let cases = [
            RegistryError::Protocol {
                op: op.clone(),
                detail: "the answer ended after 1 of 5 bytes".into(),
            },
            RegistryError::Status {
                op: op.clone(),
                action: werf_push_registry::Action::GetBlob,
                status: 500,
                body: Default::default(),
                retry_after: None,
            },
            RegistryError::Transport(TransportError::Request {
                method: "GET".into(),
                url: format!("https://r.io/v2/app/blobs/{digest}"),
                detail: "connection reset by peer".into(),
            }),
        ];
        for e in cases {
            let text = werf_push_spec::text::error_chain(&download_failed(e));
            assert_eq!(text.matches("GET").count(), 1, "{text}");
            assert_eq!(text.matches(&digest.to_string()).count(), 1, "{text}");
        }
    }
}
