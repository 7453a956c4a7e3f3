//! Reading a layout: `oci-layout`, `index.json`, image selection, manifests verified
//! against their digests, blobs checked for presence and size before anything is sent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{LayoutError, REF_NAME};
use werf_push_spec::{media_type, Descriptor, Digest, Manifest, ManifestKind};

/// Manifests and `index.json` bigger than this are refused (registries accept at least 4 MB),
/// by readers, and by the writer before it commits an `index.json`.
pub const MAX_MANIFEST: u64 = 8 << 20;
const MAX_DEPTH: usize = 8;

/// An opened, validated layout.
#[derive(Debug)]
pub struct Layout {
    root: PathBuf,
    canonical_root: PathBuf,
    index: Manifest,
}

/// One image selected from a layout: its manifests (children before parents, the root
/// last) and the unique blobs they reference (largest first). Built by [`Image::new`], which
/// puts the root last.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Image {
    /// The manifest the selector chose (an image manifest or an index).
    pub root: Manifest,
    /// Every manifest of the image, children before parents, `root` last.
    pub manifests: Vec<Manifest>,
    /// Every blob the manifests reference (configs and layers), each once, largest first.
    pub blobs: Vec<Descriptor>,
}

impl Image {
    /// An image of `root` over its `children` (children before parents, the root not among
    /// them) and the `blobs` they reference, kept in the order given.
    pub fn new(mut children: Vec<Manifest>, root: Manifest, blobs: Vec<Descriptor>) -> Image {
        children.push(root.clone());
        Image {
            root,
            manifests: children,
            blobs,
        }
    }
}

