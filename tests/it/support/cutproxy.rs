//! A tiny HTTP/1.1 proxy in front of the real registry for pull faults: one request per
//! connection (it asks the registry for `Connection: close`), answers passed through
//! (bodies byte for byte), except the GETs of one chosen blob: the first is cut after
//! [`Fault::CutAfter`]'s count of body bytes (the connection is closed mid-body), or every
//! one has a body byte flipped ([`Fault::Corrupt`]).
//! Or it pages tag lists (`Fault::PageTags`) as distribution 3.x, GHCR and Harbor do
//! (distribution 2.8 ignores `n` and always answers the whole list): `n` tags after `last`,
//! with `Link: <...?n=N&last=X>; rel="next"` while more remain.
//! It records each request line and its `Range` header. It is built on the test servers'
//! HTTP kit ([`super::http`]); what is its own is which bytes to cut or flip, and the paging.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{head_text, header, serve, Exchange, Piece, Upstream};
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
        let timeout = Duration::from_secs(60);
        let server = serve("127.0.0.1", "the pull-fault proxy", timeout, move |ex| {
            let _ = pass(ex, &up, &blob, fault, &s, &cut_done);
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

/// Passes one request on, then its answer back, with the fault applied.
fn pass(
    mut ex: Exchange,
    upstream: &str,
    blob: &str,
    fault: Fault,
    seen: &Mutex<Vec<Seen>>,
    cut_done: &AtomicBool,
) -> io::Result<()> {
    let (method, target) = (ex.head.method.clone(), ex.head.target.clone());
    let line = format!("{method} {target} HTTP/1.1");
    let range = header(&ex.head.headers, "range").map(str::to_string);
    seen.lock().unwrap().push((line, range));
    let body = ex.read_body(ex.len(), None)?;
    let get = method == "GET";
    if let (Fault::PageTags(n), true) = (fault, get && target.contains("/tags/list")) {
        return page_tags(ex, upstream, n);
    }
    let mut up = Upstream::send(upstream, &method, &target, &ex.head.headers)?;
    up.write_body(&body)?;
    let mut answer = up.answer()?;
    ex.write_raw(head_text(&answer.status_line, &answer.headers).as_bytes())?;
    let targeted = get && target.contains(&format!("/blobs/{blob}"));
    let cut = match fault {
        Fault::CutAfter(n) if targeted && !cut_done.swap(true, Ordering::SeqCst) => Some(n),
        _ => None,
    };
    let flip = match fault {
        Fault::Corrupt(at) if targeted => Some(at),
        _ => None,
    };
    let was_cut = answer.pipe_body(ex.client(), |sent, data| {
        if let Some(at) = flip.filter(|&at| at >= sent && at < sent + data.len()) {
            data[at - sent] ^= 0xff;
        }
        match cut {
            Some(n) if sent + data.len() >= n => Piece::CutAfter(n - sent),
            _ => Piece::Send,
        }
    })?;
    if was_cut {
        ex.hang_up();
        return Ok(());
    }
    ex.end()
}

/// Answers a tag list request with one page of the registry's full list.
fn page_tags(mut ex: Exchange, upstream: &str, n: usize) -> io::Result<()> {
    let path = ex.head.path().to_string();
    let query = ex.head.target.split_once('?').map_or("", |(_, q)| q);
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
    let up = Upstream::send(upstream, "GET", &path, &ex.head.headers)?;
    let resp = up.answer()?.read_body("GET")?;
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
    let body = serde_json::to_vec(&serde_json::json!({"name": v["name"], "tags": page}))?;
    let mut h = vec![("Content-Type".to_string(), "application/json".to_string())];
    if let (true, Some(last)) = (rest.len() > page.len(), page.last()) {
        let next = format!("<{path}?n={n}&last={last}>; rel=\"next\"");
        h.push(("Link".into(), next));
    }
    ex.respond(200, &h, &body, false)
}
