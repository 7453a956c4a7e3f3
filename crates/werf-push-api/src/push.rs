//! From a source name (`oci:DIR[:REF|@DIGEST]`) and destination references to push targets:
//! the layout opened and checked, one image chosen, a destination without tag or digest
//! tagged `latest` (as `docker push` does), a destination's digest checked against the
//! image's. The command line's `push` builds its targets here too.

use std::path::Path;
use std::sync::Arc;

use werf_push_engine::{PushImage, Target};
use werf_push_layout::{Layout, Source, Transport};
use werf_push_spec::Reference;

use super::Error;

/// The targets of pushing `source`'s image to each of `destinations`.
pub fn targets<S: AsRef<str>>(
    source: &str,
    destinations: impl IntoIterator<Item = S>,
) -> Result<Vec<Target>, Error> {
    let src = parse_source(source)?;
    let dests = destinations
        .into_iter()
        .map(|d| destination(d.as_ref()))
        .collect::<Result<Vec<_>, Error>>()?;
    let layout = Layout::open(&src.path)?;
    let entry = layout.select(src.selector.as_deref())?.clone();
    let image = layout.image(&entry)?;
    let image = Arc::new(PushImage::from_layout(&layout, &image)?);
    if let Some(dest) = dests.iter().find(|d| {
        d.digest
            .as_ref()
            .is_some_and(|d| *d != *image.root().digest())
    }) {
        return Err(Error::DigestMismatch {
            reference: dest.to_string(),
            digest: image.root().digest().clone(),
        });
    }
    Ok(dests
        .into_iter()
        .map(|dest| Target {
            image: image.clone(),
            dest,
        })
        .collect())
}

/// `oci:DIR`, `oci:DIR:REF` or `oci:DIR@DIGEST` (parsed by the one parser of sources,
/// `layout::Source`: DIR is the part up to the first ':' or '@' that exists on disk); other
/// transports are refused, with the `oci:` form to use when the source is a directory.
pub fn parse_source(source: &str) -> Result<Source, Error> {
    match Source::parse(source) {
        Some(s) if s.transport == Transport::Oci => Ok(s),
        _ => Err(Error::Source {
            source_name: source.to_string(),
            hint: if Path::new(source).is_dir() {
                format!(" (here: oci:{source})")
            } else {
                String::new()
            },
        }),
    }
}

/// A destination reference; without tag or digest, tagged `latest`.
fn destination(d: &str) -> Result<Reference, Error> {
    let mut r = Reference::parse(d).map_err(|error| Error::Destination {
        reference: d.to_string(),
        error,
    })?;
    if r.tag.is_none() && r.digest.is_none() {
        r.tag = Some("latest".into());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Destinations as given and the reference pushed to, or the error's class.
    #[test]
    fn destinations_table() {
        let cases: [(&str, Option<&str>); 5] = [
            ("localhost:5000/app", Some("localhost:5000/app:latest")),
            ("localhost:5000/app:v1", Some("localhost:5000/app:v1")),
            ("example.com/a/b:1.0", Some("example.com/a/b:1.0")),
            ("localhost:5000/UPPER:v1", None),
            ("localhost:5000/app:-bad", None),
        ];
        for (given, want) in cases {
            match (destination(given), want) {
                (Ok(r), Some(w)) => assert_eq!(r.to_string(), w, "{given}"),
                (Err(e), None) => assert!(matches!(e, Error::Destination { .. }), "{given}: {e}"),
                (got, want) => panic!("{given}: got {got:?}, want {want:?}"),
            }
        }
    }

    /// Only `oci:` is pushed; the path rules are `layout::Source`'s (tested there).
    #[test]
    fn sources_table() {
        let cases = [
            ("oci:dir", true),
            ("oci:./a/b:v1", true),
            ("oci:/no/such/dir:v1", true),
            ("oci-archive:x.tar", false),
            ("docker-archive:/tmp/x.tar", false),
            ("docker://nginx", false),
            ("dir", false),
            ("", false),
        ];
        for (given, ok) in cases {
            assert_eq!(parse_source(given).is_ok(), ok, "{given}");
        }
    }
}
