//! Command handlers, one file per command family. Each handler's first doc line is the
//! command's syntax.

pub mod accept;
pub mod account;
pub mod channel;
pub mod hearth_admin;
pub mod history;
pub mod login_tokens;
pub mod message;
pub mod mode;
pub mod monitor;
pub mod multiline;
pub mod oper;
pub mod query;
pub mod redact;
pub mod registration;
pub mod rename;
pub mod search;
pub mod server_info;
pub mod whowas;
