//! Connections opened ahead of the requests that will need them, so that those requests do
//! not wait for TCP and TLS handshakes on a real path. Failures are ignored: the requests
//! that follow open their own connections and say what went wrong. Knows nothing of the
//! registry API beyond `GET /v2/`, nor of auth (an answer of 401 opens the connection just
//! as well).

use std::time::Duration;

use super::clients::{Clients, BULK_BODY};
use super::{BodyReader, Limit, Timeouts};

/// Opens the existence checks' connection to `host` over HTTPS (a `GET /v2/`, its answer
/// unread), in the background while the scheme probe opens the other client's. Over HTTP/2
/// all requests share one connection, but a burst of requests sent before a client has one
/// open each start their own (hyper learns the protocol from the handshake): 130 TLS
/// handshakes for 200 blob checks at 40 ms. Nothing to do with `--http1` (connections per
/// request anyway) or when TLS fails (the probe says why).
pub(crate) async fn checks_connection(clients: &Clients, host: &str, timeout: Duration) {
    let Ok(url) = url::Url::parse(&format!("https://{host}/v2/")) else {
        return;
    };
    let _ = tokio::time::timeout(timeout, clients.pick(false, 0, &url).get(url).send()).await;
}

/// Opens up to `n` of the HTTP/1.1 connections that carry upload bodies to `base` (each a
/// `GET /v2/`, its answer read to the end so that the connection returns to the pool),
/// while the checks and `POST`s before the uploads go over HTTP/2: an upload then finds
/// its connection open instead of spending a TCP and a TLS handshake (two round trips)
/// after its `POST`. Only over HTTPS: over plain HTTP, bodies share the small requests'
/// connections (`Clients::pick`).
pub(crate) async fn upload_connections(
    clients: &Clients,
    base: &url::Url,
    n: usize,
    timeouts: &Timeouts,
) {
    if base.scheme() != "https" {
        return;
    }
    let Ok(url) = base.join("/v2/") else { return };
    let client = clients.pick(true, BULK_BODY, &url);
    let opens = (0..n).map(|_| async {
        let open = async {
            if let Ok(resp) = client.get(url.clone()).send().await {
                // A small answer; at most the first 64 KiB is read.
                let _ = BodyReader::new(resp, "GET", timeouts)
                    .collect(Limit::ERROR_BODY)
                    .await;
            }
        };
        let _ = tokio::time::timeout(timeouts.connect, open).await;
    });
    futures_util::future::join_all(opens).await;
}
