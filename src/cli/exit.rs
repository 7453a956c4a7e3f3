//! Exit codes (documented in the README) and the one-line error report with hints. The
//! code comes from the library's class of the error (`kind()`) in one `match`; hints come
//! from what the error says (host, path, tag).

use werf_push_engine::PushError;
use werf_push_layout::LayoutError;
use werf_push_spec::ErrorKind;
use werf_push_stages::StoreError;
use werf_push_transport::TransportError;
use werf_push_werf::{error::WerfError, kind_of, layout_of, registry_of, transport_of};

use super::flags::UsageError;
use super::output;
use super::signal::INTERRUPTED;

pub const SUCCESS: i32 = 0;
/// The registry refused or failed an operation (or another writer holds the storage).
pub const FAILURE: i32 = 1;
/// Bad command line, reference, name or path.
pub const USAGE: i32 = 2;
/// The layout (stages storage) is broken.
pub const BAD_LAYOUT: i32 = 3;
/// The registry cannot be reached or spoken to (network, TLS, scheme, timeouts).
pub const NETWORK: i32 = 4;
/// Authentication or authorisation failed.
pub const AUTH: i32 = 5;
/// A local write failed for want of space (disk or quota full); nothing was changed.
pub const NO_SPACE: i32 = 6;

/// The exit code of a class of failure.
pub fn code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::Usage => USAGE,
        ErrorKind::Layout => BAD_LAYOUT,
        ErrorKind::Network => NETWORK,
        ErrorKind::Auth => AUTH,
        ErrorKind::Registry => FAILURE,
        ErrorKind::Interrupted => INTERRUPTED,
        ErrorKind::NoSpace => NO_SPACE,
    }
}

/// The class of `e`: that of the first error of the library (or usage error of the command
/// line) in its chain; a failure of none of them is a plain failure.
fn kind(e: &anyhow::Error) -> Option<ErrorKind> {
    e.chain().find_map(|c| {
        if c.downcast_ref::<UsageError>().is_some() {
            Some(ErrorKind::Usage)
        } else if let Some(a) = c.downcast_ref::<werf_push_api::Error>() {
            Some(a.kind())
        } else {
            kind_of(c)
        }
    })
}

/// Prints `error: ...` and hints for `e`; returns its exit code.
pub fn report(e: &anyhow::Error) -> i32 {
    let line = auth_first(e).unwrap_or_else(|| werf_push_spec::text::error_chain(e.as_ref()));
    let code = kind(e).map_or(FAILURE, code);
    let hints = hints(e);
    if output::json_lines() {
        output::json_line(serde_json::json!({
            "type": "error", "message": line, "hints": hints, "exit_code": code,
        }));
        return code;
    }
    eprintln!("error: {line}");
    for h in hints {
        eprintln!("hint: {h}");
    }
    code
}

/// An authentication failure leads with what failed (authentication at the registry, from
/// which credentials), then the operation it stopped: `registry H did not accept the
/// credentials from X: ... (while: manifest sha256:... for REF)`, not the other way round.
fn auth_first(e: &anyhow::Error) -> Option<String> {
    let auth = e.chain().filter_map(transport_of).find(|t| {
        matches!(
            t,
            TransportError::NoCredentials { .. }
                | TransportError::Unauthorized { .. }
                | TransportError::Denied { .. }
        )
    })?;
    let text = auth.to_string();
    let whole = werf_push_spec::text::error_chain(e.as_ref());
    let during = whole
        .find(&text)
        .map(|i| whole[..i].trim_end_matches([':', ' ']))
        .filter(|d| !d.is_empty());
    Some(match during {
        Some(d) => format!("{text} (while: {d})"),
        None => text,
    })
}

/// Hints for the most specific error of the chain that has some.
fn hints(e: &anyhow::Error) -> Vec<String> {
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
        if let Some(h) = registry_of(cause).and_then(werf_push_registry::hint) {
            return vec![h.into()];
        }
        if let Some(h) = transport_of(cause).and_then(transport_hints) {
            return h;
        }
        if let Some(status) = registry_of(cause).and_then(|r| r.status()) {
            match status {
                401 => return vec!["log in to the registry (docker login) or pass --registry-username/--registry-password".into()],
                403 => return vec!["the account lacks the rights on that repository: ask for them, or use a repository the account may write".into()],
                _ => {}
            }
        }
        if let Some(l) = layout_of(cause) {
            return layout_hints(l);
        }
        if let Some(w) = cause.downcast_ref::<WerfError>() {
            return werf_hints(w);
        }
        if let Some(s) = cause.downcast_ref::<StoreError>() {
            match s {
                StoreError::Locked(_) => return vec!["another werf-push writes this stages storage: wait for it and run again".into()],
                StoreError::Invalid(_) | StoreError::Source { .. } => {
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

fn werf_hints(w: &WerfError) -> Vec<String> {
    match w {
        WerfError::InvalidTag { tag, .. } => vec![format!(
            "slug it: `werf-push slugify -f docker-tag '{}'` gives {}",
            werf_push_spec::text::printable(tag),
            werf_push_werf::slug::slugify_docker_tag(tag)
        )],
        WerfError::NotBuilt { .. } => {
            vec!["`werf-push stages list` shows the images the stages storage holds".into()]
        }
        WerfError::Stages(_) | WerfError::Reference { .. } => vec![FIX_ENTRY.into()],
        WerfError::Layout(l) => layout_hints(l),
        WerfError::ConfigTemplate { .. } | WerfError::Config { .. } | WerfError::Io { .. } => {
            Vec::new()
        }
        _ => vec!["see `werf-push publish --help`".into()],
    }
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
        TransportError::Tls { detail, .. } if detail.contains("not valid for the name used") => one("connect with a host name the certificate has (listed above), or have the certificate reissued for this one; --skip-tls-verify-registry accepts it as it is"),
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
    use super::*;

    #[test]
    fn one_exit_code_per_class() {
        let cases = [
            (ErrorKind::Usage, 2),
            (ErrorKind::Layout, 3),
            (ErrorKind::Network, 4),
            (ErrorKind::Auth, 5),
            (ErrorKind::Registry, 1),
            (ErrorKind::Interrupted, 130),
            (ErrorKind::NoSpace, 6),
        ];
        for (k, c) in cases {
            assert_eq!(code(k), c, "{k:?}");
        }
    }
}
