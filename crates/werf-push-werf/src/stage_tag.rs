//! A stage as it travels through the registry (its `image-stage-<signature>` tag): the
//! form `publish --with-stages` writes ([`tagged`]; the names' wire form, written by
//! `stages::format::stage_annotations` and read back by `stages::format::identify`, is
//! there, in one place): the stage as stored when its bytes already name its `index.json`
//! image and stage; otherwise its
//! manifests as OCI (Docker schema 2 media types mapped to their OCI equals; same config
//! and layer blobs, so the same image ID) with the two annotations on the root. The bytes
//! are deterministic (compact JSON of the parsed manifest), so the form of a tagged stage
//! is itself (`tagged(tagged(s)) == tagged(s)`). Final images are written from this form,
//! so the runner that built a stage and one that pulled its tag publish the same digests.
//! Knows nothing of registries, tag lists or the CLI.

use bytes::Bytes;
use serde_json::Value;

use super::error::WerfError;
use super::image::{bad, json, spec};
use werf_push_layout::{Image, Layout};
use werf_push_spec::{media_type as mt, Manifest, ManifestKind};
use werf_push_stages::format::{annotate, identify, stage_annotations, LABEL_IMAGE, LABEL_STAGE};
use werf_push_stages::{Stage, StoreError};

/// Docker schema 2 media types and their OCI equals (same bytes, other name).
const TO_OCI: [(&str, &str); 6] = [
    (mt::DOCKER_MANIFEST, mt::OCI_MANIFEST),
    (mt::DOCKER_LIST, mt::OCI_INDEX),
    (mt::DOCKER_CONFIG, mt::OCI_CONFIG),
    (mt::DOCKER_LAYER_GZIP, mt::OCI_LAYER_GZIP),
    (
        "application/vnd.docker.image.rootfs.diff.tar",
        mt::OCI_LAYER_TAR,
    ),
    (
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    ),
];

/// The OCI media type for `m`: itself when it is not a Docker one, `None` for a Docker type
/// with no OCI equal.
fn oci_type(m: &str) -> Option<&str> {
    match TO_OCI.iter().find(|(docker, _)| *docker == m) {
        Some((_, oci)) => Some(oci),
        None if m.starts_with("application/vnd.docker.") => None,
        None => Some(m),
    }
}

/// The stage `s` of `layout` as `publish --with-stages` tags it (children first, the root
/// last; the blobs are the stored stage's).
pub(crate) fn tagged(layout: &Layout, s: &Stage) -> Result<Image, WerfError> {
    let image = layout.image(&s.descriptor)?;
    let want = (s.image.annotation().to_string(), s.stage.clone());
    if says(layout, &image)?.as_ref() == Some(&want) {
        return Ok(image);
    }
    let names = stage_annotations(&want.0, &want.1);
    named(image, &names).map_err(|e| {
        WerfError::Stages(StoreError::Rule {
            path: layout.root().join("index.json"),
            entry: s.signature.clone(),
            rule: format!("cannot be tagged with its image and stage names: {e}"),
        })
    })
}

/// `image` as OCI with `names` annotated on its root.
fn named(image: Image, names: &[(&str, &str)]) -> Result<Image, WerfError> {
    let root = &image.root;
    let mut manifests = Vec::new();
    let new_root = match &root.kind() {
        ManifestKind::Image { .. } => to_oci(root, names)?,
        ManifestKind::Index {
            manifests: children,
        } => {
            let mut doc = json(root.bytes(), root)?;
            for (i, child) in children.iter().enumerate() {
                let m = child_of(&image, root, child)?;
                let new = to_oci(m, &[])?;
                let entry = doc
                    .get_mut("manifests")
                    .and_then(|v| v.get_mut(i))
                    .filter(|v| v.is_object())
                    .ok_or_else(|| bad(root, "an entry of 'manifests' is not an object"))?;
                entry["mediaType"] = Value::from(mt::OCI_MANIFEST);
                entry["digest"] = Value::from(new.digest().to_string());
                entry["size"] = Value::from(new.bytes().len());
                if !manifests
                    .iter()
                    .any(|m: &Manifest| m.digest() == new.digest())
                {
                    manifests.push(new);
                }
            }
            doc["mediaType"] = Value::from(mt::OCI_INDEX);
            write(root, doc, names, mt::OCI_INDEX)?
        }
    };
    Ok(Image::new(manifests, new_root, image.blobs))
}

