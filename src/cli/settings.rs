//! Flags -> library settings, shared by every command that pushes.

use std::sync::Arc;

use werf_push::push::{PushOptions, UploadStrategy};
use werf_push::transport::{RetryBudget, TransportOptions};

use super::args::{RegistryArgs, Strategy, UploadArgs};

pub fn transport_options(r: &RegistryArgs) -> TransportOptions {
    TransportOptions {
        insecure: r.insecure_registry,
        skip_tls_verify: r.skip_tls_verify_registry,
        ca_file: r.ca_file.clone(),
        ..TransportOptions::default()
    }
}

/// One retry budget for the run: `--retries` per operation, 20 times that in all.
pub fn retry_budget(r: &RegistryArgs) -> Arc<RetryBudget> {
    Arc::new(RetryBudget::new(r.retries, r.retries.saturating_mul(20)))
}

pub fn push_options(u: &UploadArgs, dry_run: bool) -> PushOptions {
    PushOptions {
        jobs: u.jobs as usize,
        strategy: match u.upload_strategy {
            Strategy::Auto => UploadStrategy::Auto,
            Strategy::Monolithic => UploadStrategy::Monolithic,
            Strategy::Chunked => UploadStrategy::Chunked,
        },
        monolithic_max: u.monolithic_max,
        chunk_size: u.chunk_size.max(1),
        dry_run,
    }
}
