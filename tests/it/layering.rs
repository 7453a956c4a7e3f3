//! The module layering of `src/`, checked on the source text:
//!
//! `cli -> werf -> stages -> push -> registry -> transport -> auth -> spec`, each module
//! using only those below it, and `layout` (which uses only `spec`) used by `push` and
//! above. A lower module never uses a higher one.
//!
//! Every `.rs` file under `src/` belongs to the top-level module of its path
//! (`src/push/engine.rs` -> `push`). Its paths that leave that module are found in the text
//! (comments, string and character literals removed first): `crate::x...`,
//! `werf_push::x...` (the library as the binary's `cli` sees it), `super::...` and
//! `self::...` resolved against the file's module path and any inline `mod name { }`
//! around them, and `{a::.., b::..}` groups after any of those. Each must go to an allowed
//! module. `lib.rs` and `main.rs` (which only declare modules) are not checked. A
//! top-level module missing from the table below, or a path to an unknown lower-case name,
//! is a failure too: a new module needs a decision about its layer. Inside `cli`, a command
//! module (`CLI_COMMANDS`) uses no other command module, and no helper uses one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What each top-level module may use besides itself.
fn allowed(module: &str) -> Option<&'static [&'static str]> {
    Some(match module {
        "spec" => &[],
        "auth" => &["spec"],
        "transport" => &["auth", "spec"],
        "registry" => &["transport", "auth", "spec"],
        "layout" => &["spec"],
        "push" => &["registry", "transport", "auth", "spec", "layout"],
        "stages" => &["push", "layout", "registry", "spec", "transport", "auth"],
        "werf" => &[
            "stages",
            "push",
            "layout",
            "registry",
            "spec",
            "transport",
            "auth",
        ],
        "cli" => &[
            "werf",
            "stages",
            "push",
            "registry",
            "transport",
            "auth",
            "spec",
            "layout",
        ],
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    /// The file, relative to `src/`.
    file: String,
    line: usize,
    /// The module of the file.
    from: String,
    /// The module the path goes to (or the unknown module of the file, when `path` is empty).
    to: String,
    /// The path as written, e.g. `crate::{spec::Digest, push::Pusher}`.
    path: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            return write!(
                f,
                "src/{}: module '{}' has no rule in tests/it/layering.rs",
                self.file, self.from
            );
        }
        let why = match allowed(&self.to) {
            None => "an unknown module (add it to the table in tests/it/layering.rs)".to_string(),
            Some(_) => match allowed(&self.from).unwrap_or(&[]) {
                [] => format!("not allowed: '{}' may use no other module", self.from),
                ok => format!(
                    "not allowed: '{}' may use only {}",
                    self.from,
                    ok.join(", ")
                ),
            },
        };
        write!(
            f,
            "src/{}:{}: `{}` goes from '{}' to '{}': {why}",
            self.file, self.line, self.path, self.from, self.to
        )
    }
}

// ---------------------------------------------------------------------------------------
// Lexing: identifiers and the punctuation that paths and modules are made of, with
// comments, strings and character literals dropped.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Open,
    Close,
    Comma,
    Other(char),
}

