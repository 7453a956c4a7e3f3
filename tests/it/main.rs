//! The integration tests of werf-push, as one test binary (`cargo test --test it`): one
//! module per topic of an area (`push_formats`, `stages_gc`, `ux_hints`, ...), so a test's
//! name is `<module>::<test>` (e.g. `cargo test --test it push_formats::` runs the tests of
//! one module, `cargo test --test it push_` those of every push module). One binary links
//! the crate once instead of once per file.
//!
//! The tests run against real programs (`docker-registry`, `skopeo`, `umoci`, `nginx`,
//! `strace`; `scripts/deps.sh` installs them) through [`support`]. Each test starts what it
//! needs (its own registry, proxy, temporary directories) and changes no process-wide state
//! (no `std::env::set_var`, no working-directory change), so the modules share the process
//! safely and run in parallel.

mod support;

mod all_failures;
mod api;
mod auth;
mod backoff;
mod bad_input;
mod bench;
mod cache;
mod cleanup;
mod cleanup_concurrency;
mod cleanup_hostile;
mod cleanup_paths;
mod cleanup_safety;
mod compression;
mod exit_codes;
mod faults;
mod guidance;
mod hostile_auth;
mod hostile_fs_disk;
mod hostile_fs_files;
mod hostile_fs_links;
mod hostile_net;
mod hostile_pull;
mod hostile_read;
mod hostile_text;
mod hostile_writers;
mod integrity;
mod interop;
mod interrupt;
mod leftovers;
mod object_storage;
mod publish_bad_input;
mod publish_naming;
mod publish_stages;
mod push_broken_layout;
mod push_errors;
mod push_formats;
mod push_transfer;
mod quirks;
mod quirks_auth;
mod quirks_manifests;
mod quirks_uploads;
mod stages_add;
mod stages_gc;
mod stages_import;
mod stages_pull_bounds;
mod stages_pull_chains;
mod stages_pull_codes;
mod stages_pull_failures;
mod stages_pull_transfer;
mod stages_roundtrip;
mod stages_writer;
mod terminal;
mod tls;
mod token_auth;
mod ux_help;
mod ux_hints;
mod ux_push;
mod ux_results;
mod wan;
