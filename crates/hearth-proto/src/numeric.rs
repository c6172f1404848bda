//! Numeric reply codes, named as on modern.ircdocs.horse (falling back to
//! RFC 2812, the IRCv3 specs, or the name the major servers share).
//!
//! One macro call produces both the `pub const`s and the lookup table, so the
//! two cannot drift. Codes are `&str` because they go straight into
//! [`Message::command`](crate::Message::command).

macro_rules! numerics {
    ($($(#[$doc:meta])* $name:ident = $code:literal;)*) => {
        $(
            $(#[$doc])*
            pub const $name: &str = $code;
        )*

        /// Every numeric as `(code, name)`, sorted by code.
        pub const ALL: &[(&str, &str)] = &[$(($code, stringify!($name))),*];
    };
}

numerics! {
    // Connection registration.
    RPL_WELCOME = "001";
    RPL_YOURHOST = "002";
    RPL_CREATED = "003";
    RPL_MYINFO = "004";
    RPL_ISUPPORT = "005";
    RPL_BOUNCE = "010";
    // STATS.
    RPL_STATSCOMMANDS = "212";
    RPL_ENDOFSTATS = "219";
    RPL_UMODEIS = "221";
    RPL_STATSUPTIME = "242";
    RPL_STATSOLINE = "243";
    // LUSERS and ADMIN.
    RPL_LUSERCLIENT = "251";
    RPL_LUSEROP = "252";
    RPL_LUSERUNKNOWN = "253";
    RPL_LUSERCHANNELS = "254";
    RPL_LUSERME = "255";
    RPL_ADMINME = "256";
    RPL_ADMINLOC1 = "257";
    RPL_ADMINLOC2 = "258";
    RPL_ADMINEMAIL = "259";
    RPL_TRYAGAIN = "263";
    RPL_LOCALUSERS = "265";
    RPL_GLOBALUSERS = "266";
    RPL_WHOISCERTFP = "276";
    // ACCEPT (caller-ID accept list, ircd-hybrid / InspIRCd callerid).
    RPL_ACCEPTLIST = "281";
    RPL_ENDOFACCEPT = "282";
    // Away, USERHOST, ISON.
    RPL_AWAY = "301";
    RPL_USERHOST = "302";
    RPL_ISON = "303";
    RPL_UNAWAY = "305";
    RPL_NOWAWAY = "306";
    // WHOIS / WHOWAS / WHO.
    RPL_WHOISUSER = "311";
    RPL_WHOISSERVER = "312";
    RPL_WHOISOPERATOR = "313";
    RPL_WHOWASUSER = "314";
    RPL_ENDOFWHO = "315";
    RPL_WHOISIDLE = "317";
    RPL_ENDOFWHOIS = "318";
    RPL_WHOISCHANNELS = "319";
    RPL_WHOISSPECIAL = "320";
    // LIST, channel state, topics.
    RPL_LISTSTART = "321";
    RPL_LIST = "322";
    RPL_LISTEND = "323";
    RPL_CHANNELMODEIS = "324";
    RPL_CREATIONTIME = "329";
    RPL_WHOISACCOUNT = "330";
    RPL_NOTOPIC = "331";
    RPL_TOPIC = "332";
    RPL_TOPICWHOTIME = "333";
    RPL_WHOISBOT = "335";
    /// The invites a *user* has pending (not the channel +I list; see 346).
    RPL_INVITELIST = "336";
    RPL_ENDOFINVITELIST = "337";
    RPL_WHOISACTUALLY = "338";
    RPL_INVITING = "341";
    /// Channel invite-exception (+I) list entry; RFC 2812 called it RPL_INVITELIST.
    RPL_INVEXLIST = "346";
    RPL_ENDOFINVEXLIST = "347";
    RPL_EXCEPTLIST = "348";
    RPL_ENDOFEXCEPTLIST = "349";
    RPL_VERSION = "351";
    RPL_WHOREPLY = "352";
    RPL_NAMREPLY = "353";
    /// WHOX reply.
    RPL_WHOSPCRPL = "354";
    RPL_LINKS = "364";
    RPL_ENDOFLINKS = "365";
    RPL_ENDOFNAMES = "366";
    RPL_BANLIST = "367";
    RPL_ENDOFBANLIST = "368";
    RPL_ENDOFWHOWAS = "369";
    // INFO, MOTD, OPER, TIME.
    RPL_INFO = "371";
    RPL_MOTD = "372";
    RPL_ENDOFINFO = "374";
    RPL_MOTDSTART = "375";
    RPL_ENDOFMOTD = "376";
    RPL_WHOISHOST = "378";
    RPL_WHOISMODES = "379";
    RPL_YOUREOPER = "381";
    RPL_REHASHING = "382";
    RPL_TIME = "391";
    /// The user's displayed (possibly cloaked) host changed.
    RPL_VISIBLEHOST = "396";
    // Errors.
    ERR_UNKNOWNERROR = "400";
    ERR_NOSUCHNICK = "401";
    ERR_NOSUCHSERVER = "402";
    ERR_NOSUCHCHANNEL = "403";
    ERR_CANNOTSENDTOCHAN = "404";
    ERR_TOOMANYCHANNELS = "405";
    ERR_WASNOSUCHNICK = "406";
    ERR_TOOMANYTARGETS = "407";
    ERR_NOORIGIN = "409";
    ERR_INVALIDCAPCMD = "410";
    ERR_NORECIPIENT = "411";
    ERR_NOTEXTTOSEND = "412";
    ERR_INPUTTOOLONG = "417";
    ERR_UNKNOWNCOMMAND = "421";
    ERR_NOMOTD = "422";
    ERR_NONICKNAMEGIVEN = "431";
    ERR_ERRONEUSNICKNAME = "432";
    ERR_NICKNAMEINUSE = "433";
    ERR_NICKCOLLISION = "436";
    ERR_USERNOTINCHANNEL = "441";
    ERR_NOTONCHANNEL = "442";
    ERR_USERONCHANNEL = "443";
    ERR_NOTREGISTERED = "451";
    ERR_ACCEPTEXIST = "457";
    ERR_ACCEPTNOT = "458";
    ERR_NEEDMOREPARAMS = "461";
    ERR_ALREADYREGISTERED = "462";
    ERR_PASSWDMISMATCH = "464";
    ERR_YOUREBANNEDCREEP = "465";
    ERR_CHANNELISFULL = "471";
    ERR_UNKNOWNMODE = "472";
    ERR_INVITEONLYCHAN = "473";
    ERR_BANNEDFROMCHAN = "474";
    ERR_BADCHANNELKEY = "475";
    ERR_BADCHANMASK = "476";
    /// "You need a registered nick to join that channel" (+R). RFC 2812's
    /// ERR_NOCHANMODES used this code; modern servers use it this way.
    ERR_NEEDREGGEDNICK = "477";
    ERR_BANLISTFULL = "478";
    ERR_NOPRIVILEGES = "481";
    ERR_CHANOPRIVSNEEDED = "482";
    ERR_CANTKILLSERVER = "483";
    ERR_NOOPERHOST = "491";
    ERR_UMODEUNKNOWNFLAG = "501";
    ERR_USERSDONTMATCH = "502";
    ERR_HELPNOTFOUND = "524";
    ERR_INVALIDKEY = "525";
    // STARTTLS, secure connections, HELP.
    RPL_STARTTLS = "670";
    RPL_WHOISSECURE = "671";
    ERR_STARTTLS = "691";
    ERR_INVALIDMODEPARAM = "696";
    RPL_HELPSTART = "704";
    RPL_HELPTXT = "705";
    RPL_ENDOFHELP = "706";
    // CALLERID (+g), privileges.
    ERR_TARGUMODEG = "716";
    RPL_TARGNOTIFY = "717";
    RPL_UMODEGMSG = "718";
    ERR_NOPRIVS = "723";
    // MONITOR (IRCv3).
    RPL_MONONLINE = "730";
    RPL_MONOFFLINE = "731";
    RPL_MONLIST = "732";
    RPL_ENDOFMONLIST = "733";
    ERR_MONLISTFULL = "734";
    // SASL (IRCv3).
    RPL_LOGGEDIN = "900";
    RPL_LOGGEDOUT = "901";
    ERR_NICKLOCKED = "902";
    RPL_SASLSUCCESS = "903";
    ERR_SASLFAIL = "904";
    ERR_SASLTOOLONG = "905";
    ERR_SASLABORTED = "906";
    ERR_SASLALREADY = "907";
    RPL_SASLMECHS = "908";
}

/// The name of numeric `code`, e.g. `name("001") == Some("RPL_WELCOME")`.
/// `None` for codes this table does not know.
pub fn name(code: &str) -> Option<&'static str> {
    ALL.binary_search_by(|(c, _)| (*c).cmp(code)).ok().map(|i| ALL[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_codes_unique() {
        for pair in ALL.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{:?} !< {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn codes_are_three_digits() {
        for (code, name) in ALL {
            assert!(code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()), "{name}");
            assert!(name.starts_with("RPL_") || name.starts_with("ERR_"), "{name}");
        }
    }

    #[test]
    fn lookup_by_code() {
        assert_eq!(name("001"), Some("RPL_WELCOME"));
        assert_eq!(name(ERR_CHANOPRIVSNEEDED), Some("ERR_CHANOPRIVSNEEDED"));
        assert_eq!(name("908"), Some("RPL_SASLMECHS"));
        assert_eq!(name("999"), None);
        assert_eq!(name(""), None);
    }

    #[test]
    fn names_match_their_constants() {
        assert_eq!(ERR_NOSUCHNICK, "401");
        assert_eq!(ERR_INPUTTOOLONG, "417");
        assert_eq!(RPL_WHOSPCRPL, "354");
        assert_eq!(ERR_INVALIDMODEPARAM, "696");
        assert_eq!(ERR_SASLFAIL, "904");
    }
}