fn lex(text: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Skips a string body from just after its opening quote; `hashes` for raw strings
    // (None: escapes are processed).
    let skip_string = |i: &mut usize, line: &mut usize, hashes: Option<usize>| {
        while *i < c.len() {
            match c[*i] {
                '\n' => *line += 1,
                '\\' if hashes.is_none() => {
                    *i += 1;
                    if c.get(*i) == Some(&'\n') {
                        *line += 1;
                    }
                }
                '"' => {
                    let n = hashes.unwrap_or(0);
                    if (1..=n).all(|k| c.get(*i + k) == Some(&'#')) {
                        *i += 1 + n;
                        return;
                    }
                }
                _ => {}
            }
            *i += 1;
        }
    };
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        match ch {
            '\n' => {
                line += 1;
                i += 1;
            }
            _ if ch.is_whitespace() => i += 1,
            '/' if next == Some('/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let mut depth = 0;
                while i < c.len() {
                    if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if c[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
            '"' => {
                i += 1;
                skip_string(&mut i, &mut line, None);
            }
            '\'' => {
                // A character literal ('x', '\n', '\u{..}', '"') or a lifetime ('a).
                if next == Some('\\') {
                    i += 2;
                    while i < c.len() && c[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if c.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            ':' if next == Some(':') => {
                out.push((Tok::Sep, line));
                i += 2;
            }
            '{' => {
                out.push((Tok::Open, line));
                i += 1;
            }
            '}' => {
                out.push((Tok::Close, line));
                i += 1;
            }
            ',' => {
                out.push((Tok::Comma, line));
                i += 1;
            }
            _ if ch.is_alphabetic() || ch == '_' => {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                let word: String = c[start..i].iter().collect();
                let prefix = matches!(word.as_str(), "r" | "br" | "b" | "c" | "cr");
                match c.get(i) {
                    // b"..", c"..", r"..", br".."
                    Some('"') if prefix => {
                        i += 1;
                        let raw = word.contains('r');
                        skip_string(&mut i, &mut line, raw.then_some(0));
                    }
                    // r#".."#, br##".."## (or a raw identifier r#name)
                    Some('#') if word.ends_with('r') && prefix => {
                        let mut n = 0;
                        while c.get(i + n) == Some(&'#') {
                            n += 1;
                        }
                        if c.get(i + n) == Some(&'"') {
                            i += n + 1;
                            skip_string(&mut i, &mut line, Some(n));
                        } else {
                            i += 1; // r#ident: lex the identifier next
                        }
                    }
                    // b'x'
                    Some('\'') if word == "b" => {}
                    _ => out.push((Tok::Ident(word), line)),
                }
            }
            _ if ch.is_ascii_digit() => {
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
            _ => {
                out.push((Tok::Other(ch), line));
                i += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------

/// The module path of a file relative to `src/`: `push/engine.rs` -> `[push, engine]`,
/// `push/mod.rs` and `push.rs` -> `[push]`, `lib.rs` -> `[]`.
fn module_path(rel: &str) -> Vec<String> {
    let rel = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// One path that starts at `crate`, `werf_push`, `super` or `self`: the top-level modules
/// it reaches (several for a group at the crate root) and its text.
struct PathRef {
    line: usize,
    tops: Vec<String>,
    /// The module paths it reaches from the crate root (one per item of a group), e.g.
    /// `[cli, flags, GlobalArgs]`.
    targets: Vec<Vec<String>>,
    text: String,
}

/// Every such path in `text`, for a file of module path `file_mod`.
fn paths(file_mod: &[String], text: &str) -> Vec<PathRef> {
    let toks = lex(text);
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let is = |k: usize, t: &Tok| toks.get(k).map(|(x, _)| x) == Some(t);
    let mut out = Vec::new();
    // Inline modules: (name, brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                while inline.last().is_some_and(|(_, d)| *d > depth) {
                    inline.pop();
                }
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some(name), true) = (ident(i + 1), is(i + 2, &Tok::Open)) {
                    inline.push((name.to_string(), depth + 1));
                }
            }
            Tok::Ident(w)
                if matches!(w.as_str(), "crate" | "werf_push" | "super" | "self")
                    && is(i + 1, &Tok::Sep)
                    && (i == 0 || !is(i - 1, &Tok::Sep)) =>
            {
                let mut cur: Vec<String> = file_mod.to_vec();
                cur.extend(inline.iter().map(|(n, _)| n.clone()));
                let (p, next) = parse_path(&toks, i, &cur);
                out.push(p);
                i = next;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Parses the path starting at `toks[start]`; returns it and the index after it.
fn parse_path(toks: &[(Tok, usize)], start: usize, cur: &[String]) -> (PathRef, usize) {
    let line = toks[start].1;
    let mut text = String::new();
    let mut base: Option<Vec<String>> = None;
    let mut i = start;
    // Leading keywords and segments.
    while let Some((Tok::Ident(seg), _)) = toks.get(i) {
        text.push_str(seg);
        base = Some(match (seg.as_str(), base) {
            ("crate" | "werf_push", None) => Vec::new(),
            ("self", None) => cur.to_vec(),
            ("super", None) => {
                let mut b = cur.to_vec();
                b.pop();
                b
            }
            ("super", Some(mut b)) => {
                b.pop();
                b
            }
            (_, Some(mut b)) => {
                b.push(seg.clone());
                b
            }
            (_, None) => unreachable!("paths start at a keyword"),
        });
        i += 1;
        if toks.get(i).map(|t| &t.0) != Some(&Tok::Sep) {
            break;
        }
        text.push_str("::");
        i += 1;
    }
    let base = base.unwrap_or_default();
    let mut tops = Vec::new();
    if let Some(first) = base.first() {
        tops.push(first.clone());
    }
    let mut targets = Vec::new();
    // A group: `{a::b, c, d::{e, f}}`.
    if toks.get(i).map(|t| &t.0) == Some(&Tok::Open) {
        let mut depth = 0;
        let mut item_start = true;
        while i < toks.len() {
            let (t, _) = &toks[i];
            match t {
                Tok::Open => {
                    depth += 1;
                    text.push('{');
                }
                Tok::Close => {
                    depth -= 1;
                    text.push('}');
                }
                Tok::Comma => {
                    text.push_str(", ");
                    if depth == 1 {
                        item_start = true;
                    }
                }
                Tok::Sep => text.push_str("::"),
                Tok::Ident(w) => {
                    if text.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                        text.push(' ');
                    }
                    text.push_str(w);
                    if depth == 1 && item_start && base.is_empty() && w != "self" {
                        tops.push(w.clone());
                    }
                    if depth == 1 && item_start {
                        let mut t = base.clone();
                        if w != "self" {
                            t.push(w.clone());
                        }
                        targets.push(t);
                    }
                    item_start = false;
                }
                Tok::Other(ch) => text.push(*ch),
            }
            i += 1;
            if depth == 0 {
                break;
            }
        }
    }
    if targets.is_empty() {
        targets.push(base);
    }
    (
        PathRef {
            line,
            tops,
            targets,
            text,
        },
        i,
    )
}

/// The command modules of `src/cli`: each owns its clap `Args` and `run`, and uses helper
/// modules only, never another command (only `cli/mod.rs`, which dispatches, uses them).
const CLI_COMMANDS: [&str; 8] = [
    "push",
    "publish",
    "cleanup",
    "bench",
    "stages",
    "slugify",
    "completion",
    "manpages",
];

/// Paths of a `src/cli` file (`rel` relative to `src/`) that reach a command module other
/// than its own: `(line, command, path)`.
fn cli_command_uses(rel: &str, text: &str) -> Vec<(usize, String, String)> {
    let file_mod = module_path(rel);
    if file_mod.first().map(String::as_str) != Some("cli") || file_mod.len() < 2 {
        return Vec::new(); // not in cli, or cli/mod.rs
    }
    let own = file_mod[1].as_str();
    let mut out = Vec::new();
    for p in paths(&file_mod, text) {
        for t in &p.targets {
            if let [top, module, ..] = t.as_slice() {
                if top == "cli" && module != own && CLI_COMMANDS.contains(&module.as_str()) {
                    out.push((p.line, module.clone(), p.text.clone()));
                }
            }
        }
    }
    out
}

/// The violations of one file (`rel` relative to `src/`), and how many paths it has that
/// go to another top-level module.
fn check_file(rel: &str, text: &str) -> (Vec<Violation>, usize) {
    let file_mod = module_path(rel);
    let Some(from) = file_mod.first().cloned() else {
        return (Vec::new(), 0); // lib.rs, main.rs
    };
    let Some(ok) = allowed(&from) else {
        let v = Violation {
            file: rel.to_string(),
            line: 0,
            from: from.clone(),
            to: from,
            path: String::new(),
        };
        return (vec![v], 0);
    };
    let mut violations = Vec::new();
    let mut crossing = 0;
    for p in paths(&file_mod, text) {
        for to in &p.tops {
            if *to == from {
                continue;
            }
            // A root item (`crate::Error`), not a module.
            if to.starts_with(|c: char| c.is_uppercase()) {
                continue;
            }
            crossing += 1;
            if !ok.contains(&to.as_str()) {
                violations.push(Violation {
                    file: rel.to_string(),
                    line: p.line,
                    from: from.clone(),
                    to: to.clone(),
                    path: p.text.clone(),
                });
            }
        }
    }
    (violations, crossing)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The Rust files under `src/<under>` in path order: (path relative to `src/`, text).
fn sources(under: &str) -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join(under), &mut files);
    files.sort();
    files
        .iter()
        .map(|path| {
            let rel = path
                .strip_prefix(&src)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{rel}: {e}"));
            (rel, text)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn src_respects_the_layering() {
    let mut violations = Vec::new();
    let mut crossing: BTreeMap<String, usize> = BTreeMap::new();
    for (rel, text) in sources("") {
        let (v, n) = check_file(&rel, &text);
        violations.extend(v);
        if let Some(m) = module_path(&rel).first() {
            *crossing.entry(m.clone()).or_default() += n;
        }
    }
    let report: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
    assert!(
        report.is_empty(),
        "layering violations ({}):\n{}",
        report.len(),
        report.join("\n")
    );
    // The checker must have seen the paths that are known to be there; finding none would
    // mean it stopped looking, not that the code is clean.
    for module in [
        "layout",
        "push",
        "registry",
        "transport",
        "stages",
        "werf",
        "cli",
    ] {
        assert!(
            crossing.get(module).copied().unwrap_or(0) > 0,
            "no path from '{module}' to another module was found: is the checker broken? {crossing:?}"
        );
    }
    assert!(
        crossing.values().sum::<usize>() >= 20,
        "too few cross-module paths found: {crossing:?}"
    );
}

#[test]
fn cli_commands_use_no_other_command() {
    let mut found = Vec::new();
    let mut modules = 0;
    for (rel, text) in sources("cli") {
        modules += usize::from(
            CLI_COMMANDS
                .iter()
                .any(|c| rel == format!("cli/{c}.rs") || rel == format!("cli/{c}/mod.rs")),
        );
        for (line, to, p) in cli_command_uses(&rel, &text) {
            found.push(format!(
                "src/{rel}:{line}: `{p}` uses the command module '{to}'"
            ));
        }
    }
    assert_eq!(
        modules,
        CLI_COMMANDS.len(),
        "a command module is missing from src/cli"
    );
    assert!(
        found.is_empty(),
        "a cli module uses a command module (share it through cli/flags.rs or a helper):\n{}",
        found.join("\n")
    );
}

#[test]
fn cli_command_uses_table() {
    // (file relative to src/, source text, command modules reported)
    let cases: &[(&str, &str, &[&str])] = &[
        ("cli/bench.rs", "use super::push::parse_source;", &["push"]),
        (
            "cli/bench.rs",
            "use super::{exit, flags::X, publish};",
            &["publish"],
        ),
        (
            "cli/bench.rs",
            "use super::flags::GlobalArgs; use self::stats::X;",
            &[],
        ),
        (
            "cli/stages/pull.rs",
            "use crate::cli::{exit, output, publish::X};",
            &["publish"],
        ),
        (
            "cli/stages/pull.rs",
            "use super::super::push::X;",
            &["push"],
        ),
        (
            "cli/stages/pull.rs",
            "use super::list::X; use crate::cli::stages::Y;",
            &[],
        ),
        ("cli/output.rs", "fn f(a: super::stages::X) {}", &["stages"]),
        (
            "cli/mod.rs",
            "use push::PushArgs; use super::cli::stages::X;",
            &[],
        ),
        ("werf/publish.rs", "use crate::cli::push::X;", &[]),
    ];
    for (file, text, want) in cases {
        let got: Vec<String> = cli_command_uses(file, text)
            .into_iter()
            .map(|(_, to, _)| to)
            .collect();
        assert_eq!(&got, want, "{file}: {text}");
    }
}

#[test]
fn checker_reports_violations_table() {
    // (file relative to src/, source text, modules reported as violations)
    let cases: &[(&str, &str, &[&str])] = &[
        ("spec/digest.rs", "use crate::transport::Body;", &["transport"]),
        ("spec/digest.rs", "use crate::spec::Digest; use super::SpecError;", &[]),
        (
            "spec/digest.rs",
            "// use crate::push::X;\n/// see crate::push\n//! crate::cli\nfn f() {}",
            &[],
        ),
        (
            "spec/manifest.rs",
            "/* outer /* nested crate::push */ still crate::push */ use crate::auth::X;",
            &["auth"],
        ),
        ("spec/digest.rs", r#"const S: &str = "crate::push::X \" crate::werf";"#, &[]),
        (
            "spec/digest.rs",
            "const S: &str = r#\"crate::push \"quoted\" \"#; use crate::layout::L;",
            &["layout"],
        ),
        ("spec/digest.rs", r#"const B: &[u8] = b"crate::push";"#, &[]),
        (
            "auth/mod.rs",
            "use crate::spec::X; const Q: char = '\"'; use crate::transport::Y;",
            &["transport"],
        ),
        (
            "transport/ping.rs",
            "pub(crate) fn f<'a>(x: &'a str) -> char { 'c' } use crate::registry::X;",
            &["registry"],
        ),
        (
            "layout/read.rs",
            "use crate::{spec::Digest, registry::Registry};",
            &["registry"],
        ),
        (
            "layout/read.rs",
            "use crate::{spec::{self, Digest}, push::{Pusher, Target}, werf};",
            &["push", "werf"],
        ),
        ("layout/read.rs", "use super::super::push::Pusher;", &["push"]),
        ("layout/read.rs", "use super::super::spec::Digest;", &[]),
        ("layout/read.rs", "use super::{LayoutError, REF_NAME};", &[]),
        ("layout/mod.rs", "use super::transport::Body;", &["transport"]),
        (
            "layout/mod.rs",
            "use super::{spec::Digest, registry::Registry};",
            &["registry"],
        ),
        ("layout/read.rs", "mod tests { use super::super::write::X; }", &[]),
        (
            "layout/read.rs",
            "mod tests { mod deep { use super::super::super::super::push::X; } } use super::super::auth::A;",
            &["push", "auth"],
        ),
        ("layout/read.rs", "use self::inner::X; mod inner {}", &[]),
        (
            "push/engine.rs",
            "fn f() -> crate::werf::Thing { let x: crate::registry::Registry; todo!() }",
            &["werf"],
        ),
        ("push/engine.rs", "use crate::layout::Layout; use crate::Error;", &[]),
        (
            "registry/upload.rs",
            "use crate::utils::x; use crate::push::Pusher;",
            &["utils", "push"],
        ),
        (
            "cli/push.rs",
            "use werf_push::werf::x; use werf_push::push::y; use crate::cli::z; use super::exit;",
            &[],
        ),
        ("cli/mod.rs", "use super::cli::args;", &[]),
        ("werf/image.rs", "use werf_push::cli::Cli;", &["cli"]),
        ("stages/read.rs", "use crate::werf::naming::X;", &["werf"]),
        ("stages/pull.rs", "use crate::{push::Pusher, layout::Layout};", &[]),
        ("push/engine.rs", "use crate::stages::Stage;", &["stages"]),
        ("werf/publish.rs", "use crate::stages::StagesStorage;", &[]),
        ("werf/image.rs", "use crate::{layout::{Layout, LayoutError}, push::PushImage};", &[]),
        ("push/blob.rs", "use crate :: cli :: Cli;", &["cli"]),
        ("push/blob.rs", "use crate::{\n  spec::Digest,\n  cli::Cli,\n};", &["cli"]),
        ("util/mod.rs", "fn f() {}", &["util"]),
        ("lib.rs", "pub mod spec; pub mod cli; use crate::cli;", &[]),
    ];
    for (file, text, want) in cases {
        let (got, _) = check_file(file, text);
        let got: Vec<&str> = got.iter().map(|v| v.to.as_str()).collect();
        assert_eq!(&got, want, "{file}: {text}");
    }
}

#[test]
fn violation_messages_name_file_line_and_path() {
    let (v, _) = check_file(
        "transport/client.rs",
        "//! header\n\nuse crate::{spec::Digest, push::Pusher};\n",
    );
    assert_eq!(v.len(), 1, "{v:?}");
    let msg = v[0].to_string();
    for part in [
        "src/transport/client.rs:3",
        "crate::{spec::Digest, push::Pusher}",
        "'transport' to 'push'",
    ] {
        assert!(msg.contains(part), "{msg:?} should contain {part:?}");
    }
    let (v, _) = check_file("util/x.rs", "");
    assert!(
        v[0].to_string().contains("module 'util' has no rule"),
        "{v:?}"
    );
}

#[test]
fn module_paths_table() {
    let cases: [(&str, &[&str]); 5] = [
        ("push/engine.rs", &["push", "engine"]),
        ("push/mod.rs", &["push"]),
        ("push.rs", &["push"]),
        ("werf/a/b.rs", &["werf", "a", "b"]),
        ("lib.rs", &[]),
    ];
    for (rel, want) in cases {
        assert_eq!(module_path(rel), want, "{rel}");
    }
}
