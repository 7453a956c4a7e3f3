//! Parallel, deterministic gzip (the pigz scheme): the input is cut into blocks of a fixed
//! size, each block is raw-deflated on a worker thread with the previous block's last
//! 32 KiB as its dictionary and ends with a sync flush (the last one with the final
//! block), and the pieces are written in order behind one gzip header, followed by the
//! CRC-32 (combined from the blocks' CRCs) and the length. The cut points depend only on
//! the input, so the bytes are the same whatever the number of threads; any gzip reader
//! reads them (one gzip member). At most `2 x threads` blocks are in flight, so memory does
//! not grow with the input. Knows nothing of layers, layouts or the CLI.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, FlushCompress, Status};

/// Input bytes per block. Measured on a 104 MB tar of Python's standard library: blocks of
/// 128 KiB to 4 MiB give sizes within 0.1% of each other and of one deflate stream, and
/// the same time within noise; 1 MiB keeps the per-block costs (a fresh compressor, a
/// dictionary, a sync flush) small with 2 blocks per thread in memory.
pub(crate) const BLOCK_SIZE: usize = 1 << 20;
/// What deflate can reach back: the dictionary handed from one block to the next.
const DICT_SIZE: usize = 32 << 10;
/// Gzip header: no name, mtime 0, XFL 0, OS 255 (unknown): the same on every machine.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

type Done = io::Result<(Vec<u8>, crc32fast::Hasher)>;

struct Job {
    data: Vec<u8>,
    dict: Vec<u8>,
    last: bool,
    reply: SyncSender<Done>,
}

/// A gzip stream written by `threads` deflate workers into `inner`.
pub(crate) struct ParGzEncoder<W: Write> {
    inner: Option<W>,
    block: Vec<u8>,
    block_size: usize,
    dict: Vec<u8>,
    jobs: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    pending: VecDeque<Receiver<Done>>,
    max_pending: usize,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> ParGzEncoder<W> {
    /// Writes the gzip header and starts `threads` workers (at least one).
    pub(crate) fn new(inner: W, level: Compression, threads: usize) -> io::Result<Self> {
        Self::with_block_size(inner, level, threads, BLOCK_SIZE)
    }

    fn with_block_size(
        mut inner: W,
        level: Compression,
        threads: usize,
        block_size: usize,
    ) -> io::Result<Self> {
        inner.write_all(&HEADER)?;
        let threads = threads.max(1);
        let (tx, rx) = sync_channel::<Job>(threads);
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..threads)
            .map(|_| {
                let rx = Arc::clone(&rx);
                std::thread::spawn(move || worker(&rx, level))
            })
            .collect();
        Ok(ParGzEncoder {
            inner: Some(inner),
            block: Vec::with_capacity(block_size),
            block_size,
            dict: Vec::new(),
            jobs: Some(tx),
            workers,
            pending: VecDeque::new(),
            max_pending: 2 * threads,
            crc: crc32fast::Hasher::new(),
            len: 0,
        })
    }

    fn inner(&mut self) -> &mut W {
        self.inner.as_mut().expect("open until finished")
    }

    /// Hands the current block to a worker; writes out the oldest blocks while too many
    /// are in flight (all of them after the last).
    fn send(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(&mut self.block, Vec::with_capacity(self.block_size));
        let dict = std::mem::take(&mut self.dict);
        self.len += data.len() as u64;
        if !last {
            self.dict = data[data.len().saturating_sub(DICT_SIZE)..].to_vec();
        }
        let (reply, done) = sync_channel(1);
        let job = Job {
            data,
            dict,
            last,
            reply,
        };
        self.jobs
            .as_ref()
            .expect("open until finished")
            .send(job)
            .map_err(|_| io::Error::other("a gzip worker thread ended"))?;
        self.pending.push_back(done);
        while self.pending.len() > self.max_pending || (last && !self.pending.is_empty()) {
            let (bytes, crc) = self
                .pending
                .pop_front()
                .expect("a block is pending")
                .recv()
                .map_err(|_| io::Error::other("a gzip worker thread ended"))??;
            self.crc.combine(&crc);
            self.inner().write_all(&bytes)?;
        }
        Ok(())
    }

    /// Ends the stream (last block, CRC-32, length) and returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.send(true)?;
        let mut trailer = self.crc.clone().finalize().to_le_bytes().to_vec();
        trailer.extend_from_slice(&(self.len as u32).to_le_bytes()); // ISIZE: length mod 2^32
        self.inner().write_all(&trailer)?;
        self.stop();
        Ok(self.inner.take().expect("open until finished"))
    }

    fn stop(&mut self) {
        self.jobs = None;
        self.pending.clear();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl<W: Write> Drop for ParGzEncoder<W> {
    fn drop(&mut self) {
        self.stop();
    }
}

impl<W: Write> Write for ParGzEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(self.block_size - self.block.len());
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == self.block_size {
            self.send(false)?;
        }
        Ok(n)
    }

    /// Blocks are cut by size only (so the bytes do not depend on flushes): this flushes
    /// what is already compressed, never a partial block.
    fn flush(&mut self) -> io::Result<()> {
        self.inner().flush()
    }
}

