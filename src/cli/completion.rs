//! `werf-push completion SHELL`: clap_complete's scripts, with bash's repaired. For a
//! program name with a hyphen, clap_complete's bash generator names the states of its
//! subcommand walk `werf__push__subcmd__X` but labels their cases `werf__subcmd__push__subcmd__X`,
//! so nothing below the top level completed (`stages <TAB>` offered files, `publish --<TAB>`
//! nothing). The labels are rewritten to the states' names; tests drive a real bash.

use clap_complete::Shell;

use super::{exit, output};

/// The program name completions are registered for.
const BIN: &str = "werf-push";

/// The completion script for `shell` of the command tree `cmd`.
pub fn script(shell: Shell, mut cmd: clap::Command) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    match shell {
        Shell::Bash => text.replace("werf__subcmd__push", "werf__push"),
        _ => text,
    }
}

/// Prints the script; a closed stdout (`| head`) ends quietly.
pub fn run(shell: Shell, cmd: clap::Command) -> anyhow::Result<i32> {
    output::stdout(&script(shell, cmd))?;
    Ok(exit::SUCCESS)
}
