//! Pulls the stages cache (`REPO:image-stage-*`) into a stages storage:
//! `cargo run -p werf-push-api --example pull_stages -- STAGES_DIR REPO`.
//! `--insecure` first allows plain HTTP.

use std::process::ExitCode;

use werf_push_api::{printable, Client, CredentialStore};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let insecure = args.first().is_some_and(|a| a == "--insecure");
    if insecure {
        args.remove(0);
    }
    let [stages, repo] = args.as_slice() else {
        eprintln!("usage: pull_stages [--insecure] STAGES_DIR REPO");
        return ExitCode::from(2);
    };
    let client = Client::builder()
        .credentials(CredentialStore::from_lookup(None, None, |k| {
            std::env::var(k).ok()
        }))
        .insecure(insecure)
        .build();
    match client.pull_stages(stages, repo).await {
        Ok(report) => {
            for s in &report.pulled {
                println!("{} {} {}", printable(&s.image), s.stage, s.signature);
            }
            match report.incomplete(repo) {
                Some(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
                None => ExitCode::SUCCESS,
            }
        }
        Err(e) => {
            eprintln!("error: {e} ({:?})", e.kind());
            ExitCode::FAILURE
        }
    }
}
