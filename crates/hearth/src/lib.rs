//! The `hearth` binary's library half: configuration loading and wiring, so that
//! end-to-end tests can start the real server in-process on `127.0.0.1:0`.
//!
//! # Layout
//! - [`config`]: the TOML configuration file, defaults and validation.
//! - [`app`]: binds listeners and starts core + network; graceful shutdown.
//! - [`datadir`]: the data directory's lock (one server per directory).
//! - [`control`]: the control socket admin commands use to reach the running server.
//! - [`tls`]: the TLS certificate (configured or self-signed) and its reload.
//! - `main.rs` / `cli/`: the command line (clap).
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod control;
pub mod datadir;
pub mod tls;