/// What the stored stage's own bytes name.
fn says(layout: &Layout, image: &Image) -> Result<Option<(String, String)>, WerfError> {
    let root = &image.root;
    let first = match &root.kind() {
        ManifestKind::Image { .. } => root,
        ManifestKind::Index { manifests } => match manifests.first() {
            Some(child) => child_of(image, root, child)?,
            None => return Ok(None),
        },
    };
    let config = match &first.kind() {
        ManifestKind::Image { config, .. } => {
            serde_json::from_slice(&layout.read_blob(config)?).unwrap_or(Value::Null)
        }
        ManifestKind::Index { .. } => Value::Null,
    };
    Ok(identify(&json(root.bytes(), root)?, &config))
}

/// The image manifest `child` of index `root`.
fn child_of<'a>(
    image: &'a Image,
    root: &Manifest,
    child: &werf_push_spec::Descriptor,
) -> Result<&'a Manifest, WerfError> {
    let m = image
        .manifests
        .iter()
        .find(|m| *m.digest() == child.digest)
        .ok_or_else(|| bad(root, "child manifest missing"))?;
    match m.kind() {
        ManifestKind::Image { .. } => Ok(m),
        ManifestKind::Index { .. } => Err(bad(root, "nested indexes are not supported in a stage")),
    }
}

/// Image manifest `m` as OCI with `annotations` added; `m` itself when nothing changes.
fn to_oci(m: &Manifest, annotations: &[(&str, &str)]) -> Result<Manifest, WerfError> {
    if m.media_type() == mt::OCI_MANIFEST && annotations.is_empty() {
        return Ok(m.clone());
    }
    let mut doc = json(m.bytes(), m)?;
    let mut descriptors: Vec<&mut Value> = Vec::new();
    let (config, layers) = doc_parts(&mut doc).ok_or_else(|| bad(m, "no config or layers"))?;
    descriptors.push(config);
    descriptors.extend(layers.iter_mut());
    for d in descriptors {
        let from = d.get("mediaType").and_then(Value::as_str).unwrap_or("");
        let to = oci_type(from).ok_or_else(|| {
            bad(
                m,
                &format!(
                    "media type '{from}' has no OCI equal; rebuild the stage as an OCI image, \
                     or give its config the labels {LABEL_IMAGE} and {LABEL_STAGE}"
                ),
            )
        })?;
        let to = Value::from(to);
        d.as_object_mut()
            .ok_or_else(|| bad(m, "a descriptor is not a JSON object"))?
            .insert("mediaType".into(), to);
    }
    doc["mediaType"] = Value::from(mt::OCI_MANIFEST);
    write(m, doc, annotations, mt::OCI_MANIFEST)
}

/// The config and layer descriptors of an image manifest document.
fn doc_parts(doc: &mut Value) -> Option<(&mut Value, &mut Vec<Value>)> {
    let obj = doc.as_object_mut()?;
    let mut config = None;
    let mut layers = None;
    for (k, v) in obj.iter_mut() {
        match k.as_str() {
            "config" if v.is_object() => config = Some(v),
            "layers" => layers = v.as_array_mut(),
            _ => {}
        }
    }
    Some((config?, layers?))
}

