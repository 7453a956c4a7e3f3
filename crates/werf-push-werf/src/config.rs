//! Reading werf.yaml as far as publishing needs: the project name and the images (named,
//! nameless, or several names sharing one config). Documents are split on lines that
//! are exactly `---`; artifacts are skipped; a file that is still a Go template is
//! refused with a hint to render it.
//!
//! Knows nothing of stages, builds, registries, naming modes or tags. The only I/O is
//! reading `werf.yaml` (or `werf.yml`) in the directory the caller names.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use super::error::WerfError;

/// File names tried, in order, by [`read_werf_yaml`]; the first that exists is read
/// (werf v1.1 accepts both, and `werf.yaml` wins).
pub(crate) const CONFIG_FILE_NAMES: [&str; 2] = ["werf.yaml", "werf.yml"];

/// Longest project name.
pub(crate) const PROJECT_MAX_LEN: usize = 50;

/// What werf-push needs from werf.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WerfConfig {
    /// `project:` of the meta document.
    pub project: String,
    /// Images in file order; `None` is the nameless image (`image: ~`). Artifacts are not
    /// listed. May be empty (a config of artifacts only).
    pub images: Vec<Option<String>>,
}

/// Read `werf.yaml` (else `werf.yml`) in `dir`. `Ok(None)` when neither exists.
pub(crate) fn read_werf_yaml(dir: &Path) -> Result<Option<WerfConfig>, WerfError> {
    for name in CONFIG_FILE_NAMES {
        let path = dir.join(name);
        let bytes = match read_config_file(dir, &path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(source) => return Err(WerfError::Io { path, source }),
        };
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let bytes = e.as_bytes();
                let at = e.utf8_error().valid_up_to();
                let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
                return Err(config_err(
                    &path,
                    None,
                    Some(line),
                    "is not UTF-8 text".into(),
                ));
            }
        };
        return parse_werf_yaml(&text, &path).map(Some);
    }
    Ok(None)
}

/// werf.yaml is refused above this size.
pub(crate) const MAX_CONFIG: u64 = 16 << 20;

/// Reads `path`: a regular file inside `dir` (never a FIFO, never a link out of the
/// project), at most [`MAX_CONFIG`] bytes.
fn read_config_file(dir: &Path, path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let base = dir.canonicalize()?;
    let (file, _) = werf_push_layout::safe_fs::open_inside(&base, path)?;
    let mut buf = Vec::new();
    file.take(MAX_CONFIG + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_CONFIG {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_CONFIG} bytes: refused"
        )));
    }
    Ok(buf)
}

/// Parse werf.yaml text; `path` is only used in error messages.
pub(crate) fn parse_werf_yaml(text: &str, path: &Path) -> Result<WerfConfig, WerfError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(i) = text.lines().position(|l| l.contains("{{")) {
        return Err(WerfError::ConfigTemplate {
            path: path.to_path_buf(),
            line: i + 1,
        });
    }

    let mut project: Option<(String, usize)> = None;
    // (name, document number, first line of the document)
    let mut images: Vec<(Option<String>, usize, usize)> = Vec::new();

    for (doc, (line, body)) in split_documents(text).into_iter().enumerate() {
        let doc = doc + 1;
        let err = |message: String| config_err(path, Some(doc), Some(line), message);
        let value: Value =
            serde_yaml_ng::from_str(&body).map_err(|e| yaml_err(path, doc, line, &body, &e))?;
        let Value::Mapping(map) = value else {
            return Err(err(format!(
                "a document must be a mapping (project:, image: or artifact: ...), got {}",
                kind(&value)
            )));
        };
        let has = |key: &str| map.get(key).is_some();
        match (has("project"), has("image"), has("artifact")) {
            (true, false, false) => {
                if let Some((_, first)) = &project {
                    return Err(err(format!(
                        "a second meta document (project:): the first is document {first}, \
                         keep one"
                    )));
                }
                project = Some((meta(&map).map_err(err)?, doc));
            }
            (false, true, false) => {
                for name in image_names(&map).map_err(err)? {
                    images.push((name, doc, line));
                }
            }
            (false, false, true) => {}
            (false, false, false) => {
                return Err(err(
                    "a document must have project:, image: or artifact:".into()
                ))
            }
            _ => {
                return Err(err(
                    "a document must hold just one of project:, image: or artifact: (split \
                     it with a '---' line)"
                        .into(),
                ))
            }
        }
    }

    let Some((project, _)) = project else {
        return Err(config_err(
            path,
            None,
            None,
            "no meta document: werf.yaml needs a document with 'project: NAME' and \
             'configVersion: 1'"
                .into(),
        ));
    };
    check_images(&images, path)?;
    Ok(WerfConfig {
        project,
        images: images.into_iter().map(|(n, _, _)| n).collect(),
    })
}

