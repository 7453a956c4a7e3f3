//! The stages storage format (docs/stages-format.md), written once: the `io.werf.*`
//! annotations and config labels, werf's stage order, the `image-stage-<signature>` tag,
//! the image name ([`ImageName`], with the one spelling of the nameless image) and the
//! rules every stage entry obeys, checked here for reading, writing and pulling alike.
//! Pure: no I/O; knows nothing of registries, werf.yaml or the CLI.

use std::fmt;

use serde_json::{Map, Value};

use werf_push_spec::reference::{component_problem, is_path_component, MAX_TAG};
use werf_push_spec::text::shown;

/// Index annotation holding the werf image name (empty for the nameless image).
pub(crate) const ANN_IMAGE: &str = "io.werf.image";
/// Index annotation holding the stage name.
pub(crate) const ANN_STAGE: &str = "io.werf.stage";
/// Index annotation holding the stage signature.
pub(crate) const ANN_SIGNATURE: &str = "io.werf.signature";
/// Config label holding the werf image name of a stage (empty for the nameless image).
pub const LABEL_IMAGE: &str = "io.werf.image";
/// Config label holding the stage name.
pub const LABEL_STAGE: &str = "io.werf.stage";

/// The one stage of a Dockerfile image.
pub(crate) const DOCKERFILE: &str = "dockerfile";

/// werf's stage names in build order; a Dockerfile image has the one stage `dockerfile`.
pub const STAGE_ORDER: [&str; 14] = [
    "from",
    "beforeInstall",
    "importsBeforeInstall",
    "gitArchive",
    "install",
    "importsAfterInstall",
    "beforeSetup",
    "importsBeforeSetup",
    "setup",
    "importsAfterSetup",
    "gitCache",
    "gitLatestPatch",
    "dockerInstructions",
    DOCKERFILE,
];

/// The registry tag a stage travels under: `image-stage-<signature>`.
pub fn stage_tag(signature: &str) -> String {
    format!("{TAG_PREFIX}{signature}")
}

/// The prefix of every stage tag.
pub const TAG_PREFIX: &str = "image-stage-";

/// A werf image name, or the nameless image. Stored as the empty string in annotations and
/// labels, written `~` on the command line and in reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageName(Option<String>);

impl ImageName {
    /// How the nameless image is written on the command line and in reports.
    pub const NAMELESS: &'static str = "~";

    /// The nameless image.
    pub fn nameless() -> ImageName {
        ImageName(None)
    }

    /// A named image, its name checked ([`check_image_name`]).
    pub fn named(name: &str) -> Result<ImageName, String> {
        check_image_name(name)?;
        Ok(ImageName(Some(name.to_string())))
    }

    /// From a command-line argument: `~` is the nameless image.
    pub fn from_arg(arg: &str) -> Result<ImageName, String> {
        if arg == Self::NAMELESS {
            return Ok(ImageName::nameless());
        }
        ImageName::named(arg)
    }

    /// From an annotation or label value: the empty string is the nameless image.
    pub(crate) fn from_annotation(value: &str) -> Result<ImageName, String> {
        if value.is_empty() {
            return Ok(ImageName::nameless());
        }
        ImageName::named(value)
    }

    /// From werf's own `Option` (werf.yaml's `image: ~` is `None`), unchecked.
    pub fn from_option(name: Option<String>) -> ImageName {
        ImageName(name)
    }

    /// The value annotations and labels hold: the empty string for the nameless image.
    pub fn annotation(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// The name, `None` for the nameless image.
    pub fn name(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The name as werf's own `Option` (`None` for the nameless image).
    pub fn as_option(&self) -> &Option<String> {
        &self.0
    }

    /// `image 'NAME'` or `the nameless image`, for messages.
    pub fn describe(&self) -> String {
        match &self.0 {
            Some(name) => format!("image '{name}'"),
            None => "the nameless image".into(),
        }
    }
}

/// The command-line spelling: the name, or `~`.
impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_deref().unwrap_or(Self::NAMELESS))
    }
}

