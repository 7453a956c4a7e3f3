//! The server side of one HTTP/1.1 exchange: a client connection whose request head has
//! been read; its body is read whole, cut short or paced, and the answer written with
//! `Connection: close` (one exchange per connection: the tests count connections and
//! requests one for one). Raw writes stay possible for answers that must be malformed or
//! byte-exact on purpose, and the connection can be dropped at any point.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use super::body::read_body;
use super::head::{head_text, reason, Head, Headers};

/// A client connection and the head of its request.
pub struct Exchange {
    pub head: Head,
    /// When the head arrived.
    pub arrived: Instant,
    reader: BufReader<TcpStream>,
    client: TcpStream,
}

impl Exchange {
    /// Reads the request head from `client`, waiting at most `timeout` for each read;
    /// `None` when the client closed without sending one.
    pub fn read(client: TcpStream, timeout: Duration) -> io::Result<Option<Exchange>> {
        client.set_read_timeout(Some(timeout))?;
        let mut reader = BufReader::new(client.try_clone()?);
        let Some(head) = Head::read(&mut reader)? else {
            return Ok(None);
        };
        Ok(Some(Exchange {
            head,
            arrived: Instant::now(),
            reader,
            client,
        }))
    }

    /// `Content-Length` of the request (0 when absent).
    pub fn len(&self) -> u64 {
        self.head.content_length()
    }

    /// The first `upto` bytes of the request body, read at most `rate` bytes per second.
    pub fn read_body(&mut self, upto: u64, rate: Option<u64>) -> io::Result<Vec<u8>> {
        let len = self.len();
        read_body(&mut self.reader, len, upto, rate)
    }

    /// The request body as a stream (the bytes after the head; the caller reads
    /// [`Exchange::len`] of them).
    pub fn body(&mut self) -> &mut impl Read {
        &mut self.reader
    }

    /// Answers `status` with `headers` and `body`; `Content-Length` is the body's unless
    /// `keep_length` (the answer to a `HEAD`: the length of what a `GET` would get).
    /// `Connection` and `Transfer-Encoding` from `headers` are dropped.
    pub fn respond(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        keep_length: bool,
    ) -> io::Result<()> {
        let mut h: Headers = headers
            .iter()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                k != "connection"
                    && k != "transfer-encoding"
                    && (keep_length || k != "content-length")
            })
            .cloned()
            .collect();
        if !keep_length {
            h.push(("Content-Length".into(), body.len().to_string()));
        }
        self.write_head(status, &h)?;
        self.write_raw(body)?;
        self.end()
    }

    /// Writes a status line and `headers`, then `Connection: close` (the body is the
    /// caller's, written with [`Exchange::write_raw`]).
    pub fn write_head(&mut self, status: u16, headers: &[(String, String)]) -> io::Result<()> {
        let mut h = headers.to_vec();
        h.push(("Connection".into(), "close".into()));
        let line = format!("HTTP/1.1 {status} {}", reason(status));
        self.write_raw(head_text(&line, &h).as_bytes())
    }

    /// Writes `bytes` as they are.
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.client.write_all(bytes)
    }

    /// Ends the answer: flushes and closes the way to the client (the client reads to
    /// the end).
    pub fn end(&mut self) -> io::Result<()> {
        self.client.flush()?;
        let _ = self.client.shutdown(Shutdown::Write);
        Ok(())
    }

    /// Drops the connection both ways, whatever was sent.
    pub fn hang_up(&mut self) {
        let _ = self.client.flush();
        let _ = self.client.shutdown(Shutdown::Both);
    }

    /// The client connection (for reads that wait for the client to go away).
    pub fn client(&mut self) -> &mut TcpStream {
        &mut self.client
    }
}
