//! HTTP/1.1 bodies: read one whole (by `Content-Length`, chunked, or to the end of the
//! stream; bounded by [`MAX_BODY`]), read the first bytes of one (to cut a connection
//! mid-body), and copy one at a paced rate ([`Pace`]).

use std::io::{self, BufRead, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use super::head::{bad, content_length, header};

/// The most bytes of a body the kit holds in memory (test blobs are a few MiB; a larger
/// body is an error, never a silent truncation).
pub const MAX_BODY: u64 = 512 << 20;
/// Bytes moved per read or write while copying or pacing.
pub const STEP: usize = 16 << 10;

/// Holds a transfer to `rate` bytes per second from its start (none: as fast as it goes).
pub struct Pace {
    rate: Option<u64>,
    started: Instant,
}

impl Pace {
    pub fn new(rate: Option<u64>) -> Pace {
        Pace {
            rate,
            started: Instant::now(),
        }
    }

    /// Sleeps until `done` bytes are due at the rate.
    pub fn wait(&self, done: u64) {
        let Some(rate) = self.rate else { return };
        let due = Duration::from_secs_f64(done as f64 / rate as f64);
        if let Some(d) = due.checked_sub(self.started.elapsed()) {
            thread::sleep(d);
        }
    }
}

/// Reads the first `upto` of the `len` bytes of a body (all of them when `upto == len`),
/// paced to `rate` bytes per second.
pub fn read_body(r: &mut impl Read, len: u64, upto: u64, rate: Option<u64>) -> io::Result<Vec<u8>> {
    if upto > MAX_BODY {
        return Err(bad(format!("body of {upto} bytes is over {MAX_BODY}")));
    }
    let mut out = Vec::with_capacity(upto as usize);
    copy_paced(r, &mut out, len, upto, rate)?;
    Ok(out)
}

/// Copies the first `upto` of the `len` bytes of a body from `r` to `w` in [`STEP`]s,
/// paced to `rate` bytes per second; returns the bytes copied.
pub fn copy_paced(
    r: &mut impl Read,
    w: &mut impl Write,
    len: u64,
    upto: u64,
    rate: Option<u64>,
) -> io::Result<u64> {
    let pace = Pace::new(rate);
    let mut buf = vec![0u8; STEP];
    let mut done = 0u64;
    while done < upto {
        let want = buf.len().min((upto - done) as usize);
        let n = r.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("body ended at {done} of {len}"),
            ));
        }
        w.write_all(&buf[..n])?;
        done += n as u64;
        pace.wait(done);
    }
    Ok(done)
}

/// The whole body of a response with headers `h`: chunked, by `Content-Length`, or to the
/// end of the stream.
pub fn read_response_body(r: &mut impl BufRead, h: &[(String, String)]) -> io::Result<Vec<u8>> {
    let chunked =
        header(h, "transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(r);
    }
    let mut out = Vec::new();
    match content_length(h) {
        Some(n) => read_body(r, n, n, None),
        None => {
            Read::take(&mut *r, MAX_BODY + 1).read_to_end(&mut out)?;
            if out.len() as u64 > MAX_BODY {
                return Err(bad(format!("body over {MAX_BODY} bytes")));
            }
            Ok(out)
        }
    }
}

/// A chunked body, decoded (chunk extensions and trailers ignored).
pub fn read_chunked(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let mut line = Vec::new();
        Read::take(&mut *r, 1024).read_until(b'\n', &mut line)?;
        let line = String::from_utf8_lossy(&line);
        let hex = line.trim().split(';').next().unwrap_or("");
        let size =
            u64::from_str_radix(hex, 16).map_err(|_| bad(format!("bad chunk size {hex:?}")))?;
        if out.len() as u64 + size > MAX_BODY {
            return Err(bad(format!("chunked body over {MAX_BODY} bytes")));
        }
        if size == 0 {
            skip_trailers(r)?;
            return Ok(out);
        }
        let start = out.len();
        out.resize(start + size as usize, 0);
        r.read_exact(&mut out[start..])?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf)?;
    }
}

/// Reads the trailer lines after the last chunk, up to the empty line.
fn skip_trailers(r: &mut impl BufRead) -> io::Result<()> {
    loop {
        let mut line = Vec::new();
        if Read::take(&mut *r, 8 << 10).read_until(b'\n', &mut line)? == 0
            || line.trim_ascii().is_empty()
        {
            return Ok(());
        }
    }
}
