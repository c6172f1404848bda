//! End-to-end tests: the real server on 127.0.0.1:0, real TCP clients.
//!
//! One test binary with modules (faster to build and link than one binary per file).

mod harness;

mod accounts;
mod admin;
mod binary;
mod channels;
mod chat;
mod commands;
mod diskfull;
mod durability;
mod events;
mod faults;
mod flow;
mod history;
mod ircv3;
mod lists;
mod login_limits;
mod monitor;
mod ordering;
mod outage;
mod queries;
mod registration;
mod robustness;
mod sessions;
mod spec_replies;
mod timeouts;
