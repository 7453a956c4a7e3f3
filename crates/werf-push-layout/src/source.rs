//! Image sources written as containers/image transports: `oci:PATH[:REF]`,
//! `oci:PATH@DIGEST`, `oci-archive:PATH[:REF]` and `docker-archive:PATH[:REF]`, parsed in
//! one place for `push`, `bench` and `stages import`.
//!
//! The path is what exists on disk, the reference the rest: the text after the transport is
//! cut at the first `:` (or `@`) whose left side exists, so a reference may hold `/`, `:`
//! and a registry port (`docker-archive:multi.tar:localhost:5000/group/app:1`,
//! `oci:./layout:localhost/app:1`, as `podman save` and `buildah push` write them) and a
//! path may hold `:` when nothing before it exists. When no left side exists the text is cut
//! at the first `:` or `@`, as containers/image does, so the error names the missing path.
//! Knows nothing of what the reference selects (see `Layout::select` and the docker archive
//! reader).

use std::path::{Path, PathBuf};

/// How the path of a [`Source`] is read.
///
/// Exhaustive on purpose: a new transport must be read by every `match` on it (`stages
/// import` reads each), not fall into a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `oci:`: a directory holding an OCI image layout.
    Oci,
    /// `oci-archive:`: a tar of an OCI image layout.
    OciArchive,
    /// `docker-archive:`: a `docker save` (or `podman save`) tarball.
    DockerArchive,
}

impl Transport {
    /// The prefix, colon included.
    pub fn prefix(self) -> &'static str {
        match self {
            Transport::Oci => "oci:",
            Transport::OciArchive => "oci-archive:",
            Transport::DockerArchive => "docker-archive:",
        }
    }

    const ALL: [Transport; 3] = [
        Transport::Oci,
        Transport::OciArchive,
        Transport::DockerArchive,
    ];
}

/// A parsed source: the transport, the path on disk, the image selector (a reference name,
/// a `sha256:` digest, or for archives `@N`, the N-th image). An empty `:REF` selects
/// nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// How the path is read.
    pub transport: Transport,
    /// The layout directory or archive file.
    pub path: PathBuf,
    /// What selects the image in it (`None`: the only one there, or an error).
    pub selector: Option<String>,
}

impl Source {
    /// Parses `s`, asking the file system which path exists.
    pub fn parse(s: &str) -> Option<Source> {
        Self::parse_with(s, |p| std::fs::symlink_metadata(p).is_ok())
    }

    /// [`Source::parse`] with the existence check given (pure, for tests). `None` when the
    /// transport is not one of [`Transport`] or the path is empty.
    pub(crate) fn parse_with(s: &str, exists: impl Fn(&Path) -> bool) -> Option<Source> {
        let transport = Transport::ALL
            .into_iter()
            .find(|t| s.starts_with(t.prefix()))?;
        let rest = &s[transport.prefix().len()..];
        let cuts: Vec<usize> = rest
            .char_indices()
            .filter(|&(_, c)| c == ':' || c == '@')
            .map(|(i, _)| i)
            .collect();
        let cut = cuts
            .iter()
            .copied()
            .find(|&i| i > 0 && exists(Path::new(&rest[..i])))
            .or_else(|| match exists(Path::new(rest)) {
                true => None,
                false => cuts.first().copied(),
            });
        let (path, selector) = match cut {
            None => (rest, None),
            Some(i) if rest[i..].starts_with('@') => (&rest[..i], Some(&rest[i + 1..])),
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        };
        if path.is_empty() {
            return None;
        }
        Some(Source {
            transport,
            path: PathBuf::from(path),
            selector: selector.filter(|s| !s.is_empty()).map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        use Transport::*;
        let d = format!("sha256:{}", "a".repeat(64));
        // (input, paths that exist, want: transport, path, selector)
        type Want = Option<(Transport, &'static str, Option<String>)>;
        let cases: Vec<(String, &[&str], Want)> = vec![
            ("oci:dir".into(), &["dir"], Some((Oci, "dir", None))),
            ("oci:dir".into(), &[], Some((Oci, "dir", None))),
            ("oci:dir:".into(), &["dir"], Some((Oci, "dir", None))),
            (
                "oci:./a/b:v1".into(),
                &["./a/b"],
                Some((Oci, "./a/b", Some("v1".into()))),
            ),
            (
                format!("oci:/tmp/x@{d}"),
                &["/tmp/x"],
                Some((Oci, "/tmp/x", Some(d.clone()))),
            ),
            (
                format!("oci:/tmp/missing@{d}"),
                &[],
                Some((Oci, "/tmp/missing", Some(d.clone()))),
            ),
            // buildah push / podman save --format oci-dir name images `localhost/app:1`.
            (
                "oci:/l:localhost/app:1".into(),
                &["/l"],
                Some((Oci, "/l", Some("localhost/app:1".into()))),
            ),
            (
                "oci:l:localhost:5000/group/app:1".into(),
                &["l"],
                Some((Oci, "l", Some("localhost:5000/group/app:1".into()))),
            ),
            // A path holding ':' when nothing before it exists.
            (
                "oci:/a:b/c".into(),
                &["/a:b/c"],
                Some((Oci, "/a:b/c", None)),
            ),
            (
                "oci:/a:b/c:v2".into(),
                &["/a:b/c"],
                Some((Oci, "/a:b/c", Some("v2".into()))),
            ),
            // The first existing path wins, as containers/image cuts at the first ':'.
            (
                "oci:a:b".into(),
                &["a", "a:b"],
                Some((Oci, "a", Some("b".into()))),
            ),
            (
                "docker-archive:multi.tar:local/app:1".into(),
                &["multi.tar"],
                Some((DockerArchive, "multi.tar", Some("local/app:1".into()))),
            ),
            (
                "docker-archive:multi.tar:@1".into(),
                &["multi.tar"],
                Some((DockerArchive, "multi.tar", Some("@1".into()))),
            ),
            // Nothing exists: cut at the first ':', so the error names `missing.tar`.
            (
                "docker-archive:missing.tar:local/app:1".into(),
                &[],
                Some((DockerArchive, "missing.tar", Some("local/app:1".into()))),
            ),
            (
                "oci-archive:/t/x.tar:latest".into(),
                &["/t/x.tar"],
                Some((OciArchive, "/t/x.tar", Some("latest".into()))),
            ),
            ("oci:".into(), &[], None),
            ("oci::v1".into(), &[], None),
            ("docker://nginx".into(), &[], None),
            ("dir:/x".into(), &["/x"], None),
            ("/plain/path".into(), &["/plain/path"], None),
        ];
        for (input, existing, want) in cases {
            let got = Source::parse_with(&input, |p| existing.iter().any(|e| Path::new(e) == p));
            let got = got.map(|s| (s.transport, s.path, s.selector));
            let want = want.map(|(t, p, s)| (t, PathBuf::from(p), s));
            assert_eq!(got, want, "{input} with {existing:?}");
        }
    }
}