/// Documents as (first line number, text), skipping those with only blanks and comments.
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut start = 1;
    let mut body = String::new();
    let mut flush = |start: usize, body: &mut String| {
        let blank = body.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        });
        if !blank {
            docs.push((start, std::mem::take(body)));
        }
        body.clear();
    };
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line == "---" {
            flush(start, &mut body);
            start = i + 2;
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    flush(start, &mut body);
    docs
}

fn meta(map: &Mapping) -> Result<String, String> {
    let project = match map.get("project") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("project must be a name, got {}", kind(other))),
        None => String::new(),
    };
    if !valid_project(&project) {
        return Err(format!(
            "project name '{project}' should comply with regex \
             '^(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$' and be maximum {PROJECT_MAX_LEN} \
             chars: use lowercase letters, digits and inner dashes"
        ));
    }
    match map.get("configVersion") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(project),
        Some(other) => Err(format!(
            "configVersion must be 1, got {}",
            serde_yaml_ng::to_string(other).unwrap_or_default().trim()
        )),
        None => Err("the meta document needs 'configVersion: 1'".into()),
    }
}

/// `^(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$`, at most 50 chars.
fn valid_project(s: &str) -> bool {
    let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            b.len() <= PROJECT_MAX_LEN
                && ok(first)
                && ok(last)
                && b.iter().all(|&c| ok(c) || c == b'-')
        }
        _ => false,
    }
}

fn image_names(map: &Mapping) -> Result<Vec<Option<String>>, String> {
    let one = |v: &Value| match v {
        Value::String(s) if s.is_empty() => {
            Err("image name is empty: give a name, or ~ for the nameless image".to_string())
        }
        Value::String(s) => werf_push_stages::format::check_image_name(s).map(|()| s.clone()),
        other => Err(format!(
            "image name must be a string, got {} (quote it: image: \"NAME\")",
            kind(other)
        )),
    };
    match map.get("image") {
        None | Some(Value::Null) => Ok(vec![None]),
        Some(Value::Sequence(list)) if list.is_empty() => {
            Err("image: [] lists no names: give at least one".into())
        }
        Some(Value::Sequence(list)) => list.iter().map(|v| one(v).map(Some)).collect(),
        Some(v) => Ok(vec![Some(one(v)?)]),
    }
}

fn check_images(images: &[(Option<String>, usize, usize)], path: &Path) -> Result<(), WerfError> {
    // Linear: a file of 100k documents must not take quadratic time.
    let mut seen: std::collections::HashMap<&Option<String>, usize> = Default::default();
    for (name, doc, line) in images {
        if let Some(first) = seen.get(name).copied() {
            let what = match name {
                Some(n) => format!("image '{n}'"),
                None => "the nameless image (image: ~)".to_string(),
            };
            return Err(config_err(
                path,
                Some(*doc),
                Some(*line),
                format!("{what} is already defined in document {first}: names must be unique"),
            ));
        }
        seen.insert(name, *doc);
    }
    if let Some((_, doc, line)) = images.iter().find(|(n, _, _)| n.is_none()) {
        if images.len() > 1 {
            let named: Vec<&str> = images.iter().filter_map(|(n, _, _)| n.as_deref()).collect();
            return Err(config_err(
                path,
                Some(*doc),
                Some(*line),
                format!(
                    "a nameless image (image: ~) cannot be used together with named images \
                     ({}): name it, or keep it as the only image",
                    named.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn config_err(path: &Path, doc: Option<usize>, line: Option<usize>, msg: String) -> WerfError {
    WerfError::Config {
        path: PathBuf::from(path),
        doc,
        line,
        message: msg,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A YAML error at its line in the file (serde_yaml_ng counts from the document).
fn yaml_err(
    path: &Path,
    doc: usize,
    start: usize,
    body: &str,
    e: &serde_yaml_ng::Error,
) -> WerfError {
    let text = e.to_string();
    let text = text.find(" at line ").map_or(text.as_str(), |i| &text[..i]);
    if text.contains("more than one document") {
        let marker = body
            .lines()
            .position(|l| l.starts_with("---") || l.starts_with("..."));
        return config_err(
            path,
            Some(doc),
            Some(start + marker.unwrap_or(0)),
            "invalid YAML: this line starts another document: a document separator must be \
             a line that is exactly '---' (no spaces, comments or text after it)"
                .into(),
        );
    }
    let at = e
        .location()
        .map_or(start, |l| start + l.line().saturating_sub(1));
    config_err(path, Some(doc), Some(at), format!("invalid YAML: {text}"))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
