//! Relabelling an image, done once for `stages import` and for the final images `publish`
//! writes: an image config with labels set (new bytes, new descriptor), an image manifest
//! pointing at that new config, an index pointing at its rewritten children. Pure: bytes
//! in, bytes out, in compact JSON; the caller reads and writes the blobs and gives an error
//! its context (the path or digest of what it rewrote).

use bytes::Bytes;
use serde_json::Value;

use super::format::set_labels;
use werf_push_spec::{Descriptor, Digest};

/// The config `raw` (described by `config`) with `labels` set: its new descriptor (same
/// media type) and bytes.
pub fn relabel_config(
    config: &Descriptor,
    raw: &[u8],
    labels: &[(&str, &str)],
) -> Result<(Descriptor, Bytes), String> {
    let mut cfg: Value =
        serde_json::from_slice(raw).map_err(|e| format!("the image config is not JSON: {e}"))?;
    set_labels(&mut cfg, labels)?;
    let bytes = Bytes::from(serde_json::to_vec(&cfg).expect("JSON values serialise"));
    let mut desc = config.clone();
    desc.digest = Digest::sha256_of(&bytes);
    desc.size = bytes.len() as u64;
    Ok((desc, bytes))
}

/// Image manifest `manifest` pointing at `config` instead of its own config.
pub fn with_config(manifest: &[u8], config: &Descriptor) -> Result<Bytes, String> {
    let mut doc = object(manifest)?;
    let entry = doc
        .get_mut("config")
        .filter(|c| c.is_object())
        .ok_or("the manifest has no config object")?;
    entry["digest"] = Value::from(config.digest.to_string());
    entry["size"] = Value::from(config.size);
    Ok(compact(&doc))
}

/// Index `index` whose `manifests` entries point at `children` (digest, size), in order.
pub fn with_children(index: &[u8], children: &[(Digest, u64)]) -> Result<Bytes, String> {
    let mut doc = object(index)?;
    let entries = doc
        .get_mut("manifests")
        .and_then(Value::as_array_mut)
        .filter(|m| m.len() == children.len())
        .ok_or("the index's manifests do not match its children")?;
    for (entry, (digest, size)) in entries.iter_mut().zip(children) {
        let entry = entry
            .as_object_mut()
            .ok_or("an entry of 'manifests' is not an object")?;
        entry.insert("digest".into(), Value::from(digest.to_string()));
        entry.insert("size".into(), Value::from(*size));
    }
    Ok(compact(&doc))
}

fn object(bytes: &[u8]) -> Result<Value, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if doc.is_object() {
        Ok(doc)
    } else {
        Err("not a JSON object".into())
    }
}

fn compact(doc: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(doc).expect("JSON values serialise"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(digest: &Digest, size: u64) -> Descriptor {
        Descriptor::new(
            "application/vnd.oci.image.config.v1+json",
            digest.clone(),
            size,
        )
    }

    #[test]
    fn relabel_config_table() {
        let old = desc(&Digest::sha256_of(b"old"), 3);
        // (config, labels, the new config's JSON or the error's start)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Result<&'a str, &'a str>);
        let cases: [Case; 4] = [
            (
                "{}",
                &[("a", "1")],
                Ok(r#"{"config":{"Labels":{"a":"1"}}}"#),
            ),
            (
                r#"{"config":{"Labels":{"b":"2"}}}"#,
                &[("a", "1")],
                Ok(r#"{"config":{"Labels":{"a":"1","b":"2"}}}"#),
            ),
            ("nope", &[("a", "1")], Err("the image config is not JSON")),
            (
                "[]",
                &[("a", "1")],
                Err("the image config is not a JSON object"),
            ),
        ];
        for (raw, labels, want) in cases {
            match (relabel_config(&old, raw.as_bytes(), labels), want) {
                (Ok((d, bytes)), Ok(json)) => {
                    assert_eq!(std::str::from_utf8(&bytes).unwrap(), json, "{raw}");
                    assert_eq!(d.digest, Digest::sha256_of(json.as_bytes()), "{raw}");
                    assert_eq!(d.size, json.len() as u64, "{raw}");
                    assert_eq!(d.media_type, old.media_type, "{raw}");
                }
                (Err(e), Err(start)) => assert!(e.starts_with(start), "{raw}: {e}"),
                (got, want) => panic!("{raw}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn rewrites_table() {
        let d = Digest::sha256_of(b"x");
        let cfg = desc(&d, 7);
        let manifest = br#"{"config":{"digest":"sha256:0","size":1,"mediaType":"m"},"layers":[]}"#;
        let got = with_config(manifest, &cfg).unwrap();
        let v: Value = serde_json::from_slice(&got).unwrap();
        assert_eq!(v["config"]["digest"], d.to_string());
        assert_eq!(v["config"]["size"], 7);
        assert_eq!(v["config"]["mediaType"], "m");
        assert!(with_config(br#"{"layers":[]}"#, &cfg).is_err());
        let index = br#"{"manifests":[{"digest":"a","size":1,"platform":{"os":"linux"}}]}"#;
        let got = with_children(index, &[(d.clone(), 9)]).unwrap();
        let v: Value = serde_json::from_slice(&got).unwrap();
        assert_eq!(v["manifests"][0]["digest"], d.to_string());
        assert_eq!(v["manifests"][0]["size"], 9);
        assert_eq!(v["manifests"][0]["platform"]["os"], "linux");
        assert!(with_children(index, &[]).is_err());
        assert!(with_children(br#"{"manifests":[1]}"#, &[(d, 1)]).is_err());
    }
}
