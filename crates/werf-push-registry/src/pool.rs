//! The registries of a run, connected in one place: one [`Registry`] (client, scheme,
//! auth handshake) per registry host, made at its first use and shared by every push,
//! publish and pull of the run, all drawing on the run's one retry budget.

use std::collections::HashMap;
use std::sync::Arc;

use super::Registry;
use werf_push_spec::Reference;
use werf_push_transport::{RetryBudget, Transport, TransportError, TransportOptions};

/// One connection per registry host, made when first asked for.
pub struct Registries {
    opts: TransportOptions,
    budget: Arc<RetryBudget>,
    connected: tokio::sync::Mutex<HashMap<String, Registry>>,
}

impl Registries {
    /// No registry connected yet: each connects with `opts` at its first use, every
    /// request drawing on `budget`.
    pub fn new(opts: TransportOptions, budget: Arc<RetryBudget>) -> Registries {
        Registries {
            opts,
            budget,
            connected: Default::default(),
        }
    }

    /// The registry behind `reference`, connected once per run (the first caller connects,
    /// the others wait for it). A failed connection is not kept: the next caller tries again.
    pub async fn get(&self, reference: &Reference) -> Result<Registry, TransportError> {
        let mut map = self.connected.lock().await;
        if let Some(r) = map.get(&reference.registry) {
            return Ok(r.clone());
        }
        let transport =
            Transport::connect(reference.api_host(), &self.opts, self.budget.clone()).await?;
        let r = Registry::new(transport);
        map.insert(reference.registry.clone(), r.clone());
        Ok(r)
    }
}
