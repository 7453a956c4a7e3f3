//! The `werf-push` binary: parses the command line and hands over to `cli`.

mod cli;

fn main() {
    limit_malloc_arenas();
    default_sigpipe();
    std::process::exit(cli::main());
}

/// `werf-push ... | head` ends quietly when the reader goes away, as other command-line
/// tools do, instead of panicking in `println!`. stdout carries only data printed at the
/// end of a command (after every upload and manifest), so nothing is cut short.
fn default_sigpipe() {
    // SAFETY: restoring a signal's default disposition; no other thread exists yet.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
