//! What a registry request was for, kept typed beside the words of its operation, so that
//! what to do about a failed answer (a hint, a delete refused) is chosen by the request,
//! never by matching the rendered message.

/// The request a registry answered with an error. Grows with each endpoint the crate
/// speaks: a match needs a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// `HEAD .../manifests/<reference>`: does a manifest exist, and its digest.
    HeadManifest,
    /// `GET .../manifests/<reference>`.
    GetManifest,
    /// `PUT .../manifests/<reference>`.
    PutManifest,
    /// `DELETE .../manifests/<reference>` (a tag or a digest).
    DeleteManifest,
    /// `HEAD .../blobs/<digest>`: does a blob exist, and its size.
    HeadBlob,
    /// `GET .../blobs/<digest>`.
    GetBlob,
    /// `POST .../blobs/uploads/`.
    StartUpload,
    /// `POST .../blobs/uploads/?mount=...&from=...`.
    Mount,
    /// `PATCH` of a chunk.
    UploadChunk,
    /// The closing `PUT` of an upload.
    FinishUpload,
    /// `GET` of an upload session: how many bytes the registry holds.
    UploadStatus,
    /// `DELETE` of an upload session.
    CancelUpload,
    /// `GET .../tags/list`, one page.
    ListTags,
}
