//! The [`Client`]: one run's registries (connections, credentials, retry budget) and push
//! settings, and the three things a program does with them: push a layout's image, publish
//! a werf project, pull the stages cache. Built by [`ClientBuilder`]; the library reads
//! no environment variable, so credentials and the known-blob cache directory come from
//! the caller.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use werf_push_auth::CredentialStore;
use werf_push_engine::{NoopReporter, PushOptions, Pusher, Reporter, Summary};
use werf_push_registry::Registries;
use werf_push_stages::pull::{pull, PullReport, PullRequest};
use werf_push_transport::{RetryBudget, TransportOptions, DEFAULT_RETRIES, DEFAULT_RETRY_MAX_TIME};
use werf_push_werf::publish::plan;
use werf_push_werf::report::{self, Report};

use super::{push, Error, Publish};

/// Pushes, publishes and pulls over one set of registry connections.
///
/// Cheap to share: clone the `Arc` it is usually kept in, or call its methods from
/// several tasks at once (they share the connections and the retry budget).
pub struct Client {
    registries: Arc<Registries>,
    options: PushOptions,
    reporter: Arc<dyn Reporter>,
    cancel: CancellationToken,
}

/// Settings of a [`Client`]; every one has a default (anonymous, HTTPS with a plain-HTTP
/// fallback for registries on this machine, no known-blob cache).
pub struct ClientBuilder {
    transport: TransportOptions,
    retries: u32,
    retry_max_time: Duration,
    options: PushOptions,
    reporter: Arc<dyn Reporter>,
    cancel: CancellationToken,
}

/// What [`Client::publish`] did: the push summary and werf's publish report.
#[derive(Debug)]
#[non_exhaustive]
pub struct Published {
    /// Blobs, tags and bytes, as for a push.
    pub summary: Summary,
    /// Each image with its references and digests, as `werf publish` reports them.
    pub report: Report,
}

impl Client {
    /// A builder with the default settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            transport: TransportOptions::default(),
            retries: DEFAULT_RETRIES,
            retry_max_time: Duration::from_secs(DEFAULT_RETRY_MAX_TIME),
            options: PushOptions::default(),
            reporter: Arc::new(NoopReporter),
            cancel: CancellationToken::new(),
        }
    }

    /// Pushes the image of `source` (`oci:DIR`, `oci:DIR:REF` or `oci:DIR@DIGEST`) to
    /// every destination (`REGISTRY/REPOSITORY[:TAG][@DIGEST]`; no tag or digest means
    /// `latest`). Blobs first, manifests once all their blobs are there, the tag last.
    ///
    /// Bad input fails before any request, with its class:
    /// ```
    /// use werf_push_api::{Client, Error, ErrorKind};
    ///
    /// let client = Client::builder().build();
    /// let runtime = tokio::runtime::Runtime::new().unwrap();
    /// let err = runtime
    ///     .block_on(client.push("docker-archive:image.tar", ["localhost:5000/app:v1"]))
    ///     .unwrap_err();
    /// assert!(matches!(err, Error::Source { .. }));
    /// assert_eq!(err.kind(), ErrorKind::Usage);
    /// ```
    pub async fn push<S: AsRef<str>>(
        &self,
        source: &str,
        destinations: impl IntoIterator<Item = S>,
    ) -> Result<Summary, Error> {
        let targets = push::targets(source, destinations)?;
        self.run(targets).await
    }

    /// Publishes the images of a werf project from its stages storage, as `werf publish`.
    pub async fn publish(&self, project: &Publish) -> Result<Published, Error> {
        let plan = plan(&project.request()?)?;
        let summary = self.run(plan.targets).await?;
        let report = report::build(&plan.planned, &summary);
        Ok(Published { summary, report })
    }

    /// Pulls the stages cache (`REPO:image-stage-*` tags) into the stages storage at
    /// `stages_dir` (created when missing). Stages that could not be pulled are listed in
    /// the report; [`PullReport::incomplete`] says whether that fails the pull.
    pub async fn pull_stages(
        &self,
        stages_dir: impl Into<PathBuf>,
        repo: &str,
    ) -> Result<PullReport, Error> {
        let mut req = PullRequest::new(stages_dir, repo);
        req.jobs = self.options.jobs.max(1);
        // Cancelled, the pull is dropped: its writer removes the blobs it placed, the
        // storage's index is untouched.
        tokio::select! {
            r = pull(&req, &self.registries) => Ok(r?),
            () = self.cancel.cancelled() => Err(Error::Interrupted),
        }
    }

    async fn run(&self, targets: Vec<werf_push_engine::Target>) -> Result<Summary, Error> {
        let pusher = Pusher::new(
            self.options.clone(),
            self.registries.clone(),
            self.reporter.clone(),
        )
        .with_cancel(self.cancel.clone());
        let (summary, errors) = pusher.push(targets).await;
        if errors.is_empty() {
            Ok(summary)
        } else {
            Err(Error::Push {
                errors,
                summary: Box::new(summary),
            })
        }
    }
}

impl ClientBuilder {
    /// Where credentials come from, e.g.
    /// `CredentialStore::from_lookup(None, None, |k| std::env::var(k).ok())` for the docker
    /// and podman logins of this user. Default: anonymous.
    pub fn credentials(mut self, credentials: CredentialStore) -> Self {
        self.transport.credentials = credentials;
        self
    }

    /// Allow plain HTTP to every registry (HTTPS is tried first).
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.transport.insecure = insecure;
        self
    }

    /// Every transport setting at once (TLS, timeouts, requests in flight); replaces the
    /// credentials given before.
    pub fn transport(mut self, transport: TransportOptions) -> Self {
        self.transport = transport;
        self
    }

    /// Retries of one operation, and the time after which an operation is not retried.
    pub fn retries(mut self, per_operation: u32, max_time: Duration) -> Self {
        self.retries = per_operation;
        self.retry_max_time = max_time;
        self
    }

    /// Concurrent blob transfers (default 8).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.options.jobs = jobs.max(1);
        self
    }

    /// Plan and report, using read requests only: nothing is written.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.options.dry_run = dry_run;
        self
    }

    /// The known-blob cache's directory: repositories of earlier runs that hold a blob,
    /// tried as mount sources. Default: no cache.
    pub fn known_blobs_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.known_blobs = Some(dir.into());
        self
    }

    /// Every push setting at once (upload strategy, chunk size, registry profile).
    pub fn push_options(mut self, options: PushOptions) -> Self {
        self.options = options;
        self
    }

    /// Receives the plan, each blob's progress, each tag and retry. Default: none.
    pub fn reporter(mut self, reporter: Arc<dyn Reporter>) -> Self {
        self.reporter = reporter;
        self
    }

    /// Cancelling `token` stops the client's runs: transfers stop, open upload sessions
    /// are cancelled, no further manifest is written, a pull leaves the storage as it was.
    pub fn cancel(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// The client. Nothing is connected until the first request.
    pub fn build(self) -> Client {
        let budget = Arc::new(RetryBudget::for_run(self.retries, self.retry_max_time));
        Client {
            registries: Arc::new(Registries::new(self.transport, budget)),
            options: self.options,
            reporter: self.reporter,
            cancel: self.cancel,
        }
    }
}
