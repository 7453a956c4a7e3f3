//! The client side of forwarding: a request sent to an upstream server (`ADDR:PORT`) with
//! `Connection: close`, its body written whole or streamed, and the answer's head read,
//! then its body read whole or piped on to the client byte for byte (with a hook that may
//! change bytes or cut the pipe at an offset).

use std::io::{self, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::body::{copy_paced, read_response_body, STEP};
use super::head::{bad, head_text, read_head, status_of, Headers};

/// How long a read from an upstream may wait.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(120);

/// A request on its way to the upstream: the head is sent, the body is the caller's.
pub struct Upstream {
    stream: TcpStream,
}

impl Upstream {
    /// Connects to `upstream` and sends `method target` with `headers` (any `Connection`
    /// among them replaced by `Connection: close`).
    pub fn send(
        upstream: &str,
        method: &str,
        target: &str,
        headers: &Headers,
    ) -> io::Result<Upstream> {
        let mut stream = TcpStream::connect(upstream)?;
        stream.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
        let mut h: Headers = headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("connection"))
            .cloned()
            .collect();
        h.push(("Connection".into(), "close".into()));
        stream.write_all(head_text(&format!("{method} {target} HTTP/1.1"), &h).as_bytes())?;
        Ok(Upstream { stream })
    }

    /// Writes (part of) the request body.
    pub fn write_body(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Streams `len` body bytes from `from` at most `rate` bytes per second.
    pub fn stream_body(
        &mut self,
        from: &mut impl Read,
        len: u64,
        rate: Option<u64>,
    ) -> io::Result<u64> {
        copy_paced(from, &mut self.stream, len, len, rate)
    }

    /// Reads the head of the answer.
    pub fn answer(self) -> io::Result<Answer> {
        let mut reader = BufReader::new(self.stream);
        let (status_line, headers) = read_head(&mut reader)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"))?;
        let status = status_of(&status_line)
            .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
        Ok(Answer {
            status_line,
            status,
            headers,
            reader,
        })
    }
}

/// What the hook of [`Answer::pipe_body`] does with a piece of the body.
pub enum Piece {
    /// Send it on.
    Send,
    /// Send its first `n` bytes, then drop the connection.
    CutAfter(usize),
}

/// The answer of an upstream: its head read, its body still on the wire.
pub struct Answer {
    pub status_line: String,
    pub status: u16,
    pub headers: Headers,
    reader: BufReader<TcpStream>,
}

impl Answer {
    /// Whether an answer to `method` with this status has no body (`HEAD`, 1xx, 204, 304).
    pub fn bodiless(&self, method: &str) -> bool {
        method == "HEAD" || self.status < 200 || self.status == 204 || self.status == 304
    }

    /// The whole body, decoded (chunked, by length, or to the end); empty when bodiless.
    pub fn read_body(&mut self, method: &str) -> io::Result<Vec<u8>> {
        if self.bodiless(method) {
            return Ok(Vec::new());
        }
        read_response_body(&mut self.reader, &self.headers)
    }

    /// Copies the body's bytes as they arrive (encoding untouched) to `to`, up to the end
    /// of the stream; `hook(offset, piece)` may change a piece or cut the pipe after part
    /// of it. Returns whether the pipe was cut.
    pub fn pipe_body(
        &mut self,
        to: &mut impl Write,
        mut hook: impl FnMut(usize, &mut [u8]) -> Piece,
    ) -> io::Result<bool> {
        let mut buf = vec![0u8; STEP];
        let mut sent = 0usize;
        loop {
            let n = self.reader.read(&mut buf)?;
            if n == 0 {
                return Ok(false);
            }
            let piece = &mut buf[..n];
            match hook(sent, piece) {
                Piece::Send => to.write_all(piece)?,
                Piece::CutAfter(k) => {
                    to.write_all(&piece[..k.min(n)])?;
                    to.flush()?;
                    return Ok(true);
                }
            }
            sent += n;
        }
    }
}
