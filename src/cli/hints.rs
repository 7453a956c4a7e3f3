//! What to do about a failure: hints chosen from the typed errors of its chain (the class,
//! the registry's answer and the request it answered, the transport failure, the layout's
//! or the stages storage's error), never from the rendered message.

use std::error::Error;

use werf_push_engine::PushError;
use werf_push_layout::LayoutError;
use werf_push_registry::RegistryError;
use werf_push_spec::ErrorKind;
use werf_push_stages::StoreError;
use werf_push_transport::TransportError;
use werf_push_werf::error::WerfError;

use super::flags::UsageError;

/// The registry's answer `cause` is: an error of its own, or one shared between the
/// references it failed (the push engine keeps it in an `Arc`), or one boxed (cleanup's
/// first failed delete).
fn registry<'a>(cause: &'a (dyn Error + 'static)) -> Option<&'a RegistryError> {
    cause
        .downcast_ref::<RegistryError>()
        .or_else(|| {
            cause
                .downcast_ref::<std::sync::Arc<RegistryError>>()
                .map(|a| a.as_ref())
        })
        .or_else(|| {
            cause
                .downcast_ref::<Box<RegistryError>>()
                .map(|b| b.as_ref())
        })
}

/// Hints for the most specific error of the chain that has some.
pub fn hints(e: &anyhow::Error) -> Vec<String> {
    if let Some(h) = e
        .chain()
        .find_map(|c| c.downcast_ref::<StoreError>().and_then(pull_hints))
    {
        return h;
    }
    for cause in e.chain() {
        let bad_source = matches!(
            cause.downcast_ref::<werf_push_api::Error>(),
            Some(werf_push_api::Error::Source { .. })
        );
        if bad_source || cause.downcast_ref::<UsageError>().is_some() {
            return vec!["see the command's --help".into()];
        }
        // Known refusals of particular registries first (ECR's dropped upload start is a
        // network failure too).
        if let Some(h) = registry(cause).and_then(werf_push_registry::hint) {
            return vec![h.into()];
        }
        if let Some(h) = cause
            .downcast_ref::<TransportError>()
            .and_then(transport_hints)
        {
            return h;
        }
        // The registry's own 401/403 answer; one found by the transport's handshake is the
        // next link of the chain, with the transport's hints.
        if let Some(RegistryError::Status { status, .. }) = registry(cause) {
            match *status {
                401 => return vec!["log in to the registry (docker login) or pass --registry-username/--registry-password".into()],
                403 => return vec!["the account lacks the rights on that repository: ask for them, or use a repository the account may write".into()],
                _ => {}
            }
        }
        if let Some(l) = cause.downcast_ref::<LayoutError>() {
            return layout_hints(l);
        }
        if let Some(h) = cause.downcast_ref::<WerfError>().and_then(werf_hints) {
            return h;
        }
        if let Some(s) = cause.downcast_ref::<StoreError>() {
            match s {
                StoreError::Arg { .. }
                | StoreError::Source { .. }
                | StoreError::Refused { .. }
                | StoreError::NotStorage { .. } => {
                    return vec!["see `werf-push stages --help`".into()]
                }
                StoreError::Rule { .. } => return vec![FIX_ENTRY.into()],
                StoreError::NotRestored { .. } => return vec!["the stages that could be pulled are stored; `stages pull --json` lists what was not (unidentified, not_restored)".into()],
                _ => {}
            }
        }
        if let Some(PushError::Corrupt { .. }) = cause.downcast_ref::<PushError>() {
            return vec!["the layout is corrupted: rebuild or re-import the image".into()];
        }
        if cause.downcast_ref::<werf_push_spec::SpecError>().is_some() {
            return vec!["references look like registry.example.com/group/app:tag".into()];
        }
    }
    Vec::new()
}

/// What `stages pull` stored after failing: nothing when it stopped.
const PULL_STOPPED: &str =
    "nothing was stored: the stages storage is as it was; run `werf-push stages pull` again";

/// Hints of the failures of `stages pull`: what was stored, and what to do.
fn pull_hints(s: &StoreError) -> Option<Vec<String>> {
    match s {
        StoreError::PullRepo { .. } => Some(vec![
            "give --repo as REGISTRY/REPOSITORY, as to `publish --repo` (see `werf-push stages pull --help`)".into(),
        ]),
        StoreError::PullFailed { .. } => Some(vec![
            "the other stages are stored; `werf-push stages pull --json` lists the failed ones and why (failed); run it again once the registry (or a proxy before it) serves them whole".into(),
        ]),
        StoreError::Registry { source, .. } if source.kind() == ErrorKind::Network => {
            let first = match source {
                werf_push_registry::RegistryError::Transport(TransportError::Request { .. }) => {
                    Some("the connection failed after retries: check the network to the registry".to_string())
                }
                werf_push_registry::RegistryError::Transport(t) => {
                    transport_hints(t).and_then(|h| h.into_iter().next())
                }
                _ => None,
            };
            Some(first.into_iter().chain([PULL_STOPPED.to_string()]).collect())
        }
        _ => None,
    }
}

/// Hints for a missing directory: where the stages storage is looked for.
const MISSING_HINT: &str = "run werf-push in the project directory or pass --dir (or --stages-dir); for push, check the oci:DIR path";

/// Where the stages storage is looked for, when that is what is missing.
const MISSING_STAGES_HINT: &str =
    "run werf-push in the project directory or pass --dir (or --stages-dir)";

/// How stages get into a stages storage that is not there yet.
const STAGES_FROM: &str = "stages get there with `werf-push stages import` (an image from umoci, buildah, skopeo, kaniko or `docker save`), `werf-push stages add` (a directory as a layer), or `werf-push stages pull --repo REPO` (the stages cache a `publish --with-stages` pushed)";

fn layout_hints(l: &LayoutError) -> Vec<String> {
    let h = match l {
        LayoutError::NoSpace { .. } => "free space on that filesystem (see `df -h`) and run again: the stages storage was left as it was",
        LayoutError::Missing { path } if path.ends_with(".werf/stages") => {
            return vec![MISSING_STAGES_HINT.into(), STAGES_FROM.into()]
        }
        LayoutError::Missing { .. } => MISSING_HINT,
        LayoutError::Ambiguous { .. } | LayoutError::NoSuchImage { .. } => "name one of the images listed: oci:DIR:REF (its org.opencontainers.image.ref.name) or oci:DIR@DIGEST",
        LayoutError::Locked { .. } => "another werf-push writes this stages storage: wait for it and run again",
        _ => "the layout is broken: rebuild or re-export the image",
    };
    vec![h.into()]
}

/// The hint for a stages storage entry that breaks a rule of the format.
const FIX_ENTRY: &str = "fix or remove that entry of the stages storage, or build the stage again";

fn werf_hints(w: &WerfError) -> Option<Vec<String>> {
    Some(match w {
        WerfError::InvalidTag { tag, .. } => vec![format!(
            "slug it: `werf-push slugify -f docker-tag '{}'` gives {}",
            werf_push_spec::text::printable(tag),
            werf_push_werf::slug::slugify_docker_tag(tag)
        )],
        WerfError::NotBuilt { .. } => {
            vec!["`werf-push stages list` shows the images the stages storage holds".into()]
        }
        WerfError::Reference { .. } => vec![FIX_ENTRY.into()],
        // The wrapped error is the next link of the chain, with hints of its own.
        WerfError::Stages(_) | WerfError::Layout(_) => return None,
        WerfError::ConfigTemplate { .. } | WerfError::Config { .. } | WerfError::Io { .. } => {
            Vec::new()
        }
        _ => vec!["see `werf-push publish --help`".into()],
    })
}

fn transport_hints(t: &TransportError) -> Option<Vec<String>> {
    let login = |host: &str| {
        format!("log in with `docker login {host}` (or `podman login {host}`), or pass --registry-username with --registry-password-stdin")
    };
    let one = |s: &str| Some(vec![s.to_string()]);
    match t {
        TransportError::NoCredentials { host, places } => Some(vec![
            login(host),
            format!("credentials were looked for in {places}"),
        ]),
        TransportError::Unauthorized { host, credentials, .. } => Some(vec![
            format!("the credentials from {credentials} are wrong or expired"),
            login(host),
        ]),
        TransportError::Denied { .. } => one("the account lacks push rights on that repository: ask for write access to it, or push to a repository the account may write"),
        TransportError::Credentials(_) => one("fix or remove the credential helper or file named above (see docs/auth.md)"),
        TransportError::ForeignUnauthorized { .. } => one("the registry sent the request to another host (its storage or a CDN) that wants credentials of its own: the registry's storage must accept what it redirects to without credentials (signed URLs)"),
        TransportError::TokenRealm { .. } => one("the registry's token service failed: check that it is reachable and try again"),
        TransportError::PlainHttp { .. } => one("pass --insecure-registry for a plain-HTTP registry"),
        TransportError::Tls {
            problem: werf_push_transport::TlsProblem::WrongName,
            ..
        } => one("connect with a host name the certificate has (listed above), or have the certificate reissued for this one; --skip-tls-verify-registry accepts it as it is"),
        TransportError::Tls { .. } => one("pass --ca-file FILE (or put the CA in /etc/docker/certs.d/<host:port>/ca.crt) for a private CA, or --skip-tls-verify-registry"),
        TransportError::NotRegistry { .. } => one("check the host and port: they should be those of the registry's API (where GET /v2/ answers 200 or 401), not of a web page or another service"),
        TransportError::NotHttp { .. } => one("drop --insecure-registry: the registry speaks HTTPS"),
        TransportError::Config(_) => Some(Vec::new()),
        TransportError::Timeout { .. } => one("the registry, or the network to it, stopped answering (retried up to --retries times); over a slow link raise --connect-timeout, --response-timeout or --stall-timeout"),
        TransportError::Unreachable { .. } => one("check the registry address and that it is running"),
        TransportError::Request { .. } => one("the connection failed after retries: check the network to the registry and run again (what was pushed stays)"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::exit::kind;
    use super::*;
    use werf_push_transport::TransportError;
    use werf_push_werf::cleanup::CleanupError;

    /// The class and the first hint come from the typed errors of the chain, however they
    /// nest: a lock conflict is `Locked` whether the layout, the storage, werf or cleanup
    /// wraps it.
    #[test]
    fn class_and_hint_through_wrappers() {
        let locked = || LayoutError::Locked {
            path: "/s/LOCK".into(),
            holder: "pid 1".into(),
        };
        let wait = "another werf-push writes this stages storage: wait for it and run again";
        let digest: werf_push_spec::Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        let digest2 = digest.clone();
        let cases: Vec<(anyhow::Error, ErrorKind, Option<&str>)> = vec![
            (locked().into(), ErrorKind::Locked, Some(wait)),
            (StoreError::Layout(locked()).into(), ErrorKind::Locked, Some(wait)),
            (
                WerfError::Stages(StoreError::Layout(locked())).into(),
                ErrorKind::Locked,
                Some(wait),
            ),
            (
                CleanupError::Werf(WerfError::Layout(locked())).into(),
                ErrorKind::Locked,
                Some(wait),
            ),
            (
                anyhow::Error::from(StoreError::Rule {
                    path: "/s/index.json".into(),
                    entry: "x".into(),
                    rule: "y".into(),
                })
                .context("reading the stages storage"),
                ErrorKind::Layout,
                Some(FIX_ENTRY),
            ),
            (
                WerfError::Stages(StoreError::Rule {
                    path: "/s/index.json".into(),
                    entry: "x".into(),
                    rule: "y".into(),
                })
                .into(),
                ErrorKind::Layout,
                Some(FIX_ENTRY),
            ),
            (
                StoreError::PulledCorrupt {
                    repo: "r".into(),
                    digest: digest.clone(),
                    actual: digest,
                }
                .into(),
                ErrorKind::Integrity,
                None,
            ),
            (
                PushError::Manifest {
                    reference: "r/a:v1".into(),
                    digest: digest2.clone(),
                    source: std::sync::Arc::new(RegistryError::Status {
                        op: "PUT manifest a:v1".into(),
                        action: werf_push_registry::Action::PutManifest,
                        status: 412,
                        body: Default::default(),
                        retry_after: None,
                    }),
                }
                .into(),
                ErrorKind::Registry,
                Some("the tag is immutable in this registry (ECR image tag mutability, Harbor immutability rules) and holds another image: push to a new tag, or have the tag deleted or the rule changed"),
            ),
            (
                CleanupError::Incomplete {
                    failed: 1,
                    planned: 2,
                    reference: "r/a:v1".into(),
                    source: Box::new(RegistryError::Status {
                        op: "DELETE manifest a:v1".into(),
                        action: werf_push_registry::Action::DeleteManifest,
                        status: 405,
                        body: Default::default(),
                        retry_after: None,
                    }),
                }
                .into(),
                ErrorKind::Registry,
                Some("the registry does not delete manifests: on distribution (docker-registry) set storage.delete.enabled: true (or REGISTRY_STORAGE_DELETE_ENABLED=true) and restart it; a hosted registry may need its own API or a setting to allow deletion (docs/cleanup.md lists them)"),
            ),
            (
                PushError::Connect {
                    registry: "r".into(),
                    source: TransportError::Config("x".into()),
                }
                .into(),
                ErrorKind::Usage,
                None,
            ),
        ];
        for (e, want, hint) in cases {
            assert_eq!(kind(&e), Some(want), "{e:#}");
            assert_eq!(hints(&e).first().map(String::as_str), hint, "{e:#}");
        }
    }
}
