//! A tiny HTTP/1.1 proxy in front of the real registry for pull faults: one request per
//! connection (it asks the registry for `Connection: close`), answers passed through
//! byte for byte, except the GETs of one chosen blob: the first is cut after `cut_after`
//! body bytes (the connection is closed mid-body), or every one has a body byte flipped.
//! Or it pages tag lists (`Fault::PageTags`) as distribution 3.x, GHCR and Harbor do
//! (distribution 2.8 ignores `n` and always answers the whole list): `n` tags after `last`,
//! with `Link: <...?n=N&last=X>; rel="next"` while more remain.
//! It records each request line and its `Range` header.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// The first GET of the blob is cut after this many body bytes.
    CutAfter(usize),
    /// Every GET of the blob has the body byte at this offset flipped.
    Corrupt(usize),
    /// Tag lists are answered in pages of `n` (the request's `n=` when smaller).
    PageTags(usize),
}

/// (request line, Range header) of one request.
pub type Seen = (String, Option<String>);

pub struct CutProxy {
    pub host: String,
    /// (request line, Range header) of every request.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl CutProxy {
    /// Proxies to `upstream` (`127.0.0.1:PORT`), applying `fault` to GETs of `blob`
    /// (`sha256:...`).
    pub fn start(upstream: &str, blob: &str, fault: Fault) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let cut_done = Arc::new(AtomicBool::new(false));
        let (up, blob, s) = (upstream.to_string(), blob.to_string(), seen.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (up, blob, s, cut_done) =
                    (up.clone(), blob.clone(), s.clone(), cut_done.clone());
                thread::spawn(move || {
                    let _ = serve(conn, &up, &blob, fault, &s, &cut_done);
                });
            }
        });
        CutProxy { host, seen }
    }

    /// Requests whose line contains `needle`, with their Range headers.
    pub fn requests(&self, needle: &str) -> Vec<(String, Option<String>)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(l, _)| l.contains(needle))
            .cloned()
            .collect()
    }
}

fn read_head(s: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(i + 4);
            return Ok((buf, rest));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    blob: &str,
    fault: Fault,
    seen: &Mutex<Vec<(String, Option<String>)>>,
    cut_done: &AtomicBool,
) -> std::io::Result<()> {
    let (head, mut body) = read_head(&mut client)?;
    let text = String::from_utf8_lossy(&head).to_string();
    let line = text.lines().next().unwrap_or("").to_string();
    let mut range = None;
    let mut len = 0usize;
    let mut out = String::new();
    for (i, l) in text.split("\r\n").enumerate() {
        if l.is_empty() {
            continue;
        }
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("range:") {
            range = Some(l[6..].trim().to_string());
        }
        if lower.starts_with("content-length:") {
            len = l[15..].trim().parse().unwrap_or(0);
        }
        if i > 0 && lower.starts_with("connection:") {
            continue;
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    seen.lock().unwrap().push((line.clone(), range));
    while body.len() < len {
        let mut chunk = vec![0u8; len - body.len()];
        let n = client.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if let (Fault::PageTags(n), true) = (
        fault,
        line.starts_with("GET ") && line.contains("/tags/list"),
    ) {
        return page_tags(client, upstream, &line, &out, n);
    }
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(out.as_bytes())?;
    up.write_all(&body)?;
    let targeted = line.starts_with("GET ") && line.contains(&format!("/blobs/{blob}"));
    let (rhead, mut rbody) = read_head(&mut up)?;
    client.write_all(&rhead)?;
    let mut sent = 0usize;
    let cut = match fault {
        Fault::CutAfter(n) if targeted && !cut_done.swap(true, Ordering::SeqCst) => Some(n),
        _ => None,
    };
    let flip = match fault {
        Fault::Corrupt(at) if targeted => Some(at),
        _ => None,
    };
    let mut buf = [0u8; 16384];
    loop {
        if rbody.is_empty() {
            let n = up.read(&mut buf)?;
            if n == 0 {
                break;
            }
            rbody.extend_from_slice(&buf[..n]);
        }
        let mut data = std::mem::take(&mut rbody);
        if let Some(at) = flip {
            if at >= sent && at < sent + data.len() {
                data[at - sent] ^= 0xff;
            }
        }
        if let Some(n) = cut {
            if sent + data.len() >= n {
                client.write_all(&data[..n - sent])?;
                client.flush()?;
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
        }
        client.write_all(&data)?;
        sent += data.len();
    }
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}

/// Answers a tag list request with one page of the registry's full list.
fn page_tags(
    mut client: TcpStream,
    upstream: &str,
    line: &str,
    head: &str,
    n: usize,
) -> std::io::Result<()> {
    let target = line.split(' ').nth(1).unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let param = |k: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .map(str::to_string)
    };
    let n = param("n")
        .and_then(|v| v.parse().ok())
        .unwrap_or(n)
        .min(n)
        .max(1);
    let last = param("last");
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(head.replacen(target, path, 1).as_bytes())?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp)?;
    let start = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
    let v: serde_json::Value = serde_json::from_slice(&resp[start..]).unwrap_or_default();
    let mut tags: Vec<String> = v["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    tags.sort();
    let rest: Vec<String> = tags
        .into_iter()
        .filter(|t| last.as_ref().is_none_or(|l| t > l))
        .collect();
    let page: Vec<String> = rest.iter().take(n).cloned().collect();
    let body = serde_json::to_vec(&serde_json::json!({"name": v["name"], "tags": page})).unwrap();
    let mut h = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if rest.len() > page.len() {
        h.push_str(&format!(
            "Link: <{path}?n={n}&last={}>; rel=\"next\"\r\n",
            page.last().unwrap()
        ));
    }
    h.push_str("\r\n");
    client.write_all(h.as_bytes())?;
    client.write_all(&body)?;
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}
