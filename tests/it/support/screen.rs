//! A real terminal for tests of what people see: a command runs in a `tmux` pane of a given
//! size (its own server on its own socket), and tests read the screen as tmux rendered it
//! (every redraw, cursor movement and wrap applied), keep frames while it runs, and send
//! keys (Ctrl-C) as a user would. `tmux` is required (Debian package `tmux`; scripts/test
//! installs it): a missing one is a failure that says so.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// What the shell prints when the command ends: `[exit CODE]`.
const EXIT_MARK: &str = "[exit ";

/// A pane running one command; the tmux server is killed on drop.
pub struct Screen {
    dir: TempDir,
    pub width: usize,
}

impl Screen {
    /// Runs `command` (a shell command line) in a `width` x `height` pane, with the
    /// environment of `env` (a command whose variables are taken: the one scrub of
    /// werf-push runs applies).
    pub fn start(command: &str, width: usize, height: usize, env: &Command) -> Screen {
        let dir = tempfile::tempdir().expect("temporary directory");
        let screen = Screen { dir, width };
        let line = format!("{command}; echo \"{EXIT_MARK}$?]\"; sleep 3600");
        let mut c = screen.tmux();
        c.env_clear();
        for (k, v) in env.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        for k in ["PATH", "HOME", "USER", "LANG"] {
            if let (Some(v), false) = (std::env::var_os(k), env.get_envs().any(|(e, _)| e == k)) {
                c.env(k, v);
            }
        }
        c.env("TERM", "xterm-256color");
        c.args(["new-session", "-d", "-s", "t"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .args(["bash", "--norc", "--noprofile", "-c", &line]);
        let out = c.output().unwrap_or_else(|e| {
            panic!("cannot run tmux ({e}): install it (apt-get install tmux; scripts/test does)")
        });
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        screen
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("tmux.sock")
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(self.socket()).args(["-f", "/dev/null"]);
        c
    }

    /// The pane as shown, history included: lines as the terminal holds them (`joined`:
    /// lines the terminal wrapped are joined back, so they differ from the others only
    /// where something wrapped). Trailing blank lines dropped.
    pub fn capture(&self, joined: bool) -> Vec<String> {
        let mut c = self.tmux();
        c.args(["capture-pane", "-p", "-t", "t", "-S", "-"]);
        if joined {
            c.arg("-J");
        }
        let out = c.output().expect("tmux capture-pane");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
    }

    /// Sends keys as tmux names them (`C-c`).
    pub fn keys(&self, keys: &str) {
        let out = self
            .tmux()
            .args(["send-keys", "-t", "t", keys])
            .output()
            .expect("tmux send-keys");
        assert!(out.status.success(), "tmux send-keys {keys}");
    }

    /// The command's exit code once it ended, within `timeout`; the screen then.
    pub fn wait(&self, timeout: Duration) -> (i32, Vec<String>) {
        let deadline = Instant::now() + timeout;
        loop {
            let lines = self.capture(false);
            if let Some(code) = lines
                .iter()
                .rev()
                .find_map(|l| l.strip_prefix(EXIT_MARK)?.strip_suffix(']'))
            {
                let code = code.parse().expect("exit code");
                return (code, lines);
            }
            assert!(
                Instant::now() < deadline,
                "the command did not end within {timeout:?}; the screen:\n{}",
                lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Lines that wrapped: those of `capture(true)` longer than the pane.
    pub fn wrapped(&self) -> Vec<String> {
        self.capture(true)
            .into_iter()
            .filter(|l| l.chars().count() > self.width)
            .collect()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").output();
    }
}
