//! Run-once per key: concurrent callers for the same key share one run and its result. The
//! manifest phase (`manifests.rs`) keys child manifests by (registry, repository, digest),
//! so an index child shared by several images is checked and written once (blobs need no
//! flights: they are grouped per (registry, digest) by `plan.rs` and each group runs once).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

pub(crate) struct Flights<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Flights<K, V> {
    pub(crate) fn new() -> Self {
        Flights {
            cells: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `f` once for `key`; every caller gets its result.
    pub(crate) async fn run<F, Fut>(&self, key: K, f: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = V>,
    {
        let cell = self.cell(&key);
        cell.get_or_init(f).await.clone()
    }

    fn cell(&self, key: &K) -> Arc<OnceCell<V>> {
        self.cells
            .lock()
            .expect("flight map lock")
            .entry(key.clone())
            .or_default()
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn runs_once_per_key() {
        let flights: Arc<Flights<&str, usize>> = Arc::new(Flights::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for key in ["a", "a", "b", "a", "b"] {
            let (f, r) = (flights.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                f.run(key, || async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    r.fetch_add(1, Ordering::SeqCst)
                })
                .await
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(results[0], results[1]);
        assert_eq!(results[0], results[3]);
        assert_eq!(results[2], results[4]);
    }
}
