//! Pushes one image of an OCI layout to one or more references, with this user's docker or
//! podman login: `cargo run -p werf-push-api --example push -- oci:DIR[:REF] DEST...`.
//! `--insecure` first allows plain HTTP.

use std::process::ExitCode;

use werf_push_api::{Client, CredentialStore};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let insecure = args.first().is_some_and(|a| a == "--insecure");
    if insecure {
        args.remove(0);
    }
    let [source, dests @ ..] = args.as_slice() else {
        eprintln!("usage: push [--insecure] oci:DIR[:REF] DEST...");
        return ExitCode::from(2);
    };
    if dests.is_empty() {
        eprintln!("usage: push [--insecure] oci:DIR[:REF] DEST...");
        return ExitCode::from(2);
    }
    let client = Client::builder()
        .credentials(CredentialStore::from_lookup(None, None, |k| {
            std::env::var(k).ok()
        }))
        .insecure(insecure)
        .build();
    match client.push(source, dests).await {
        Ok(summary) => {
            for tag in &summary.tags {
                println!("{} {}", tag.reference, tag.digest);
            }
            println!(
                "{} blobs pushed, {} mounted, {} already there; {} bytes sent",
                summary.blobs_pushed,
                summary.blobs_mounted,
                summary.blobs_skipped,
                summary.bytes_sent
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e} ({:?})", e.kind());
            ExitCode::FAILURE
        }
    }
}
