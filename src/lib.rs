//! werf-push: publish werf images and stages cache from an on-disk OCI layout straight to
//! registries, with no Docker daemon. Layers, each using only those below it:
//! `werf -> stages -> push -> registry -> transport -> auth -> spec`; `stages` and `push`
//! also use `layout`.
//! The command line lives in the binary (`src/cli`).

pub mod auth;
pub mod layout;
pub mod push;
pub mod registry;
pub mod spec;
pub mod stages;
pub mod transport;
pub mod werf;