/// A werf image name as it can be published in every mode: one or more `/`-separated
/// components of lower-case letters and digits with `.`, `_`, `__` or dashes inside (the
/// repository path grammar of `spec::reference`), at most 128 chars. The nameless image is
/// not a name (`~` on the command line).
pub fn check_image_name(name: &str) -> Result<(), String> {
    let name_shown = shown(name);
    if name.is_empty() {
        return Err(format!(
            "the image name is empty: give a name, or '{}' for the nameless image",
            ImageName::NAMELESS
        ));
    }
    if name.len() > MAX_TAG {
        return Err(format!(
            "image name '{name_shown}' is {} chars, over {MAX_TAG}",
            name.len()
        ));
    }
    if let Some(c) = name.split('/').find(|c| !is_path_component(c)) {
        return Err(format!(
            "image name '{name_shown}' is not valid: {}",
            component_problem(c)
        ));
    }
    Ok(())
}

/// A stage name werf knows.
pub(crate) fn check_stage_name(stage: &str) -> Result<(), String> {
    if STAGE_ORDER.contains(&stage) {
        return Ok(());
    }
    Err(format!(
        "unknown stage name '{}': use one of {}",
        shown(stage),
        STAGE_ORDER.join(", ")
    ))
}

/// A signature: hex, 1 to 128 characters (werf's are 56 or 64).
pub fn check_signature(signature: &str) -> Result<(), String> {
    if signature.is_empty()
        || signature.len() > 128
        || !signature.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(format!(
            "signature '{}' is not hex (1 to 128 characters of 0-9, a-f)",
            shown(signature)
        ));
    }
    Ok(())
}

/// The position of a stage in werf's build order.
pub(crate) fn stage_position(stage: &str) -> Option<usize> {
    STAGE_ORDER.iter().position(|n| *n == stage)
}

/// Which stage already in an image keeps `new` out of it: a Dockerfile image has the one
/// stage `dockerfile` and no other. `existing` are the image's stage names.
pub(crate) fn dockerfile_clash<'a>(
    existing: impl IntoIterator<Item = &'a str>,
    new: &str,
) -> Option<&'a str> {
    existing
        .into_iter()
        .find(|s| (new == DOCKERFILE) != (*s == DOCKERFILE))
}

/// The rule [`dockerfile_clash`] enforces, for messages.
pub(crate) const DOCKERFILE_RULE: &str =
    "a Dockerfile image has the one stage 'dockerfile' and no other";

/// The (image, stage) a stage's bytes name: `root` is its root manifest (or index),
/// `config` the config of its (first) image manifest. Each name is the root's annotation,
/// else the config's label; the empty image name is the nameless image.
pub fn identify(root: &Value, config: &Value) -> Option<(String, String)> {
    let name = |ann: &str, lbl: &str| {
        root.get("annotations")
            .and_then(|a| a.get(ann))
            .and_then(Value::as_str)
            .or_else(|| label(config, lbl))
            .map(str::to_string)
    };
    Some((name(ANN_IMAGE, LABEL_IMAGE)?, name(ANN_STAGE, LABEL_STAGE)?))
}

/// The root annotations that name a stage in its registry form (its `image-stage-*` tag):
/// what [`identify`] reads back first.
pub fn stage_annotations<'a>(image: &'a str, stage: &'a str) -> [(&'static str, &'a str); 2] {
    [(ANN_IMAGE, image), (ANN_STAGE, stage)]
}

/// Sets `annotations` in a manifest document's `annotations` object (created, or replaced
/// when it is not an object).
pub fn annotate(doc: &mut Value, annotations: &[(&str, &str)]) -> Result<(), String> {
    let obj = doc.as_object_mut().ok_or("not a JSON object")?;
    set_all(object_at(obj, "annotations"), annotations);
    Ok(())
}

/// Sets `labels` in an image config (`config.Labels`), creating the objects as needed.
pub(crate) fn set_labels(cfg: &mut Value, labels: &[(&str, &str)]) -> Result<(), String> {
    let obj = cfg
        .as_object_mut()
        .ok_or("the image config is not a JSON object")?;
    set_all(object_at(object_at(obj, "config"), "Labels"), labels);
    Ok(())
}

/// The object under `key` of `obj`, created (or put in place of what is not an object).
fn object_at<'a>(obj: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = obj
        .entry(key)
        .or_insert_with(|| Value::Object(Default::default()));
    if !v.is_object() {
        *v = Value::Object(Default::default());
    }
    v.as_object_mut().expect("an object")
}

fn set_all(obj: &mut Map<String, Value>, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        obj.insert(k.to_string(), Value::from(*v));
    }
}

/// A label of an image config, if set.
pub fn label<'a>(cfg: &'a Value, key: &str) -> Option<&'a str> {
    cfg.get("config")?.get("Labels")?.get(key)?.as_str()
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