fn worker(jobs: &Mutex<Receiver<Job>>, level: Compression) {
    loop {
        let job = match jobs.lock().map(|rx| rx.recv()) {
            Ok(Ok(job)) => job,
            _ => return,
        };
        // A new compressor per block: one reused after `reset` gives bytes that depend
        // on the blocks it compressed before (zlib-rs 0.6; a test catches it), so on
        // which worker got which block.
        let mut c = Compress::new(level, false);
        let out = deflate(&mut c, &job.dict, &job.data, job.last).map(|bytes| {
            let mut crc = crc32fast::Hasher::new();
            crc.update(&job.data);
            (bytes, crc)
        });
        // The encoder may be gone (an error elsewhere): nothing to tell.
        let _ = job.reply.send(out);
    }
}

/// Raw deflate of `data` primed with `dict`: ends with a sync flush, or the final block
/// when `last`.
fn deflate(c: &mut Compress, dict: &[u8], data: &[u8], last: bool) -> io::Result<Vec<u8>> {
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() + data.len() / 8 + 1024);
    let start = c.total_in();
    loop {
        let done = (c.total_in() - start) as usize;
        let status = c
            .compress_vec(&data[done..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = (c.total_in() - start) as usize == data.len();
        let room_left = out.len() < out.capacity();
        match status {
            Status::StreamEnd => return Ok(out),
            _ if !last && all_in && room_left => return Ok(out),
            _ => out.reserve(out.capacity().max(64 << 10)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// Compressible text-like bytes: words picked by a xorshift generator.
    fn text(len: usize, seed: u64) -> Vec<u8> {
        const WORDS: [&str; 12] = [
            "def ", "self", ".path", " = ", "import ", "return ", "\n    ", "None", "(x)", "os.",
            "sys", ": ",
        ];
        let mut s = seed | 1;
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            out.extend_from_slice(WORDS[(s % 12) as usize].as_bytes());
            if s.is_multiple_of(7) {
                out.extend_from_slice(&s.to_le_bytes()[..3]);
            }
        }
        out.truncate(len);
        out
    }

    fn gz(data: &[u8], threads: usize, block: usize) -> Vec<u8> {
        let mut e =
            ParGzEncoder::with_block_size(Vec::new(), Compression::new(6), threads, block).unwrap();
        // Odd write sizes: the cut points must not depend on them.
        for piece in data.chunks(7919) {
            e.write_all(piece).unwrap();
        }
        e.flush().unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn same_bytes_whatever_the_threads_and_any_gzip_reader_reads_them() {
        let cases: [(&str, usize, usize); 7] = [
            ("empty", 0, 64 << 10),
            ("one byte", 1, 64 << 10),
            ("block - 1", (64 << 10) - 1, 64 << 10),
            ("one block exactly", 64 << 10, 64 << 10),
            ("block + 1", (64 << 10) + 1, 64 << 10),
            ("blocks smaller than the dictionary", 100_000, 10_000),
            ("many blocks", 3_500_000, 256 << 10),
        ];
        for (what, len, block) in cases {
            let data = text(len, len as u64 + 1);
            let one = gz(&data, 1, block);
            for threads in [2, 3, 8] {
                assert!(
                    one == gz(&data, threads, block),
                    "{what}: {threads} threads"
                );
            }
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&one[..])
                .read_to_end(&mut back)
                .unwrap();
            assert!(back == data, "{what}: round trip");
            assert_eq!(&one[..10], &HEADER, "{what}");
        }
    }

    /// Real text: this crate's sources, concatenated in name order, `len` bytes.
    fn sources(len: usize) -> Vec<u8> {
        let mut files = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut out = Vec::new();
        while out.len() < len {
            for f in &files {
                out.extend_from_slice(&std::fs::read(f).unwrap());
            }
            out.extend_from_slice(&text(len / 3, out.len() as u64));
        }
        out.truncate(len);
        out
    }

    #[test]
    fn real_text_same_bytes_with_1_and_8_threads() {
        for (len, block) in [(6 << 20, 256 << 10), (6 << 20, BLOCK_SIZE)] {
            let data = sources(len);
            assert!(gz(&data, 1, block) == gz(&data, 8, block), "{len} {block}");
        }
    }

    #[test]
    fn size_close_to_one_deflate_stream() {
        let data = text(6 << 20, 42);
        let mut one = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        one.write_all(&data).unwrap();
        let one = one.finish().unwrap().len() as f64;
        let par = gz(&data, 2, BLOCK_SIZE).len() as f64;
        assert!(par <= one * 1.01, "parallel {par} vs single stream {one}");
    }
}
