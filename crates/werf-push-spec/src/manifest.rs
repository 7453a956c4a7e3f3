//! Manifests and indexes kept as their exact bytes, with the parsed view needed to walk
//! them (config, layers, children). Parsing reads only the fields walked here, with serde
//! (the OCI image spec's field names); the bytes are never re-serialised, so the digest a
//! registry computes is the digest we read.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Deserialize;

use super::media_type as mt;
use super::{Digest, SpecError};

/// What a manifest points to. `#[non_exhaustive]`: the OCI descriptor has more optional
/// fields than this reads today (`urls`, `artifactType`, `data`); build one with
/// [`Descriptor::new`] and set `platform` or `annotations` after it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Descriptor {
    /// The media type of the content pointed to (`mediaType`).
    pub media_type: String,
    /// The digest of the content.
    pub digest: Digest,
    /// The size of the content in bytes.
    pub size: u64,
    /// `os/architecture[/variant]` of an index entry (`linux/arm64/v8`), if it says one.
    pub platform: Option<String>,
    /// The descriptor's annotations (e.g. `org.opencontainers.image.ref.name`).
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor of `size` bytes of `media_type` content with `digest`, no platform and no
    /// annotations.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            platform: None,
            annotations: BTreeMap::new(),
        }
    }

    /// A descriptor from its OCI JSON (an `index.json` entry): `None` when it does not
    /// read as one (a field missing or of the wrong type, a bad digest).
    pub fn from_json(v: &serde_json::Value) -> Option<Descriptor> {
        let d = RawDescriptor::deserialize(v).ok()?;
        convert(d).ok()
    }

    /// The descriptor as OCI JSON (`mediaType`, `digest`, `size`, and `platform`,
    /// `annotations` when set), as manifests and `index.json` hold it.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "mediaType": self.media_type,
            "digest": self.digest.to_string(),
            "size": self.size,
        });
        if let Some(p) = &self.platform {
            let mut parts = p.splitn(3, '/');
            let mut platform = serde_json::json!({
                "os": parts.next().unwrap_or_default(),
                "architecture": parts.next().unwrap_or_default(),
            });
            if let Some(variant) = parts.next() {
                platform["variant"] = serde_json::Value::from(variant);
            }
            v["platform"] = platform;
        }
        if !self.annotations.is_empty() {
            v["annotations"] = serde_json::json!(self.annotations);
        }
        v
    }
}

/// The parsed content of a manifest.
///
/// Exhaustive on purpose: these are the two manifest kinds of the OCI image spec (and of
/// Docker schema 2) that can be pushed and walked; anything else fails to parse.
#[derive(Debug, Clone)]
pub enum ManifestKind {
    /// An image manifest (OCI or Docker schema 2).
    Image {
        /// The image's config blob.
        config: Descriptor,
        /// The image's layer blobs, base layer first.
        layers: Vec<Descriptor>,
    },
    /// An index (OCI index or Docker manifest list).
    Index {
        /// The manifests it lists, in its order.
        manifests: Vec<Descriptor>,
    },
}

/// A manifest: exact bytes, their digest, media type and parsed content. Made only by
/// [`Manifest::parse`], so the digest is always that of the bytes and the content what the
/// bytes say.
#[derive(Debug, Clone)]
pub struct Manifest {
    bytes: Bytes,
    digest: Digest,
    media_type: String,
    kind: ManifestKind,
}

impl Manifest {
    /// The exact bytes, as read or as they will be sent.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The digest of [`Manifest::bytes`].
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The media type: the manifest's `mediaType`, else the one it was found under.
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The parsed content: an image manifest or an index.
    pub fn kind(&self) -> &ManifestKind {
        &self.kind
    }

