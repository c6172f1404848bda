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
mod offline;
mod ordering;
mod outage;
mod presence;
mod queries;
mod registration;
mod requests;
mod robustness;
mod search;
mod sessions;
mod spec_replies;
mod timeouts;
mod tls;
mod tokens;
mod web;
