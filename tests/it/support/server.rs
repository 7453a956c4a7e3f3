//! The one TCP server of the test support: binds a free port, serves each connection on a
//! thread of its own with the caller's handler, and stops accepting when dropped (a last
//! connection wakes the accept loop). The WAN link is this server with a handler of its own
//! (it sees bytes only); the HTTP servers (the fault proxy, the pull-fault proxy, the relays,
//! the token issuer) are this server under the HTTP kit, `super::http::serve`.

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

/// A listening server; accepting stops when it is dropped (connections being served end
/// on their own).
pub struct Server {
    pub port: u16,
    /// `ADDR:PORT`, to put in references and URLs.
    pub host: String,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Listens on a free port of `bind` (`127.0.0.1`, or another loopback address) and
    /// calls `handle` with each connection, on a thread of its own. `what` names the server
    /// in the panic when the port cannot be bound.
    pub fn start(
        bind: &str,
        what: &str,
        handle: impl Fn(TcpStream) + Send + Sync + 'static,
    ) -> Server {
        let listener =
            TcpListener::bind((bind, 0)).unwrap_or_else(|e| panic!("bind {what} on {bind}: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("address of {what}: {e}"))
            .port();
        let stop = Arc::new(AtomicBool::new(false));
        let (st, handle) = (stop.clone(), Arc::new(handle));
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let handle = handle.clone();
                thread::spawn(move || handle(conn));
            }
        });
        Server {
            port,
            host: format!("{bind}:{port}"),
            stop,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.host);
    }
}
