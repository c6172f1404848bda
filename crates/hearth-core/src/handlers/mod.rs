//! Command handlers, one file per command family. Each handler's first doc line is the
//! command's syntax.

pub mod account;
pub mod channel;
pub mod history;
pub mod message;
pub mod mode;
pub mod monitor;
pub mod query;
pub mod registration;
