//! Command line: clap definitions -> library settings; the only place that prints, exits
//! and draws progress. `anyhow` lives here and nowhere else.

mod args;
mod exit;
mod output;
mod publish;
mod push;
mod settings;
mod size;
mod stages;

use clap::Parser;

pub use args::Cli;

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    output::init_logging(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            args::Command::Push(a) => push::run(a, &cli.global).await,
            args::Command::Publish(a) => publish::run(a, &cli.global).await,
            args::Command::Stages(c) => stages::run(c),
            args::Command::Slugify(a) => {
                println!("{}", werf_push::werf::slug::slugify_docker_tag(&a.string));
                Ok(exit::SUCCESS)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => exit::report(&e),
    }
}
