//! The `werf-push` binary: parses the command line and hands over to `cli`.

// The doc comments of the clap arguments are the command line's help text, written for
// `--help` (`oci:DIR[:REF]`, `REPO:image-stage-<signature>`), not rustdoc markup.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod cli;

fn main() {
    limit_malloc_arenas();
    std::process::exit(cli::main());
}

/// glibc gives every thread that allocates its own malloc arena (up to 8 per core), and
/// each keeps the memory freed into it. Transfers read their pieces on blocking threads
/// and hyper frees them on the runtime's workers: with the default, the peak RSS of
/// 8 x 16 MiB was 21-22 MiB and that of a 2 GiB layer varied by 3 MiB from run to run;
/// with two arenas, 20 MiB and 1.2 MiB (docs/performance.md). Called before any thread
/// starts.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
