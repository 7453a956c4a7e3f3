//! Fetching blobs for `stages pull`: a small blob (config) into memory, verified; a layer
//! streamed into the stages storage through a `BlobWriter`, resumed with `Range` after a
//! cut, verified, renamed into place. Knows nothing of tags, stage selection or the CLI.

use std::io::Write;
use std::path::Path;

use bytes::Bytes;

use super::error::StoreError;
use crate::layout::{BlobWriter, LayoutError};
use crate::registry::{Registry, RegistryError};
use crate::spec::Descriptor;

/// A config blob, fetched into memory and verified.
pub(crate) async fn small_blob(
    reg: &Registry,
    repo: &str,
    d: &Descriptor,
) -> Result<Bytes, RegistryError> {
    let mut dl = reg.get_blob(repo, &d.digest, 0).await?;
    let mut buf = Vec::with_capacity(d.size as usize);
    while let Some(chunk) = dl.chunk().await? {
        if (buf.len() + chunk.len()) as u64 > d.size {
            break;
        }
        buf.extend_from_slice(&chunk);
    }
    let got = crate::spec::Digest::sha256_of(&buf);
    if got != d.digest {
        return Err(RegistryError::DigestMismatch {
            op: format!("GET blob {} from {repo}", d.digest),
            want: d.digest.clone(),
            got: got.to_string(),
        });
    }
    Ok(Bytes::from(buf))
}

/// Fetches layer `d` into the storage at `root`: resumed from the bytes already written
/// after a cut (at most `resumes` times), verified, renamed into place. Returns the number
/// of resumptions.
pub(crate) async fn download(
    reg: &Registry,
    repo: &str,
    d: &Descriptor,
    root: &Path,
    resumes: u32,
) -> Result<u32, StoreError> {
    let mut w = BlobWriter::create(root)?;
    let mut resumed = 0;
    loop {
        let err = match fetch_into(reg, repo, d, &mut w).await {
            Ok(()) if w.len() == d.size => break,
            Ok(()) => RegistryError::Protocol {
                op: format!("GET blob {} from {repo}", d.digest),
                detail: format!("the answer ended after {} of {} bytes", w.len(), d.size),
            },
            Err(FetchError::Store(e)) => return Err(e),
            Err(FetchError::Registry(e)) => e,
        };
        let retryable = err.is_retryable() || matches!(err, RegistryError::Protocol { .. });
        if !retryable || resumed >= resumes || w.len() > d.size {
            return Err(StoreError::Registry {
                context: format!("downloading blob {} from {repo}", d.digest),
                source: err,
            });
        }
        resumed += 1;
        tracing::info!(
            "blob {}: {err}; resuming at byte {} ({resumed}/{resumes})",
            d.digest.short(),
            w.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100 << resumed.min(6))).await;
    }
    w.finish(Some((&d.digest, d.size))).map_err(|e| match e {
        LayoutError::DigestMismatch { digest, actual, .. } => StoreError::Invalid(format!(
            "blob {digest} downloaded from {repo} has digest {actual}: rejected, nothing \
             was stored (the registry or a proxy corrupted it)"
        )),
        e => e.into(),
    })?;
    Ok(resumed)
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
            return Err(FetchError::Store(StoreError::Invalid(format!(
                "blob {} from {repo} is longer than the {} bytes its descriptor says: rejected",
                d.digest, d.size
            ))));
        }
        w.write_all(&chunk).map_err(|e| {
            FetchError::Store(StoreError::Io {
                path: w.tmp_path().to_path_buf(),
                source: e,
            })
        })?;
    }
    Ok(())
}