impl Layout {
    /// Opens the layout in `dir`: `oci-layout` (an `imageLayoutVersion` of 1.x) and `index.json` read and
    /// checked; an image's manifests and blobs are checked by [`Layout::image`].
    pub fn open(dir: &Path) -> Result<Layout, LayoutError> {
        let not = |reason: String| LayoutError::NotALayout {
            path: dir.to_path_buf(),
            reason,
        };
        let canonical_root = dir.canonicalize().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                LayoutError::Missing {
                    path: dir.to_path_buf(),
                }
            } else {
                not(format!("cannot open the directory: {e}"))
            }
        })?;
        let marker = dir.join("oci-layout");
        let text = read_capped(&canonical_root, &marker, None)
            .map_err(|e| not(format!("cannot read oci-layout: {}", io_text(&e))))?;
        let v: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| not(format!("oci-layout is not JSON: {e}")))?;
        let version = v
            .get("imageLayoutVersion")
            .and_then(|x| x.as_str())
            .unwrap_or("");
        if !version.starts_with("1.") {
            return Err(LayoutError::Version {
                path: marker,
                found: version.to_string(),
            });
        }
        let index_path = dir.join("index.json");
        let bytes = read_capped(&canonical_root, &index_path, None)?;
        let index = Manifest::parse(bytes, Some(media_type::OCI_INDEX)).map_err(|source| {
            LayoutError::Manifest {
                path: index_path.clone(),
                source,
            }
        })?;
        if !matches!(index.kind(), ManifestKind::Index { .. }) {
            return Err(not("index.json is not an image index".into()));
        }
        Ok(Layout {
            root: dir.to_path_buf(),
            canonical_root,
            index,
        })
    }

    /// The layout's directory, as given to [`Layout::open`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The descriptors of `index.json`, in file order.
    pub fn entries(&self) -> &[Descriptor] {
        match &self.index.kind() {
            ManifestKind::Index { manifests } => manifests,
            ManifestKind::Image { .. } => &[],
        }
    }

    /// Where the blob `digest` is in the layout (`blobs/<algorithm>/<hex>`), whether or not
    /// it exists.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
    }

    /// Checks that the blob exists, is a regular file inside the layout (every link on its
    /// path resolved: `blobs` or `blobs/sha256` leading out is refused as a blob file
    /// leading out is), and has the descriptor's size. Returns its resolved path.
    pub fn check_blob(&self, d: &Descriptor) -> Result<PathBuf, LayoutError> {
        let path = self.blob_path(&d.digest);
        let real = match path.canonicalize() {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LayoutError::MissingBlob {
                    path,
                    digest: d.digest.clone(),
                })
            }
            Err(e) => return Err(LayoutError::io(&path)(e)),
        };
        if !real.starts_with(&self.canonical_root) {
            return Err(LayoutError::NotRegular {
                path,
                digest: d.digest.clone(),
            });
        }
        let meta = std::fs::symlink_metadata(&real).map_err(LayoutError::io(&path))?;
        if !meta.is_file() {
            return Err(LayoutError::NotRegular {
                path,
                digest: d.digest.clone(),
            });
        }
        if meta.len() != d.size {
            return Err(LayoutError::WrongSize {
                path,
                digest: d.digest.clone(),
                expected: d.size,
                actual: meta.len(),
            });
        }
        Ok(real)
    }

    /// Reads a small blob fully (a manifest or config) and verifies its digest.
    pub fn read_blob(&self, d: &Descriptor) -> Result<Bytes, LayoutError> {
        let path = self.check_blob(d)?;
        if d.size > MAX_MANIFEST {
            return Err(LayoutError::TooLarge {
                path,
                digest: d.digest.clone(),
                size: d.size,
                limit: MAX_MANIFEST,
            });
        }
        let bytes = read_capped(&self.canonical_root, &path, Some(d.size))?;
        if let Err(actual) = d.digest.verify(&bytes) {
            return Err(LayoutError::DigestMismatch {
                path,
                digest: d.digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Reads, verifies and parses the manifest `d` points to.
    pub fn read_manifest(&self, d: &Descriptor) -> Result<Manifest, LayoutError> {
        let bytes = self.read_blob(d)?;
        Manifest::parse(bytes, Some(&d.media_type)).map_err(|source| LayoutError::Manifest {
            path: self.blob_path(&d.digest),
            source,
        })
    }

    /// Picks an entry of `index.json`: by `org.opencontainers.image.ref.name`, by digest
    /// (`sha256:...`), or the only one when `selector` is `None`.
    pub fn select(&self, selector: Option<&str>) -> Result<&Descriptor, LayoutError> {
        let entries = self.entries();
        let path = self.root.join("index.json");
        match selector {
            None => match entries {
                [] => Err(LayoutError::Empty { path }),
                [one] => Ok(one),
                many => Err(LayoutError::Ambiguous {
                    path,
                    count: many.len(),
                    available: self.describe_entries(),
                }),
            },
            Some(sel) => {
                let by_digest = |d: &&Descriptor| d.digest.to_string() == sel;
                let by_name =
                    |d: &&Descriptor| d.annotations.get(REF_NAME).map(String::as_str) == Some(sel);
                let found: Vec<&Descriptor> = if sel.contains(':') && Digest::parse(sel).is_ok() {
                    entries.iter().filter(by_digest).collect()
                } else {
                    entries.iter().filter(by_name).collect()
                };
                match found.as_slice() {
                    [one, ..] => Ok(one),
                    [] => Err(LayoutError::NoSuchImage {
                        path,
                        selector: sel.to_string(),
                        available: self.describe_entries(),
                    }),
                }
            }
        }
    }

    /// The entries as an error lists them: ref names from the file, shown by the rule of
    /// text from outside (escaped, cut, at most so many).
    fn describe_entries(&self) -> String {
        werf_push_spec::text::shown_list(self.entries().iter().map(|d| {
            match d.annotations.get(REF_NAME) {
                Some(n) => format!("{n} ({})", d.digest),
                None => d.digest.to_string(),
            }
        }))
    }

    /// Loads the image behind `d`: every manifest (children before the index), and every
    /// blob checked for presence and size.
    pub fn image(&self, d: &Descriptor) -> Result<Image, LayoutError> {
        let mut manifests = Vec::new();
        self.walk(d, 0, &mut manifests)?;
        let mut blobs: BTreeMap<Digest, Descriptor> = BTreeMap::new();
        for m in &manifests {
            for b in m.blobs() {
                self.check_blob(b)?;
                blobs.entry(b.digest.clone()).or_insert_with(|| b.clone());
            }
        }
        let mut blobs: Vec<Descriptor> = blobs.into_values().collect();
        blobs.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.digest.cmp(&b.digest)));
        let root = manifests.pop().expect("walk pushes the root last");
        Ok(Image::new(manifests, root, blobs))
    }

    fn walk(
        &self,
        d: &Descriptor,
        depth: usize,
        out: &mut Vec<Manifest>,
    ) -> Result<(), LayoutError> {
        if depth > MAX_DEPTH {
            return Err(LayoutError::TooDeep {
                path: self.blob_path(&d.digest),
                limit: MAX_DEPTH,
            });
        }
        let m = self.read_manifest(d)?;
        if let ManifestKind::Index { manifests } = &m.kind() {
            for child in manifests {
                if out.iter().any(|x| *x.digest() == child.digest) {
                    continue;
                }
                self.walk(child, depth + 1, out)?;
            }
        }
        if !out.iter().any(|x| x.digest() == m.digest()) {
            out.push(m);
        }
        Ok(())
    }
}

/// Reads a file of at most `MAX_MANIFEST` bytes (exactly `expect` when given): a regular
/// file inside `base`, never a FIFO.
pub(super) fn read_capped(
    base: &Path,
    path: &Path,
    expect: Option<u64>,
) -> Result<Bytes, LayoutError> {
    use std::io::Read;
    let (file, _) = super::safe_fs::open_inside(base, path).map_err(LayoutError::io(path))?;
    let mut buf = Vec::with_capacity(expect.unwrap_or(4096).min(MAX_MANIFEST) as usize);
    file.take(MAX_MANIFEST + 1)
        .read_to_end(&mut buf)
        .map_err(LayoutError::io(path))?;
    if buf.len() as u64 > MAX_MANIFEST {
        return Err(LayoutError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!("file is larger than {MAX_MANIFEST} bytes")),
        });
    }
    Ok(Bytes::from(buf))
}

fn io_text(e: &LayoutError) -> String {
    match e {
        LayoutError::Io { source, .. } => source.to_string(),
        e => e.to_string(),
    }
}
