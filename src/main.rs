//! The `werf-push` binary: parses the command line and hands over to `cli`.

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
