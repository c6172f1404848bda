//! The command table: preconditions are checked here, once, for every handler.

use hearth_proto::Message;

use crate::error::IrcError;
use crate::handlers::{
    accept, account, channel, hearth_admin, history, message, mode, monitor, multiline, oper, query, redact,
    registration, rename, search, server_info, whowas,
};
use crate::server::{Ctx, Server};

/// A handler: applies one command, writes replies to `ctx`.
pub type Handler = fn(&mut Server, &mut Ctx, &Message) -> Result<(), IrcError>;

/// What a command needs before its handler runs.
pub struct Spec {
    pub handler: Handler,
    /// Parameters that must be present (else ERR_NEEDMOREPARAMS).
    pub min_params: usize,
    /// Must the client have finished registration (else ERR_NOTREGISTERED)?
    pub registered: bool,
    /// Operator only (else ERR_NOPRIVILEGES).
    pub oper: bool,
}

const fn spec(handler: Handler, min_params: usize, registered: bool) -> Spec {
    Spec { handler, min_params, registered, oper: false }
}

const fn oper_only(handler: Handler, min_params: usize) -> Spec {
    Spec { handler, min_params, registered: true, oper: true }
}

/// Every command in the table (for HELP and its test).
pub const COMMANDS: &[&str] = &[
    "ACCEPT",
    "ADMIN",
    "AUTHENTICATE",
    "AWAY",
    "CAP",
    "CHATHISTORY",
    "HEARTH",
    "HELP",
    "HELPOP",
    "INFO",
    "INVITE",
    "ISON",
    "JOIN",
    "KICK",
    "KILL",
    "LINKS",
    "LIST",
    "LUSERS",
    "MARKREAD",
    "MODE",
    "MOTD",
    "NAMES",
    "NICK",
    "NOTICE",
    "OPER",
    "PART",
    "PASS",
    "PING",
    "PONG",
    "PRIVMSG",
    "QUIT",
    "REGISTER",
    "SEARCH",
    "SETNAME",
    "STATS",
    "TAGMSG",
    "TIME",
    "TOPIC",
    "USER",
    "USERHOST",
    "VERSION",
    "WALLOPS",
    "WHO",
    "WHOIS",
    "WHOWAS",
];

/// Looks a command up; `None` means ERR_UNKNOWNCOMMAND.
pub fn lookup(command: &str) -> Option<Spec> {
    Some(match command {
        "CAP" => spec(registration::cap, 1, false),
        "PASS" => spec(registration::pass, 1, false),
        "NICK" => spec(registration::nick, 0, false),
        "USER" => spec(registration::user, 4, false),
        "PING" => spec(registration::ping, 1, false),
        "PONG" => spec(registration::pong, 0, false),
        "QUIT" => spec(registration::quit, 0, false),
        "AUTHENTICATE" => spec(account::authenticate, 1, false),
        "REGISTER" => spec(account::register, 3, false),
        "CHATHISTORY" => spec(history::chathistory, 1, true),
        // draft/read-marker wants `FAIL MARKREAD NEED_MORE_PARAMS`, not 461.
        "MARKREAD" => spec(history::markread, 0, true),
        "SEARCH" => spec(search::search, 1, true),
        "JOIN" => spec(channel::join, 1, true),
        "PART" => spec(channel::part, 1, true),
        "TOPIC" => spec(channel::topic, 1, true),
        "NAMES" => spec(channel::names, 0, true),
        "LIST" => spec(channel::list, 0, true),
        "KICK" => spec(channel::kick, 2, true),
        "INVITE" => spec(channel::invite, 2, true),
        "PRIVMSG" => spec(message::privmsg, 0, true),
        "NOTICE" => spec(message::notice, 0, true),
        "TAGMSG" => spec(message::tagmsg, 1, true),
        "BATCH" => spec(multiline::batch, 1, true),
        "REDACT" => spec(redact::redact, 2, true),
        "RENAME" => spec(rename::rename, 2, true),
        "MODE" => spec(mode::mode, 1, true),
        "MONITOR" => spec(monitor::monitor, 1, true),
        "ACCEPT" => spec(accept::accept, 1, true),
        "WHO" => spec(query::who, 0, true),
        "WHOIS" => spec(query::whois, 1, true),
        "AWAY" => spec(query::away, 0, true),
        "ISON" => spec(query::ison, 1, true),
        "USERHOST" => spec(query::userhost, 1, true),
        "MOTD" => spec(query::motd, 0, true),
        "LUSERS" => spec(query::lusers, 0, true),
        "VERSION" => spec(query::version, 0, true),
        "TIME" => spec(query::time, 0, true),
        "SETNAME" => spec(query::setname, 1, true),
        "KILL" => oper_only(query::kill, 1),
        "WHOWAS" => spec(whowas::whowas, 0, true),
        "OPER" => spec(oper::oper, 2, true),
        "WALLOPS" => oper_only(oper::wallops, 1),
        // TOKEN is for everyone logged in; the rest checks for an operator (481) itself.
        "HEARTH" => spec(hearth_admin::hearth, 1, true),
        "INFO" => spec(server_info::info, 0, true),
        "LINKS" => spec(server_info::links, 0, true),
        "ADMIN" => spec(server_info::admin, 0, true),
        "STATS" => spec(server_info::stats, 1, true),
        "HELP" | "HELPOP" => spec(server_info::help, 0, true),
        _ => return None,
    })
}

/// Checks preconditions and runs the handler for `msg`.
pub fn dispatch(server: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let Some(spec) = lookup(&msg.command) else {
        // Before registration only registration commands exist (RFC 2812 §3.1).
        if !server.is_registered(ctx.id) {
            return Err(IrcError::NotRegistered);
        }
        return Err(IrcError::UnknownCommand);
    };
    if spec.registered && !server.is_registered(ctx.id) {
        return Err(IrcError::NotRegistered);
    }
    if msg.params.len() < spec.min_params {
        return Err(IrcError::NeedMoreParams);
    }
    if spec.oper && !server.client(ctx.id).oper {
        return Err(IrcError::NoPrivileges);
    }
    // STATS m: uses of each command that got past the checks, by its table name.
    if let Some(name) = COMMANDS.iter().find(|c| c.eq_ignore_ascii_case(&msg.command)) {
        *server.stats.commands.entry(name).or_default() += 1;
    }
    (spec.handler)(server, ctx, msg)
}
