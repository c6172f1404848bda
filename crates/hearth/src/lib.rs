//! The `hearth` binary's library half: configuration loading and wiring, so that
//! end-to-end tests can start the real server in-process on `127.0.0.1:0`.
//!
//! # Layout
//! - [`config`]: the TOML configuration file, defaults and validation.
//! - [`app`]: binds listeners and starts core + network; graceful shutdown.
//! - `main.rs` / `cli/`: the command line (clap).
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
