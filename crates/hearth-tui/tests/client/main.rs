//! The client without a terminal or a socket: `apply`/`command` on plain state,
//! and screen snapshots drawn with ratatui's `TestBackend`.
//!
//! One test binary with modules (faster to build and link than one per file).

mod fixtures;

mod keys;
mod state;
mod tls;
mod view;
