//! A tiny HTTP/1.1 proxy in front of the real registry for pull faults: one request per
//! connection (it asks the registry for `Connection: close`), answers passed through
//! (bodies byte for byte), except the GETs of one chosen blob: the first is cut after `cut_after`
//! body bytes (the connection is closed mid-body), or every one has a body byte flipped.
//! Or it pages tag lists (`Fault::PageTags`) as distribution 3.x, GHCR and Harbor do
//! (distribution 2.8 ignores `n` and always answers the whole list): `n` tags after `last`,
//! with `Link: <...?n=N&last=X>; rel="next"` while more remain.
//! It records each request line and its `Range` header. It is a [`super::server`] whose
//! heads are read and written by [`super::proxy_http`].

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::proxy_http::{head_text, header, read_head, Headers};
use super::server::Server;

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
    /// Accepting stops when the proxy is dropped.
    _server: Server,
}

impl CutProxy {
    /// Proxies to `upstream` (`127.0.0.1:PORT`), applying `fault` to GETs of `blob`
    /// (`sha256:...`).
    pub fn start(upstream: &str, blob: &str, fault: Fault) -> CutProxy {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let cut_done = AtomicBool::new(false);
        let (up, blob, s) = (upstream.to_string(), blob.to_string(), seen.clone());
        let server = Server::start("127.0.0.1", "the pull-fault proxy", move |conn| {
            let _ = serve(conn, &up, &blob, fault, &s, &cut_done);
        });
        CutProxy {
            host: server.host.clone(),
            seen,
            _server: server,
        }
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

fn serve(
    mut client: TcpStream,
    upstream: &str,
    blob: &str,
    fault: Fault,
    seen: &Mutex<Vec<(String, Option<String>)>>,
    cut_done: &AtomicBool,
) -> std::io::Result<()> {
    let mut from_client = BufReader::new(client.try_clone()?);
    let Some((line, headers)) = read_head(&mut from_client)? else {
        return Ok(());
    };
    let range = header(&headers, "range").map(str::to_string);
    let len: u64 = header(&headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kept: Headers = headers
        .into_iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("connection"))
        .chain([("Connection".to_string(), "close".to_string())])
        .collect();
    let out = head_text(&line, &kept);
    seen.lock().unwrap().push((line.clone(), range));
    let mut body = Vec::new();
    (&mut from_client).take(len).read_to_end(&mut body)?;
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
    let mut up = BufReader::new(up);
    let (status_line, rheaders) =
        read_head(&mut up)?.ok_or(std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
    client.write_all(head_text(&status_line, &rheaders).as_bytes())?;
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
        let n = up.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let data = &mut buf[..n];
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
        client.write_all(data)?;
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
    let mut up = BufReader::new(up);
    read_head(&mut up)?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp)?;
    let v: serde_json::Value = serde_json::from_slice(&resp).unwrap_or_default();
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
