//! Typed command errors, mapped to numerics in one place.
//!
//! Handlers return `Err(IrcError::…)`; the dispatcher turns it into the numeric reply
//! with [`IrcError::to_message`]. Nothing else builds error numerics by hand.

use hearth_proto::Message;
use hearth_proto::numeric::*;

/// A command failed; the variant picks the numeric the client gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IrcError {
    #[error("Not enough parameters")]
    NeedMoreParams,
    #[error("Unknown command")]
    UnknownCommand,
    #[error("You have not registered")]
    NotRegistered,
    #[error("You may not reregister")]
    AlreadyRegistered,
    #[error("No nickname given")]
    NoNicknameGiven,
    #[error("Erroneous nickname")]
    ErroneousNickname(String),
    #[error("Nickname is already in use")]
    NicknameInUse(String),
    #[error("Nickname belongs to another account; log in as its owner or choose another")]
    NicknameReserved(String),
    #[error("Password incorrect")]
    PasswdMismatch,
    #[error("No such nick/channel")]
    NoSuchNick(String),
    #[error("No such channel")]
    NoSuchChannel(String),
    #[error("You're not on that channel")]
    NotOnChannel(String),
    #[error("They aren't on that channel")]
    UserNotInChannel(String, String),
    #[error("is already on channel")]
    UserOnChannel(String, String),
    #[error("You're not channel operator")]
    ChanOpPrivsNeeded(String),
    #[error("Cannot send to channel")]
    CannotSendToChan(String, &'static str),
    #[error("You have joined too many channels")]
    TooManyChannels(String),
    #[error("Cannot join channel (+i)")]
    InviteOnlyChan(String),
    #[error("Cannot join channel (+k)")]
    BadChannelKey(String),
    #[error("Cannot join channel (+l)")]
    ChannelIsFull(String),
    #[error("Cannot join channel (+b)")]
    BannedFromChan(String),
    #[error("is unknown mode char to me")]
    UnknownMode(char),
    #[error("Unknown MODE flag")]
    UmodeUnknownFlag,
    #[error("Cant change mode for other users")]
    UsersDontMatch,
    #[error("Channel ban list is full")]
    BanListFull(String, char),
    #[error("No recipient given")]
    NoRecipient,
    #[error("No text to send")]
    NoTextToSend,
    #[error("Too many recipients")]
    TooManyTargets(String),
    #[error("Permission Denied- You're not an IRC operator")]
    NoPrivileges,
    #[error("Invalid CAP command")]
    InvalidCapCmd(String),
    #[error("Bad channel name")]
    BadChanMask(String),
    #[error("Invalid parameter")]
    InvalidModeParam(String, char, String, &'static str),
    /// An IRCv3 standard reply: `FAIL <command> <code> [context…] :<description>`.
    #[error("{2}")]
    Fail(&'static str, Vec<String>, String),
}

impl IrcError {
    /// The reply for `nick` (or `*` before registration) after `command` failed.
    pub fn to_message(&self, server: &str, nick: &str, command: &str) -> Message {
        let text = self.to_string();
        let (code, params): (&str, Vec<String>) = match self {
            IrcError::NeedMoreParams => (ERR_NEEDMOREPARAMS, vec![command.into()]),
            IrcError::UnknownCommand => (ERR_UNKNOWNCOMMAND, vec![command.into()]),
            IrcError::NotRegistered => (ERR_NOTREGISTERED, vec![]),
            IrcError::AlreadyRegistered => (ERR_ALREADYREGISTERED, vec![]),
            IrcError::NoNicknameGiven => (ERR_NONICKNAMEGIVEN, vec![]),
            IrcError::ErroneousNickname(n) => (ERR_ERRONEUSNICKNAME, vec![n.clone()]),
            IrcError::NicknameInUse(n) | IrcError::NicknameReserved(n) => (ERR_NICKNAMEINUSE, vec![n.clone()]),
            IrcError::PasswdMismatch => (ERR_PASSWDMISMATCH, vec![]),
            IrcError::NoSuchNick(n) => (ERR_NOSUCHNICK, vec![n.clone()]),
            IrcError::NoSuchChannel(c) => (ERR_NOSUCHCHANNEL, vec![c.clone()]),
            IrcError::NotOnChannel(c) => (ERR_NOTONCHANNEL, vec![c.clone()]),
            IrcError::UserNotInChannel(n, c) => (ERR_USERNOTINCHANNEL, vec![n.clone(), c.clone()]),
            IrcError::UserOnChannel(n, c) => (ERR_USERONCHANNEL, vec![n.clone(), c.clone()]),
            IrcError::ChanOpPrivsNeeded(c) => (ERR_CHANOPRIVSNEEDED, vec![c.clone()]),
            IrcError::CannotSendToChan(c, why) => {
                return numeric(
                    server,
                    ERR_CANNOTSENDTOCHAN,
                    nick,
                    [c.as_str()],
                    &format!("Cannot send to channel ({why})"),
                );
            }
            IrcError::TooManyChannels(c) => (ERR_TOOMANYCHANNELS, vec![c.clone()]),
            IrcError::InviteOnlyChan(c) => (ERR_INVITEONLYCHAN, vec![c.clone()]),
            IrcError::BadChannelKey(c) => (ERR_BADCHANNELKEY, vec![c.clone()]),
            IrcError::ChannelIsFull(c) => (ERR_CHANNELISFULL, vec![c.clone()]),
            IrcError::BannedFromChan(c) => (ERR_BANNEDFROMCHAN, vec![c.clone()]),
            IrcError::UnknownMode(m) => (ERR_UNKNOWNMODE, vec![m.to_string()]),
            IrcError::UmodeUnknownFlag => (ERR_UMODEUNKNOWNFLAG, vec![]),
            IrcError::UsersDontMatch => (ERR_USERSDONTMATCH, vec![]),
            IrcError::BanListFull(c, m) => (ERR_BANLISTFULL, vec![c.clone(), m.to_string()]),
            IrcError::NoRecipient => {
                return numeric(server, ERR_NORECIPIENT, nick, [], &format!("No recipient given ({command})"));
            }
            IrcError::NoTextToSend => (ERR_NOTEXTTOSEND, vec![]),
            IrcError::TooManyTargets(t) => (ERR_TOOMANYTARGETS, vec![t.clone()]),
            IrcError::NoPrivileges => (ERR_NOPRIVILEGES, vec![]),
            IrcError::InvalidCapCmd(sub) => (ERR_INVALIDCAPCMD, vec![sub.clone()]),
            IrcError::BadChanMask(c) => (ERR_BADCHANMASK, vec![c.clone()]),
            IrcError::InvalidModeParam(target, mode, param, why) => {
                return numeric(
                    server,
                    ERR_INVALIDMODEPARAM,
                    nick,
                    [target.as_str(), &mode.to_string(), param.as_str()],
                    why,
                );
            }
            IrcError::Fail(code, context, description) => {
                let mut m = Message::new("FAIL").with_source(server).with_param(command).with_param(*code);
                for c in context {
                    m = m.with_param(c.as_str());
                }
                return m.with_param(description.as_str());
            }
        };
        numeric(server, code, nick, params.iter().map(String::as_str), &text)
    }
}

/// Builds `:server CODE nick params… :text`.
pub fn numeric<'a>(
    server: &str,
    code: &str,
    nick: &str,
    params: impl IntoIterator<Item = &'a str>,
    text: &str,
) -> Message {
    let mut m = Message::new(code).with_source(server).with_param(nick);
    for p in params {
        m = m.with_param(p);
    }
    m.with_param(text)
}
