//! A tiny image of the registry's own bookkeeping: an OCI image with no layer whose config
//! carries labels (cleanup's state, the placeholder a tag is moved to before its delete).
//! One config upload (skipped when the repository holds it) and one manifest `PUT`.

use bytes::Bytes;

use super::{Registry, RegistryError};
use werf_push_spec::media_type::OCI_CONFIG;
use werf_push_spec::{Descriptor, Manifest};

impl Registry {
    /// Writes under `repo:tag` an image with no layer whose config has `labels`.
    pub async fn put_label_image(
        &self,
        repo: &str,
        tag: &str,
        labels: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Manifest, RegistryError> {
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": []},
        }))
        .unwrap_or_default();
        let size = config.len() as u64;
        let digest = self.put_small_blob(repo, Bytes::from(config)).await?;
        let config = Descriptor::new(OCI_CONFIG, digest, size);
        let m = Manifest::oci_image(&config, &[]).map_err(|e| RegistryError::Protocol {
            op: format!("the image of {repo}:{tag}"),
            detail: e.to_string(),
        })?;
        self.put_manifest(repo, tag, &m).await?;
        Ok(m)
    }
}
