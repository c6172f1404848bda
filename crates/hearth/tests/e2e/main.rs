//! End-to-end tests: the real server on 127.0.0.1:0, real TCP clients.
//!
//! One test binary with modules (faster to build and link than one binary per file).

mod harness;

mod accounts;
mod binary;
mod channels;
mod durability;
mod faults;
mod flow;
mod history;
mod ircv3;
mod login_limits;
mod monitor;
mod queries;
mod registration;
mod robustness;
mod sessions;
mod timeouts;
