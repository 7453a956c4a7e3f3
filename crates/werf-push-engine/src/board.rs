//! Where blobs are, as the run learns it: each (registry, repository, digest) a transfer
//! will settle is waiting, arrived or failed. A manifest waits on the blobs it references
//! and goes as soon as they are all there, while other blobs still move: publish is one
//! pipeline, not phases. Knows nothing of how blobs move or what a manifest is.

use std::collections::HashMap;

use tokio::sync::watch;

use werf_push_spec::Digest;

/// (registry, repository, digest).
pub(crate) type RepoDigest = (String, String, Digest);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Arrived,
    Failed,
}

/// Built with every key a transfer will settle; a key it does not hold has failed.
pub(crate) struct Board(HashMap<RepoDigest, watch::Sender<State>>);

impl Board {
    pub(crate) fn new(keys: impl IntoIterator<Item = RepoDigest>) -> Board {
        Board(
            keys.into_iter()
                .map(|k| (k, watch::Sender::new(State::Waiting)))
                .collect(),
        )
    }

    /// The blob is in the repository (`true`) or will not be (`false`).
    pub(crate) fn settle(&self, key: &RepoDigest, arrived: bool) {
        if let Some(tx) = self.0.get(key) {
            tx.send_replace(if arrived {
                State::Arrived
            } else {
                State::Failed
            });
        }
    }

    /// Waits until the blob is settled: whether it arrived.
    pub(crate) async fn arrived(&self, key: &RepoDigest) -> bool {
        let Some(tx) = self.0.get(key) else {
            return false;
        };
        let mut rx = tx.subscribe();
        let settled = rx.wait_for(|s| *s != State::Waiting).await;
        matches!(settled.as_deref(), Ok(State::Arrived))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: &str) -> RepoDigest {
        ("r".into(), "a".into(), Digest::sha256_of(n.as_bytes()))
    }

    #[tokio::test]
    async fn waits_until_settled() {
        // (settle as, whether the waiter sees it arrived)
        for (arrived, want) in [(true, true), (false, false)] {
            let board = std::sync::Arc::new(Board::new([key("x")]));
            let b = board.clone();
            let waiter = tokio::spawn(async move { b.arrived(&key("x")).await });
            tokio::task::yield_now().await;
            assert!(!waiter.is_finished(), "waits while the transfer runs");
            board.settle(&key("x"), arrived);
            assert_eq!(waiter.await.unwrap(), want);
            // Settled before the wait: answered at once.
            assert_eq!(board.arrived(&key("x")).await, want);
        }
        assert!(!Board::new([]).arrived(&key("y")).await, "unknown key");
    }
}