/// `doc` with `annotations` set, as compact JSON bytes, parsed as `media_type`.
fn write(
    from: &Manifest,
    mut doc: Value,
    annotations: &[(&str, &str)],
    media_type: &str,
) -> Result<Manifest, WerfError> {
    if !annotations.is_empty() {
        annotate(&mut doc, annotations).map_err(|e| bad(from, &e))?;
    }
    let bytes = serde_json::to_vec(&doc).map_err(|e| bad(from, &e.to_string()))?;
    Manifest::parse(Bytes::from(bytes), Some(media_type)).map_err(|e| spec(from, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use werf_push_spec::Digest;

    #[test]
    fn oci_type_table() {
        let cases = [
            (mt::DOCKER_MANIFEST, Some(mt::OCI_MANIFEST)),
            (mt::DOCKER_LIST, Some(mt::OCI_INDEX)),
            (mt::DOCKER_CONFIG, Some(mt::OCI_CONFIG)),
            (mt::DOCKER_LAYER_GZIP, Some(mt::OCI_LAYER_GZIP)),
            (
                "application/vnd.docker.image.rootfs.diff.tar",
                Some(mt::OCI_LAYER_TAR),
            ),
            (mt::OCI_LAYER_GZIP, Some(mt::OCI_LAYER_GZIP)),
            (
                "application/vnd.oci.image.layer.v1.tar+zstd",
                Some("application/vnd.oci.image.layer.v1.tar+zstd"),
            ),
            ("application/vnd.docker.plugin.v1+json", None),
        ];
        for (from, want) in cases {
            assert_eq!(oci_type(from), want, "{from}");
        }
    }

    #[test]
    fn identify_table() {
        let ann = r#"{"annotations":{"io.werf.image":"a","io.werf.stage":"from"}}"#;
        let lbl = r#"{"config":{"Labels":{"io.werf.image":"b","io.werf.stage":"setup"}}}"#;
        // (root, config, want): annotations win over labels, name by name.
        let cases = [
            (ann, "{}", Some(("a", "from"))),
            ("{}", lbl, Some(("b", "setup"))),
            (ann, lbl, Some(("a", "from"))),
            (
                r#"{"annotations":{"io.werf.image":""}}"#,
                lbl,
                Some(("", "setup")),
            ),
            (r#"{"annotations":{"io.werf.stage":"install"}}"#, "{}", None),
            ("{}", "{}", None),
            ("[]", "null", None),
        ];
        for (root, config, want) in cases {
            let got = identify(
                &serde_json::from_str(root).unwrap(),
                &serde_json::from_str(config).unwrap(),
            );
            let want = want.map(|(i, s)| (i.to_string(), s.to_string()));
            assert_eq!(got, want, "{root} {config}");
        }
    }

    /// A descriptor with its keys sorted, as `to_oci` writes them.
    fn desc(media_type: &str, c: char) -> String {
        format!(
            r#"{{"digest":"sha256:{}","mediaType":"{media_type}","size":3}}"#,
            c.to_string().repeat(64)
        )
    }

    #[test]
    fn to_oci_table() {
        let names = stage_annotations("app", "from");
        let docker = format!(
            "{{\n  \"schemaVersion\": 2, \"mediaType\": \"{}\", \"config\": {},\n  \"layers\": [{}]\n}}\n",
            mt::DOCKER_MANIFEST,
            desc(mt::DOCKER_CONFIG, 'a'),
            desc(mt::DOCKER_LAYER_GZIP, 'b')
        );
        let oci = format!(
            r#"{{"schemaVersion":2,"config":{},"layers":[{}],"annotations":{{"x":"y"}}}}"#,
            desc(mt::OCI_CONFIG, 'a'),
            desc(mt::OCI_LAYER_GZIP, 'b')
        );
        let plugin = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{},"layers":[]}}"#,
            mt::DOCKER_MANIFEST,
            desc("application/vnd.docker.plugin.v1+json", 'a')
        );
        let want_docker = format!(
            r#"{{"annotations":{{"io.werf.image":"app","io.werf.stage":"from"}},"config":{},"layers":[{}],"mediaType":"{}","schemaVersion":2}}"#,
            desc(mt::OCI_CONFIG, 'a'),
            desc(mt::OCI_LAYER_GZIP, 'b'),
            mt::OCI_MANIFEST
        );
        let want_oci = format!(
            r#"{{"annotations":{{"io.werf.image":"app","io.werf.stage":"from","x":"y"}},"config":{},"layers":[{}],"mediaType":"{}","schemaVersion":2}}"#,
            desc(mt::OCI_CONFIG, 'a'),
            desc(mt::OCI_LAYER_GZIP, 'b'),
            mt::OCI_MANIFEST
        );
        // (input, annotations, Ok(output bytes) or Err(part of the message))
        type Case<'a> = (String, &'a [(&'a str, &'a str)], Result<String, &'a str>);
        let cases: Vec<Case> = vec![
            (docker.clone(), &names, Ok(want_docker.clone())),
            (oci.clone(), &names, Ok(want_oci)),
            (oci.clone(), &[], Ok(oci.clone())),
            (want_docker.clone(), &names, Ok(want_docker)),
            (plugin, &names, Err("has no OCI equal")),
        ];
        for (input, ann, want) in cases {
            let m = Manifest::parse(Bytes::from(input.clone()), None).unwrap();
            match (to_oci(&m, ann), want) {
                (Ok(got), Ok(want)) => {
                    assert_eq!(String::from_utf8_lossy(got.bytes()), want, "{input}");
                    assert_eq!(*got.digest(), Digest::sha256_of(want.as_bytes()));
                    assert_eq!(got.media_type(), mt::OCI_MANIFEST);
                }
                (Err(e), Err(part)) => assert!(e.to_string().contains(part), "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_docker_list_becomes_an_oci_index_named_on_its_root() {
        let child = |c: char| {
            let text = format!(
                r#"{{"schemaVersion":2,"mediaType":"{}","config":{},"layers":[{}]}}"#,
                mt::DOCKER_MANIFEST,
                desc(mt::DOCKER_CONFIG, c),
                desc(mt::DOCKER_LAYER_GZIP, 'f')
            );
            Manifest::parse(Bytes::from(text), None).unwrap()
        };
        let (amd, arm) = (child('a'), child('b'));
        let entry = |m: &Manifest, arch: &str| {
            format!(
                r#"{{"mediaType":"{}","digest":"{}","size":{},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
                mt::DOCKER_MANIFEST,
                m.digest(),
                m.bytes().len()
            )
        };
        let list = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{},{}]}}"#,
            mt::DOCKER_LIST,
            entry(&amd, "amd64"),
            entry(&arm, "arm64")
        );
        let root = Manifest::parse(Bytes::from(list), None).unwrap();
        let image = Image::new(vec![amd.clone(), arm.clone()], root, Vec::new());
        let names = stage_annotations("", "dockerfile");
        let got = named(image, &names).unwrap();
        assert_eq!(got.manifests.len(), 3);
        assert_eq!(got.root.media_type(), mt::OCI_INDEX);
        let doc: Value = serde_json::from_slice(got.root.bytes()).unwrap();
        assert_eq!(doc["annotations"]["io.werf.image"], "");
        assert_eq!(doc["annotations"]["io.werf.stage"], "dockerfile");
        for (i, (old, arch)) in [(&amd, "amd64"), (&arm, "arm64")].into_iter().enumerate() {
            let new = &got.manifests[i];
            assert_eq!(new.media_type(), mt::OCI_MANIFEST);
            assert_eq!(doc["manifests"][i]["digest"], new.digest().to_string());
            assert_eq!(doc["manifests"][i]["mediaType"], mt::OCI_MANIFEST);
            assert_eq!(doc["manifests"][i]["platform"]["architecture"], arch);
            // Same config and layer blobs, OCI media types.
            assert_eq!(
                new.blobs().iter().map(|d| &d.digest).collect::<Vec<_>>(),
                old.blobs().iter().map(|d| &d.digest).collect::<Vec<_>>()
            );
            assert_eq!(new.blobs()[0].media_type, mt::OCI_CONFIG);
            assert_eq!(new.blobs()[1].media_type, mt::OCI_LAYER_GZIP);
        }
        // The named form names itself: named again, the same bytes.
        let again = named(got.clone(), &names).unwrap();
        assert_eq!(again.root.bytes(), got.root.bytes());
    }
}
