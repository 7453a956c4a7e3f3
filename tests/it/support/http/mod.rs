//! The HTTP/1.1 kit of the test servers (the fault proxy, the pull-fault proxy, the relays,
//! the token issuer) and of the tests' own client ([`client`]): [`serve`] accepts
//! connections on a [`Server`] and hands each request to a handler as an [`Exchange`] (head
//! read, body and answer the handler's); [`Upstream`] forwards a request and reads or pipes
//! the [`upstream::Answer`]; [`head`] reads and writes heads (bounded, parsed by
//! `httparse`), [`body`] reads, paces and cuts bodies. One exchange per connection
//! (`Connection: close` both ways), std threads, no async runtime.
//!
//! Not hyper: the servers answer malformed and byte-exact things on purpose, cut a
//! connection at an exact byte of a body, and must see every request and connection one
//! for one; a full HTTP stack normalises exactly what they test. The servers keep only
//! their decisions (which fault, which quirk, which rewrite).

pub mod body;
pub mod client;
pub mod exchange;
pub mod head;
pub mod upstream;

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

pub use exchange::Exchange;
pub use head::{head_text, header, read_head, remove, set, Head, Headers};
pub use upstream::{Piece, Upstream};

use super::server::Server;

/// Go's answer to a TLS handshake on a plain HTTP port (what `docker-registry` sends).
const GO_TLS_ANSWER: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// Listens on a free port of `bind` and calls `handle` with each request (one per
/// connection, on a thread of its own); `timeout` bounds each read from the client. A TLS
/// handshake (a client trying HTTPS first) is answered as Go's HTTP server does and never
/// reaches `handle`. `what` names the server in a panic when the port cannot be bound.
pub fn serve(
    bind: &str,
    what: &str,
    timeout: Duration,
    handle: impl Fn(Exchange) + Send + Sync + 'static,
) -> Server {
    Server::start(bind, what, move |conn| {
        if conn.set_read_timeout(Some(timeout)).is_err() || refused_tls(&conn) {
            return;
        }
        if let Ok(Some(exchange)) = Exchange::read(conn, timeout) {
            handle(exchange);
        }
    })
}

/// Whether the connection opened with a TLS record (or closed at once): then it is
/// answered the way Go answers and closed.
fn refused_tls(conn: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    match conn.peek(&mut first) {
        Ok(1) if first[0] != 0x16 => false,
        Ok(_) => {
            let mut c = conn;
            let _ = c.write_all(GO_TLS_ANSWER);
            let _ = c.shutdown(Shutdown::Both);
            true
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod wire_tests;