    /// A new OCI image manifest of `config` and `layers` (compact JSON): the one place a
    /// manifest is built rather than read or rewritten.
    pub fn oci_image(config: &Descriptor, layers: &[Descriptor]) -> Result<Manifest, SpecError> {
        let layers: Vec<serde_json::Value> = layers.iter().map(Descriptor::to_json).collect();
        let doc = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": mt::OCI_MANIFEST,
            "config": config.to_json(),
            "layers": layers,
        });
        let bytes = serde_json::to_vec(&doc).expect("JSON values serialise");
        Manifest::parse(Bytes::from(bytes), Some(mt::OCI_MANIFEST))
    }

    /// Parses `bytes`. `hint` is the media type of the descriptor that pointed here, used
    /// when the manifest itself has no `mediaType` field.
    pub fn parse(bytes: Bytes, hint: Option<&str>) -> Result<Manifest, SpecError> {
        let digest = Digest::sha256_of(&bytes);
        let err = |reason: String| SpecError::Manifest {
            digest: digest.to_string(),
            reason,
        };
        let probe: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| err(format!("not JSON: {e}")))?;
        let obj = probe
            .as_object()
            .ok_or_else(|| err("not a JSON object".into()))?;
        let declared = obj.get("mediaType").and_then(|v| v.as_str());
        let media_type =
            match (declared, hint) {
                (Some(m), _) => m.to_string(),
                (None, Some(h)) if mt::is_manifest(h) => h.to_string(),
                (None, _) if obj.contains_key("manifests") => mt::OCI_INDEX.to_string(),
                (None, _) if obj.contains_key("config") => mt::OCI_MANIFEST.to_string(),
                (None, _) => return Err(err(
                    "neither an image manifest nor an index (no mediaType, config or manifests)"
                        .into(),
                )),
            };
        if obj.get("schemaVersion").and_then(|v| v.as_u64()) != Some(2) {
            return Err(err(
                "schemaVersion is not 2 (schema 1 manifests are not supported)".into(),
            ));
        }
        let kind = if mt::is_index(&media_type) {
            let bad = |e: String| err(format!("bad index: {e}"));
            let index: RawIndex = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
            let manifests = index
                .manifests
                .into_iter()
                .map(|d| convert(d).map_err(bad))
                .collect::<Result<Vec<_>, _>>()?;
            ManifestKind::Index { manifests }
        } else if mt::is_image_manifest(&media_type) {
            let bad = |e: String| err(format!("bad image manifest: {e}"));
            let m: RawImageManifest =
                serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
            ManifestKind::Image {
                config: convert(m.config).map_err(bad)?,
                layers: m
                    .layers
                    .into_iter()
                    .map(|d| convert(d).map_err(bad))
                    .collect::<Result<_, _>>()?,
            }
        } else {
            return Err(err(format!("unsupported media type '{media_type}'")));
        };
        Ok(Manifest {
            bytes,
            digest,
            media_type,
            kind,
        })
    }

    /// Blobs this manifest references directly (config first, then layers); none for an index.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        match &self.kind {
            ManifestKind::Image { config, layers } => {
                std::iter::once(config).chain(layers).collect()
            }
            ManifestKind::Index { .. } => Vec::new(),
        }
    }
}

