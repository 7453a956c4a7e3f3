//! The words progress shows: a blob's and a tag's result line, and a bar's label (the
//! repository cut to its end).

use werf_push_engine::{BlobRecord, BlobStatus, TagRecord, TagStatus};

use crate::cli::size::human;

/// `blob 0a1b2c3d4e5f    1.0 MiB pushed (app)`, `... mounted from other (app)`.
pub(super) fn blob_line(record: &BlobRecord) -> String {
    let what = match record.status {
        BlobStatus::Pushed => "pushed",
        BlobStatus::Mounted => "mounted",
        BlobStatus::Skipped => "skipped",
        BlobStatus::WouldPush => "would push",
        BlobStatus::WouldMount => "would mount",
    };
    let from = record
        .mounted_from
        .as_deref()
        .map(|f| format!(" from {f}"))
        .unwrap_or_default();
    format!(
        "blob {} {:>10} {what}{from} ({})",
        record.digest.short(),
        human(record.size),
        record.repository
    )
}

/// `tag  REF pushed sha256:0a1b2c3d4e5f`: the digest short, as docker shows image IDs, so
/// that the line fits a terminal.
pub(super) fn tag_line(record: &TagRecord) -> String {
    let what = match record.status {
        TagStatus::Pushed => "pushed",
        TagStatus::UpToDate => "up-to-date",
        TagStatus::WouldPush => "would push",
    };
    format!(
        "tag  {} {what} {}",
        record.reference,
        record.digest.short_id()
    )
}

/// A repository as a bar's label: at most 15 characters, its end kept (`…roject/backend`).
pub(super) fn short_repo(repo: &str) -> String {
    let n = repo.chars().count();
    if n <= 15 {
        repo.to_string()
    } else {
        let tail: String = repo.chars().skip(n - 14).collect();
        format!("…{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::short_repo;

    #[test]
    fn bar_labels_keep_the_end_of_long_repositories() {
        let cases = [
            ("app", "app"),
            ("fifteen-chars-x", "fifteen-chars-x"),
            ("sixteen-chars-xy", "…xteen-chars-xy"),
            ("group/project/backend", "…roject/backend"),
        ];
        for (repo, want) in cases {
            assert_eq!(short_repo(repo), want, "{repo}");
        }
    }
}
