//! Tests of `write.rs`: a storage that breaks a rule readers check is not committed to.
use super::*;
use werf_push_spec::Digest;

fn desc(n: u8) -> Descriptor {
    Descriptor::new(
        werf_push_spec::media_type::OCI_MANIFEST,
        Digest::sha256_of(&[n]),
        1,
    )
}

/// A storage that breaks a rule readers check (as a hostile checkout may hold it) is
/// not committed to: the add fails naming the rule and `index.json` stays as it was.
#[test]
fn a_storage_readers_refuse_is_refused_by_the_writer() {
    let entry = |n: u8, image: &str, stage: &str, sig: &str| {
        let mut v = desc(n).to_json();
        v["annotations"] = serde_json::json!({REF_NAME: sig, ANN_IMAGE: image,
            ANN_STAGE: stage, ANN_SIGNATURE: sig});
        v
    };
    // (entries already in index.json, start of the rule the commit names)
    let cases = [
        (
            vec![entry(1, "a", "from", "aa"), entry(2, "b", "from", "aa")],
            "duplicate signature",
        ),
        (
            vec![entry(1, "a", "from", "aa"), entry(2, "a", "from", "bb")],
            "image 'a' has two 'from' stages",
        ),
        (vec![entry(1, "a", "nope", "aa")], "unknown stage name"),
        (
            vec![serde_json::json!({"mediaType": "x", "size": "one"})],
            "not a descriptor",
        ),
    ];
    for (entries, rule) in cases {
        let dir = tempfile::tempdir().unwrap();
        let index =
            serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": entries}))
                .unwrap();
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        std::fs::write(dir.path().join("index.json"), &index).unwrap();
        let mut w = StoreWriter::open(dir.path()).unwrap();
        let image = ImageName::from_annotation("c").unwrap();
        w.add_stage(&desc(9), &image, "from", "cc").unwrap();
        let e = w.commit().expect_err(rule);
        assert!(e.to_string().contains(rule), "{rule}: {e}");
        assert!(
            std::fs::read(dir.path().join("index.json")).unwrap() == index,
            "{rule}"
        );
    }
}
