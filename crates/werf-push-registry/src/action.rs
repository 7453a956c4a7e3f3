//! What a registry request was for, kept typed beside the words of its operation, so that
//! what to do about a failed answer (a hint, a delete refused) is chosen by the request,
//! never by matching the rendered message.

/// The request a registry answered with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    HeadManifest,
    GetManifest,
    PutManifest,
    DeleteManifest,
    HeadBlob,
    GetBlob,
    /// `POST .../blobs/uploads/`.
    StartUpload,
    /// `POST .../blobs/uploads/?mount=...&from=...`.
    Mount,
    /// `PATCH` of a chunk.
    UploadChunk,
    /// The closing `PUT` of an upload.
    FinishUpload,
    UploadStatus,
    CancelUpload,
    ListTags,
}
