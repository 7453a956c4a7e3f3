//! `werf-push slugify -f docker-tag STRING`: werf's slug of a string, as a docker tag.

use anyhow::Result;
use clap::Args;

use super::{exit, output};

#[derive(Args, Debug)]
pub struct SlugifyArgs {
    /// Slug format (only docker-tag).
    #[arg(short, long, value_parser = ["docker-tag"], default_value = "docker-tag")]
    pub format: String,
    pub string: String,
}

pub fn run(a: &SlugifyArgs) -> Result<i32> {
    output::stdout(&format!(
        "{}\n",
        werf_push_werf::slug::slugify_docker_tag(&a.string)
    ))?;
    Ok(exit::SUCCESS)
}
