//! Usage lines without the options only the environment gave: clap's error usage lists
//! every option that has a value, and one that came from a variable (`SSL_CERT_FILE`,
//! `WERF_PUSH_NO_CACHE`) then reads as a flag the command requires. Pure but for reading
//! which variables are set.

/// The usage forms (`--ca-file <FILE>`, `--no-cache`) of every option of `cmd` and its
/// subcommands whose variable is set (and not empty).
pub fn env_set(cmd: &clap::Command) -> Vec<String> {
    let mut out = Vec::new();
    collect(
        cmd,
        &mut |var| std::env::var_os(var).is_some_and(|v| !v.is_empty()),
        &mut out,
    );
    out
}

fn collect(
    cmd: &clap::Command,
    set: &mut impl FnMut(&std::ffi::OsStr) -> bool,
    out: &mut Vec<String>,
) {
    for a in cmd.get_arguments() {
        let (Some(var), Some(long)) = (a.get_env(), a.get_long()) else {
            continue;
        };
        if !set(var) {
            continue;
        }
        let form = match a.get_action().takes_values() {
            true => {
                let names: Vec<String> = match a.get_value_names() {
                    Some(n) => n.iter().map(|n| format!("<{n}>")).collect(),
                    None => vec![format!("<{}>", a.get_id().as_str().to_uppercase())],
                };
                format!("--{long} {}", names.join(" "))
            }
            false => format!("--{long}"),
        };
        out.push(form);
    }
    for sub in cmd.get_subcommands() {
        collect(sub, set, out);
    }
}

/// `usage` without the forms of `env_set` (each a whole word sequence of it).
pub fn without(usage: &str, env_set: &[String]) -> String {
    let mut words: Vec<&str> = usage.split(' ').collect();
    for form in env_set {
        let parts: Vec<&str> = form.split(' ').collect();
        if let Some(i) = words
            .windows(parts.len())
            .position(|w| w == parts.as_slice())
        {
            words.drain(i..i + parts.len());
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_without_env_table() {
        let set = ["--ca-file <FILE>".to_string(), "--no-cache".to_string()];
        // (clap's usage, wanted)
        let cases = [
            (
                "werf-push push --ca-file <FILE> <SRC> <DEST>...",
                "werf-push push <SRC> <DEST>...",
            ),
            (
                "werf-push push --no-cache <SRC> <DEST>...",
                "werf-push push <SRC> <DEST>...",
            ),
            (
                "werf-push push [OPTIONS] <SRC> <DEST>...",
                "werf-push push [OPTIONS] <SRC> <DEST>...",
            ),
            // Not a whole option: left alone.
            (
                "werf-push x --ca-file-other <FILE>",
                "werf-push x --ca-file-other <FILE>",
            ),
        ];
        for (usage, want) in cases {
            assert_eq!(without(usage, &set), want, "{usage}");
        }
    }

    #[test]
    fn forms_of_options_whose_variable_is_set() {
        let cmd = clap::Command::new("x")
            .arg(
                clap::Arg::new("ca")
                    .long("ca-file")
                    .value_name("FILE")
                    .env("A"),
            )
            .arg(
                clap::Arg::new("nc")
                    .long("no-cache")
                    .env("B")
                    .action(clap::ArgAction::SetTrue),
            )
            .arg(clap::Arg::new("other").long("other").env("C"))
            .subcommand(clap::Command::new("s").arg(clap::Arg::new("repo").long("repo").env("D")));
        let mut out = Vec::new();
        collect(&cmd, &mut |v| v != "C", &mut out);
        assert_eq!(out, ["--ca-file <FILE>", "--no-cache", "--repo <REPO>"]);
    }
}
