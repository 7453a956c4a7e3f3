//! Integration-test support for werf-push: a real `docker-registry` per test
//! ([`registry`]), `skopeo` as an independent second client ([`skopeo`]), and running the
//! `werf-push` binary ([`cmd`]), OCI layouts to push, generated or written by `umoci`
//! ([`layouts`]), a fault/quirk proxy in front of the registry ([`proxy`]; what it does in
//! [`proxy_config`], [`proxy_rules`], [`proxy_quirks`], [`proxy_quirks_rewrite`] and
//! [`proxy_hostile`]), and helpers
//! of the push tests of every area ([`scenario`]); for auth and TLS: a token issuer ([`token`]),
//! nginx as TLS terminator with a test CA ([`nginx`]), header-logging relays
//! ([`authproxy`]) and isolated werf-push runs ([`isolated`]); podman and buildah writing
//! archives, layouts and logins ([`containers`]); a cutting/corrupting pull proxy of the
//! stages tests ([`cutproxy`]); the long-running programs, each stopped with its whole
//! process group when its test ends or panics ([`process`]); an S3 emulator for a registry
//! on object storage ([`s3`]); a real terminal to read screens off ([`screen`], tmux); git
//! repositories with dated commits, branches and tags for the cleanup tests ([`gitrepo`]);
//! an emulated wide-area link that counts round trips ([`wan`]).
//! Helpers shared by the test files of one area: the push tests ([`push`]: `push --json`
//! and its summary, a failure's stderr and exit code), the stages tests ([`stages`]: runs
//! on a stages storage, its entries, a published storage), the publish and cleanup tests
//! ([`example`]: the example project; [`cleanup`]: its git repository, cleanup and purge
//! runs), the hostile-filesystem tests ([`hostile_fs`]).
//! The proxies, relays, token issuer and WAN link are one small kit: a TCP server on a free
//! port that stops when dropped ([`server`]) and, for all but the WAN link (which sees only
//! bytes), the HTTP/1.1 exchange, forwarding and wire ([`http`]).
//! Declared once in `tests/it/main.rs`; a test module uses it as `crate::support::...`.
//!
//! External tools (`docker-registry`, `skopeo`, `umoci`, `podman`, `buildah`) are required:
//! a missing one is a panic that says how to install it, never a silent skip.

pub mod authproxy;
pub mod cleanup;
pub mod cmd;
pub mod containers;
pub mod cutproxy;
pub mod example;
pub mod gitrepo;
pub mod hostile_fs;
pub mod http;
pub mod isolated;
pub mod layouts;
pub mod nginx;
pub mod process;
pub mod proxy;
pub mod proxy_config;
pub mod proxy_hostile;
pub mod proxy_quirks;
pub mod proxy_quirks_rewrite;
pub mod proxy_rules;
pub mod push;
pub mod registry;
pub mod s3;
pub mod scenario;
pub mod screen;
pub mod server;
pub mod skopeo;
pub mod stages;
pub mod token;
pub mod wan;
