//! Table-driven tests of the kit's wire parsing: heads (bounded, malformed ones refused)
//! and response bodies (by length, chunked with extensions and trailers, to the end; cut
//! short is an error).

use super::body::read_response_body;
use super::head::{read_head, MAX_HEAD};

/// (what, raw head, first line and header names, or a word of the error)
type HeadRow = (
    &'static str,
    Vec<u8>,
    Result<(&'static str, Vec<&'static str>), &'static str>,
);

#[test]
fn heads_are_read_bounded_and_malformed_ones_refused() {
    let mut huge = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
    huge.extend(vec![b'a'; MAX_HEAD]);
    huge.extend(b"\r\n\r\n");
    let rows: Vec<HeadRow> = vec![
        (
            "request",
            b"GET /v2/ HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\nBODY".to_vec(),
            Ok(("GET /v2/ HTTP/1.1", vec!["Host", "Accept"])),
        ),
        (
            "status line, bare LF",
            b"HTTP/1.1 204 No Content\nRange: 0-1\n\n".to_vec(),
            Ok(("HTTP/1.1 204 No Content", vec!["Range"])),
        ),
        (
            "no headers",
            b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
            Ok(("HTTP/1.1 200 OK", vec![])),
        ),
        ("over the bound", huge, Err("over")),
        (
            "cut short",
            b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec(),
            Err("cut short"),
        ),
        (
            "header without colon",
            b"GET / HTTP/1.1\r\nHost a\r\n\r\n".to_vec(),
            Err("bad header"),
        ),
    ];
    for (what, raw, want) in rows {
        let got = read_head(&mut raw.as_slice());
        match (got, want) {
            (Ok(Some((first, h))), Ok((want_first, want_names))) => {
                let names: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
                assert_eq!((first.as_str(), names), (want_first, want_names), "{what}");
            }
            (Err(e), Err(word)) => assert!(e.to_string().contains(word), "{what}: {e}"),
            (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
        }
    }
    assert!(read_head(&mut &b""[..]).unwrap().is_none(), "end of stream");
}

/// (what, headers, raw body on the wire, body read or a word of the error)
type BodyRow = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [u8],
    Result<&'static [u8], &'static str>,
);

#[test]
fn response_bodies_are_read_by_length_chunked_or_to_the_end() {
    let rows: [BodyRow; 6] = [
        (
            "by length",
            &[("Content-Length", "3")],
            b"abcdef",
            Ok(b"abc"),
        ),
        ("to the end", &[], b"abcdef", Ok(b"abcdef")),
        (
            "chunked, extension and trailer",
            &[("Transfer-Encoding", "chunked")],
            b"3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\nrest",
            Ok(b"abcde"),
        ),
        (
            "chunked among codings",
            &[("transfer-encoding", "gzip, Chunked")],
            b"1\r\nz\r\n0\r\n\r\n",
            Ok(b"z"),
        ),
        (
            "cut short",
            &[("Content-Length", "9")],
            b"abc",
            Err("ended at 3 of 9"),
        ),
        (
            "bad chunk size",
            &[("Transfer-Encoding", "chunked")],
            b"zz\r\n",
            Err("bad chunk size"),
        ),
    ];
    for (what, headers, raw, want) in rows {
        let h: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match (read_response_body(&mut &raw[..], &h), want) {
            (Ok(body), Ok(want)) => assert_eq!(body, want, "{what}"),
            (Err(e), Err(word)) => assert!(e.to_string().contains(word), "{what}: {e}"),
            (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
        }
    }
}
