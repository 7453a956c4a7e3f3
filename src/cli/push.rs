//! `werf-push push SRC DEST...`: one image of an OCI layout to one or more references.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use werf_push::layout::Layout;
use werf_push::push::{PushImage, Target};
use werf_push::spec::Reference;

use super::args::{GlobalArgs, PushArgs};
use super::{output, settings};

/// `oci:DIR`, `oci:DIR:REF` or `oci:DIR@DIGEST`.
#[derive(Debug, PartialEq, Eq)]
pub struct OciSource {
    pub dir: PathBuf,
    pub selector: Option<String>,
}

pub fn parse_source(src: &str) -> Result<OciSource> {
    let Some(rest) = src.strip_prefix("oci:") else {
        return Err(settings::UsageError(format!(
            "source '{src}' is not supported: use oci:DIR, oci:DIR:REF or oci:DIR@DIGEST{}",
            if std::path::Path::new(src).is_dir() {
                format!(" (here: oci:{src})")
            } else {
                String::new()
            }
        ))
        .into());
    };
    let (dir, selector) = werf_push::layout::split_selector(rest);
    Ok(OciSource { dir, selector })
}

pub async fn run(a: PushArgs, g: &GlobalArgs) -> Result<i32> {
    let src = parse_source(&a.src)?;
    if src.dir.as_os_str().is_empty() {
        return Err(settings::UsageError(format!("source '{}' names no directory", a.src)).into());
    }
    let dests = a
        .dest
        .iter()
        .map(|d| Reference::parse(d).with_context(|| format!("destination '{d}'")))
        .collect::<Result<Vec<_>>>()?;
    let layout = Layout::open(&src.dir)?;
    let entry = layout.select(src.selector.as_deref())?.clone();
    let image = layout.image(&entry)?;
    let image = Arc::new(PushImage::from_layout(&layout, &image)?);
    if let Some(dest) = dests
        .iter()
        .find(|d| d.digest.as_ref().is_some_and(|d| *d != image.root().digest))
    {
        bail!(
            "destination '{dest}' names a digest, but the image's manifest digest is {}: drop '@...' or name the right image",
            image.root().digest
        );
    }
    let targets = dests
        .into_iter()
        .map(|dest| Target {
            image: image.clone(),
            dest,
        })
        .collect();
    let (pusher, progress) = settings::pusher(&a.upload, &a.registry, a.dry_run, true, g)?;
    let (summary, errors) = pusher.push(targets).await;
    output::finish(&summary, errors, a.json, &progress, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_table() {
        let d = format!("sha256:{}", "a".repeat(64));
        type Want = Option<(&'static str, Option<String>)>;
        let cases: Vec<(String, Want)> = vec![
            ("oci:dir".into(), Some(("dir", None))),
            ("oci:./a/b:v1".into(), Some(("./a/b", Some("v1".into())))),
            (
                "oci:/tmp/x:latest".into(),
                Some(("/tmp/x", Some("latest".into()))),
            ),
            (format!("oci:/tmp/x@{d}"), Some(("/tmp/x", Some(d.clone())))),
            ("oci:dir:".into(), Some(("dir", None))),
            ("docker://nginx".into(), None),
            ("dir".into(), None),
        ];
        for (input, want) in cases {
            match (parse_source(&input), want) {
                (Ok(s), Some((dir, sel))) => {
                    assert_eq!(s.dir, PathBuf::from(dir), "{input}");
                    assert_eq!(s.selector, sel, "{input}");
                }
                (Err(_), None) => {}
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }
}
