//! `werf-push stages gc`: remove blobs no stage references and temporary files of
//! interrupted writes.

use anyhow::Result;
use clap::Args;
use werf_push_stages::gc::gc;

use crate::cli::flags::StorageArgs;
use crate::cli::size::human;
use crate::cli::tally::count;
use crate::cli::{exit, output};

#[derive(Args, Debug)]
pub struct GcArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: GcArgs) -> Result<i32> {
    let report = gc(&a.storage.path()?, a.dry_run)?;
    output::print(a.json, &report, || {
        let verb = if report.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let mut out = String::new();
        for i in &report.removed {
            out.push_str(&format!(
                "{verb} {} ({}, {})\n",
                i.path.display(),
                i.kind,
                human(i.size)
            ));
        }
        out.push_str(&format!(
            "{verb} {} ({}); {} in use",
            count(report.removed.len(), "file"),
            human(report.bytes),
            count(report.kept as usize, "blob")
        ));
        out
    })?;
    Ok(exit::SUCCESS)
}
