//! Every failure of a run is reported, not only the first: a push to three repositories of
//! which a proxy in front of the real registry refuses two manifests ends with exit 1, an
//! `error:` line for each refused reference, `--json`'s `failed` listing each with its
//! error and class, and the third tag written (read back with skopeo).

use crate::support::layouts::{image, Format};
use crate::support::proxy::{Proxy, ProxyConfig, StatusFault};
use crate::support::registry::Registry;
use crate::support::scenario::{oci, push, tmp};
use crate::support::skopeo::Skopeo;

#[test]
fn push_reports_every_failed_reference_and_lists_them_in_json() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    image(&src, &[4096], 21, Format::Oci, None);
    // 400 is no transient answer: no retry, each manifest PUT fails at once.
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            status_faults: vec![
                StatusFault::new(Some("PUT"), "/v2/refused1/manifests/", 400).times(u32::MAX),
                StatusFault::new(Some("PUT"), "/v2/refused2/manifests/", 400).times(u32::MAX),
            ],
            ..Default::default()
        },
    );
    let refs: Vec<String> = ["refused1", "accepted", "refused2"]
        .iter()
        .map(|r| format!("{}/{r}:v1", proxy.host))
        .collect();
    let mut args = vec!["--json", "--progress", "none"];
    let source = oci(&src);
    args.push(&source);
    args.extend(refs.iter().map(String::as_str));
    let out = push(&args);
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());

    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(
        errors.len(),
        2,
        "one error line per refused reference: {errors:?}"
    );
    for repo in ["refused1", "refused2"] {
        assert_eq!(
            errors.iter().filter(|l| l.contains(repo)).count(),
            1,
            "{repo} is not reported once: {errors:?}"
        );
    }
    assert!(!errors.iter().any(|l| l.contains("accepted")), "{errors:?}");

    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("--json on stdout");
    let failed = doc["failed"].as_array().expect("a failed list");
    let mut listed: Vec<&str> = failed
        .iter()
        .map(|f| f["reference"].as_str().expect("a reference"))
        .collect();
    listed.sort();
    assert_eq!(listed, [refs[0].as_str(), refs[2].as_str()], "{failed:?}");
    for f in failed {
        assert_eq!(f["class"], "registry", "{f}");
        assert!(f["error"].as_str().unwrap().contains("400"), "{f}");
    }
    let tags = doc["tags"].as_array().expect("tags");
    assert!(
        tags.iter().any(|t| t["reference"] == refs[1].as_str()),
        "the accepted tag is not in the summary: {tags:?}"
    );
    // The accepted tag is there, read by another client; the refused ones are not.
    let raw = Skopeo::new().inspect_raw(&format!("{}/accepted:v1", reg.host));
    assert!(raw.starts_with(b"{"), "{}", String::from_utf8_lossy(&raw));
    assert!(!reg.tag_exists("refused1", "v1"));
    assert!(!reg.tag_exists("refused2", "v1"));
}
