//! What to do about registry refusals that no retry cures and that name no credentials
//! problem: answers of particular registries (ECR, Harbor, Zot) recognised by status, code
//! and operation, and refused deletes (disabled, or no delete right), each with its cause
//! and the fix. Pure; the CLI prints them as hints.

use super::{Action, RegistryError};
use werf_push_transport::TransportError;

/// A hint for `e`, when it is one of the refusals known here.
pub fn hint(e: &RegistryError) -> Option<&'static str> {
    match e {
        RegistryError::Status {
            action,
            status,
            body,
            ..
        } => {
            let manifest_put = *action == Action::PutManifest;
            // distribution without `storage.delete.enabled` answers 405 UNSUPPORTED to
            // every DELETE (reproduced by tests/it/cleanup_safety.rs).
            if *action == Action::DeleteManifest {
                return match status {
                    405 => Some(DELETE_DISABLED),
                    401 | 403 => Some(DELETE_DENIED),
                    _ => None,
                };
            }
            let msg = body.message.as_deref().unwrap_or("").to_ascii_lowercase();
            let code = body.code.as_deref();
            // ECR answers 400 TAG_INVALID, Harbor 412 DENIED, to a PUT on an immutable tag
            // (the same digest is never PUT: the up-to-date HEAD skips it).
            if manifest_put
                && (code == Some("TAG_INVALID") || *status == 412 || msg.contains("immutable"))
            {
                return Some(IMMUTABLE);
            }
            // Harbor answers 404 NOT_FOUND to an index that lists one child twice (a
            // database unique constraint), and to one whose children are not there.
            if manifest_put && *status == 404 && code == Some("NOT_FOUND") {
                return Some(INDEX_404);
            }
            // Zot without compat mode refuses Docker media types with 415.
            if manifest_put && *status == 415 {
                return Some(OCI_ONLY);
            }
            None
        }
        // ECR drops the connection of a POST to a repository that does not exist.
        RegistryError::Transport(t) if starts_upload(t) => Some(NO_REPOSITORY),
        _ => None,
    }
}

const DELETE_DISABLED: &str = "the registry does not delete manifests: on distribution (docker-registry) set storage.delete.enabled: true (or REGISTRY_STORAGE_DELETE_ENABLED=true) and restart it; a hosted registry may need its own API or a setting to allow deletion (docs/cleanup.md lists them)";
const DELETE_DENIED: &str = "the account may not delete in that repository: the token needs the scope repository:NAME:delete (Harbor: the project's delete permission; GitLab: a token with write_registry and the Maintainer role; ACR: the delete role); ask for it, or run cleanup with credentials that have it";
const IMMUTABLE: &str = "the tag is immutable in this registry (ECR image tag mutability, Harbor immutability rules) and holds another image: push to a new tag, or have the tag deleted or the rule changed";
const INDEX_404: &str = "the registry refused the manifest with 404: Harbor does so for an index that lists the same manifest twice, or whose manifests are not in the repository: list each child once (rebuild the index) and push again";
const OCI_ONLY: &str = "this registry accepts OCI media types only (Zot without http.compat: [\"docker2s2\"]): convert the image to OCI (`werf-push stages import` and `stages add` write OCI; `skopeo copy --format oci`), or turn the registry's Docker compatibility on";
const NO_REPOSITORY: &str = "the registry closed the connection on the upload start: the repository may not exist (ECR does not create repositories on push): create it (`aws ecr create-repository --repository-name NAME`) and push again";

/// A network failure (no answer) of `POST .../blobs/uploads/` (an upload start or mount).
fn starts_upload(t: &TransportError) -> bool {
    t.kind() == werf_push_spec::ErrorKind::Network
        && t.request().is_some_and(|(method, url)| {
            method == "POST"
                && url::Url::parse(url).is_ok_and(|u| u.path().ends_with("/blobs/uploads/"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorBody;

    fn status(action: Action, status: u16, code: Option<&str>, msg: &str) -> RegistryError {
        RegistryError::Status {
            op: format!("{action:?}"),
            action,
            status,
            body: ErrorBody {
                code: code.map(str::to_string),
                message: Some(msg.into()),
            },
            retry_after: None,
        }
    }

    /// A request that got no answer.
    fn request(method: &str, url: &str) -> RegistryError {
        RegistryError::Transport(TransportError::Request {
            method: method.into(),
            url: url.into(),
            detail: "connection closed before message completed".into(),
        })
    }

    #[test]
    fn hints_table() {
        let cases = [
            (
                status(
                    Action::PutManifest,
                    400,
                    Some("TAG_INVALID"),
                    "tag is immutable",
                ),
                Some(IMMUTABLE),
            ),
            (
                status(
                    Action::PutManifest,
                    412,
                    Some("DENIED"),
                    "configured as immutable",
                ),
                Some(IMMUTABLE),
            ),
            (
                status(Action::PutManifest, 415, Some("MANIFEST_INVALID"), "x"),
                Some(OCI_ONLY),
            ),
            (
                status(Action::PutManifest, 400, Some("DIGEST_INVALID"), "x"),
                None,
            ),
            (status(Action::FinishUpload, 412, None, "x"), None),
            (status(Action::HeadManifest, 415, None, "x"), None),
            (
                status(Action::DeleteManifest, 405, Some("UNSUPPORTED"), "x"),
                Some(DELETE_DISABLED),
            ),
            (
                status(Action::DeleteManifest, 403, Some("DENIED"), "x"),
                Some(DELETE_DENIED),
            ),
            (status(Action::DeleteManifest, 500, None, "x"), None),
            (
                request("POST", "https://r.example/v2/a/blobs/uploads/"),
                Some(NO_REPOSITORY),
            ),
            (
                request(
                    "POST",
                    "https://r.example/v2/a/blobs/uploads/?mount=sha256:1&from=b",
                ),
                Some(NO_REPOSITORY),
            ),
            (
                request("GET", "https://r.example/v2/a/blobs/uploads/"),
                None,
            ),
            (request("POST", "https://r.example/v2/a/manifests/x"), None),
            (
                RegistryError::Transport(TransportError::Config("POST /blobs/uploads/".into())),
                None,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(hint(&e), want, "{e}");
        }
    }
}
