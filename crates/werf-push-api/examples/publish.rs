//! Publishes a werf project from its stages storage, as `werf publish --tag-custom TAG`:
//! `cargo run -p werf-push-api --example publish -- PROJECT_DIR STAGES_DIR REPO TAG`.
//! `--insecure` first allows plain HTTP.

use std::process::ExitCode;

use werf_push_api::{printable, Client, CredentialStore, Publish};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let insecure = args.first().is_some_and(|a| a == "--insecure");
    if insecure {
        args.remove(0);
    }
    let [dir, stages, repo, tag] = args.as_slice() else {
        eprintln!("usage: publish [--insecure] PROJECT_DIR STAGES_DIR REPO TAG");
        return ExitCode::from(2);
    };
    let client = Client::builder()
        .credentials(CredentialStore::from_lookup(None, None, |k| {
            std::env::var(k).ok()
        }))
        .insecure(insecure)
        .build();
    let project = Publish::new(dir, stages, repo).tag_custom(tag);
    match client.publish(&project).await {
        Ok(published) => {
            for r in &published.report.references {
                println!(
                    "{} {} {}",
                    printable(&r.werf_image_name),
                    r.reference,
                    r.docker_image_digest
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e} ({:?})", e.kind());
            ExitCode::FAILURE
        }
    }
}