/// The fields of an OCI descriptor read here (`mediaType`, `digest`, `size` required).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    platform: Option<RawPlatform>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// A descriptor's `platform` (`os` and `architecture` required).
#[derive(Deserialize)]
struct RawPlatform {
    os: String,
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

/// An image manifest's `config` and `layers` (both required).
#[derive(Deserialize)]
struct RawImageManifest {
    config: RawDescriptor,
    layers: Vec<RawDescriptor>,
}

/// An index's `manifests` (required).
#[derive(Deserialize)]
struct RawIndex {
    manifests: Vec<RawDescriptor>,
}

fn convert(d: RawDescriptor) -> Result<Descriptor, String> {
    let digest = Digest::parse(&d.digest).map_err(|e| e.to_string())?;
    let platform = d.platform.map(|p| {
        let mut s = format!("{}/{}", p.os, p.architecture);
        if let Some(v) = p.variant {
            s.push('/');
            s.push_str(&v);
        }
        s
    });
    Ok(Descriptor {
        media_type: d.media_type,
        digest,
        size: d.size,
        platform,
        annotations: d.annotations.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_image_table() {
        let d = |media_type: &str, content: &[u8]| {
            Descriptor::new(media_type, Digest::sha256_of(content), content.len() as u64)
        };
        let config = d(mt::OCI_CONFIG, b"{}");
        let layer = d("application/vnd.oci.image.layer.v1.tar+gzip", b"layer");
        for layers in [
            vec![],
            vec![layer.clone()],
            vec![layer.clone(), layer.clone()],
        ] {
            let m = Manifest::oci_image(&config, &layers).unwrap();
            assert_eq!(m.media_type, mt::OCI_MANIFEST);
            assert_eq!(m.digest, Digest::sha256_of(&m.bytes));
            match m.kind {
                ManifestKind::Image {
                    config: c,
                    layers: l,
                } => {
                    assert_eq!(c.digest, config.digest);
                    assert_eq!(l.len(), layers.len());
                    assert!(l.iter().all(|x| x.digest == layer.digest && x.size == 5));
                }
                ManifestKind::Index { .. } => panic!("an index"),
            }
        }
    }

    fn desc(mt: &str, c: char, size: u64) -> String {
        format!(
            r#"{{"mediaType":"{mt}","digest":"sha256:{}","size":{size}}}"#,
            c.to_string().repeat(64)
        )
    }

    #[test]
    fn parse_table() {
        let oci = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{},"layers":[{},{}]}}"#,
            mt::OCI_MANIFEST,
            desc(mt::OCI_CONFIG, 'a', 10),
            desc(mt::OCI_LAYER_GZIP, 'b', 20),
            desc(mt::OCI_LAYER_GZIP, 'c', 30)
        );
        let no_mt = format!(
            r#"{{"schemaVersion":2,"config":{},"layers":[]}}"#,
            desc(mt::OCI_CONFIG, 'a', 1)
        );
        let docker = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{},"layers":[{}]}}"#,
            mt::DOCKER_MANIFEST,
            desc(mt::DOCKER_CONFIG, 'a', 1),
            desc(mt::DOCKER_LAYER_GZIP, 'b', 2)
        );
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{}]}}"#,
            mt::OCI_INDEX,
            desc(mt::OCI_MANIFEST, 'd', 5)
        );
        // (bytes, Ok((media type, blob count, child count)) or Err(substring))
        type Want = Result<(&'static str, usize, usize), &'static str>;
        let cases: Vec<(String, Want)> = vec![
            (oci, Ok((mt::OCI_MANIFEST, 3, 0))),
            (no_mt, Ok((mt::OCI_MANIFEST, 1, 0))),
            (docker, Ok((mt::DOCKER_MANIFEST, 2, 0))),
            (index, Ok((mt::OCI_INDEX, 0, 1))),
            ("not json".into(), Err("not JSON")),
            ("[1]".into(), Err("not a JSON object")),
            (r#"{"schemaVersion":1,"config":{}}"#.into(), Err("schemaVersion")),
            (r#"{"schemaVersion":2}"#.into(), Err("neither")),
            (r#"{"schemaVersion":2,"mediaType":"text/plain"}"#.into(), Err("unsupported media type")),
            (
                r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"x","digest":"sha256:zz","size":1}]}"#.into(),
                Err("bad index"),
            ),
        ];
        for (text, want) in cases {
            let got = Manifest::parse(Bytes::from(text.clone()), None);
            match (got, want) {
                (Ok(m), Ok((media_type, blobs, children))) => {
                    assert_eq!(m.media_type, media_type, "{text}");
                    assert_eq!(m.blobs().len(), blobs, "{text}");
                    let n = match &m.kind {
                        ManifestKind::Index { manifests } => manifests.len(),
                        _ => 0,
                    };
                    assert_eq!(n, children, "{text}");
                    assert_eq!(m.bytes, text.as_bytes(), "bytes kept exactly");
                }
                (Err(e), Err(sub)) => assert!(e.to_string().contains(sub), "{text}: {e}"),
                (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
            }
        }
    }
}
