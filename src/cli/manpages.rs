//! `werf-push manpages [DIR]`: one man page per command, nested ones included
//! (`werf-push-stages-list.1`, as `werf-push-stages.1` points to it), each with the EXIT
//! STATUS and ENVIRONMENT sections a reader looks for. Generated from the clap definitions
//! by clap_mangen, so they never drift from `--help`. Without DIR they go beside the
//! binary, where `man` finds them without MANPATH.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{exit, output};

/// EXIT STATUS, as documented in the README.
const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success"),
    ("1", "the registry refused or failed an operation"),
    ("2", "bad command line, reference or path"),
    (
        "3",
        "the layout (stages storage) is broken: missing or corrupted blob, bad index",
    ),
    (
        "4",
        "the registry cannot be reached or spoken to (network, TLS, HTTP vs HTTPS, timeouts)",
    ),
    ("5", "authentication or authorisation failed"),
    (
        "6",
        "no space left on the device of a local file being written",
    ),
    ("130", "interrupted (Ctrl-C)"),
    ("143", "terminated (SIGTERM), after cancelling open uploads"),
];

/// Writes the pages of the command tree `cmd` into `dir` (default: [`beside_binary`]).
pub fn run(dir: Option<PathBuf>, mut cmd: clap::Command) -> anyhow::Result<i32> {
    let dir = match dir {
        Some(d) => d,
        None => beside_binary()?,
    };
    let dir = dir.as_path();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    cmd.build();
    let mut pages = Vec::new();
    collect(&cmd, "werf-push", &mut pages);
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut out = Vec::new();
        clap_mangen::Man::new(page.clone())
            .title(name.to_uppercase())
            .render(&mut out)?;
        extra_sections(&page, &mut out)?;
        werf_push_layout::safe_fs::replace_file(&path, &out)
            .with_context(|| format!("cannot write {}", path.display()))?;
        output::stdout(&format!("{}\n", path.display()))?;
    }
    Ok(exit::SUCCESS)
}

/// `PREFIX/share/man/man1` for a binary in `PREFIX/bin`: man-db's manpath looks there for
/// every `PREFIX/bin` of PATH (`~/.cargo/bin` -> `~/.cargo/share/man`, `/usr/local/bin` ->
/// `/usr/local/share/man`).
fn beside_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot tell where werf-push is installed")?;
    let prefix = exe
        .parent()
        .and_then(Path::parent)
        .with_context(|| format!("{} is in no PREFIX/bin directory: give DIR", exe.display()))?;
    Ok(prefix.join("share").join("man").join("man1"))
}

/// `cmd` as page `name`, then its visible subcommands as `name-sub`, depth first.
fn collect(cmd: &clap::Command, name: &str, out: &mut Vec<(String, clap::Command)>) {
    out.push((name.to_string(), cmd.clone().name(name.to_string())));
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        collect(sub, &format!("{name}-{}", sub.get_name()), out);
    }
}

fn extra_sections(page: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    for (code, meaning) in EXIT_STATUS {
        writeln!(out, ".TP\n\\fB{code}\\fR\n{meaning}")?;
    }
    let mut vars: Vec<(String, String)> = page
        .get_arguments()
        .filter_map(|a| {
            let env = a.get_env()?.to_string_lossy().into_owned();
            let flag = a.get_long().map(|l| format!("--{l}")).unwrap_or_default();
            Some((env, flag))
        })
        .collect();
    vars.extend([
        (
            "WERF_PUSH_LOG".into(),
            "log filter (tracing's EnvFilter syntax), e.g. werf_push=debug".into(),
        ),
        (
            "WERF_PUSH_CACHE_DIR".into(),
            "the known-blob cache's directory".into(),
        ),
        ("NO_COLOR".into(), "no colour in diagnostics".into()),
        (
            "DOCKER_CONFIG".into(),
            "directory of Docker's config.json (credentials)".into(),
        ),
    ]);
    vars.sort();
    vars.dedup();
    writeln!(out, ".SH ENVIRONMENT")?;
    for (var, what) in vars {
        let what = if what.starts_with("--") {
            format!("as {what}")
        } else {
            what
        };
        writeln!(out, ".TP\n\\fB{var}\\fR\n{}", what.replace('-', "\\-"))?;
    }
    Ok(())
}
