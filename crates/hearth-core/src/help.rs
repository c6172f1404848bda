//! The HELP texts: an index and one entry for every command in the dispatch table
//! (a unit test keeps the two in step). The first line of each entry is its title
//! (RPL_HELPSTART); the rest are the body (RPL_HELPTXT).

/// `(subject, text)`, subjects uppercase. `INDEX` is what a bare `HELP` shows.
pub const TOPICS: &[(&str, &str)] = &[
    (
        "INDEX",
        "** Hearth help **
Hearth is a private chat server that speaks IRC.
Try HELP <command> for one command, e.g. HELP JOIN.
Commands: ACCEPT ADMIN AUTHENTICATE AWAY CAP CHATHISTORY HEARTH HELP HELPOP INFO INVITE ISON JOIN
KICK KILL LINKS LIST LUSERS MARKREAD MODE MOTD NAMES NICK NOTICE OPER PART PASS
PING PONG PRIVMSG QUIT REGISTER SEARCH SETNAME STATS TAGMSG TIME TOPIC USER
USERHOST VERSION WALLOPS WHO WHOIS WHOWAS
Also: HELP UMODES (user modes), HELP CMODES (channel modes), HELP EXTBANS.",
    ),
    (
        "ACCEPT",
        "** ACCEPT <nick> | ACCEPT -<nick> | ACCEPT * **
Chat requests: someone you have not accepted who writes to you privately sends a
chat request; their first messages are held until you answer.
ACCEPT <nick> accepts: the held messages arrive, and you both see your earlier
conversation. ACCEPT -<nick> declines (their messages are discarded), withdraws
your own request, or takes <nick> off your accept list. ACCEPT * lists whom you
accept and the requests waiting. In irssi: /quote ACCEPT <nick>.",
    ),
    (
        "ADMIN",
        "** ADMIN [<server>] **
Shows who runs this server and how to reach them.",
    ),
    (
        "AUTHENTICATE",
        "** AUTHENTICATE <mechanism> | <base64> | * **
Logs in with SASL (request the sasl capability first). Hearth offers PLAIN:
AUTHENTICATE PLAIN, then AUTHENTICATE base64(\\0account\\0password).
Over TLS with a client certificate registered to your account (hearth user cert
add): AUTHENTICATE EXTERNAL, then AUTHENTICATE +.
AUTHENTICATE * aborts.",
    ),
    (
        "AWAY",
        "** AWAY [<message>] **
Marks you away with <message>, or back when given none. People who message you
or WHOIS you see the message.",
    ),
    (
        "CAP",
        "** CAP LS [302] | CAP LIST | CAP REQ :<caps> | CAP END **
Negotiates IRCv3 capabilities. Registration waits for CAP END once CAP LS or
CAP REQ was sent.",
    ),
    (
        "CHATHISTORY",
        "** CHATHISTORY <subcommand> <target> … **
Fetches stored history (draft/chathistory): LATEST, BEFORE, AFTER, AROUND,
BETWEEN with msgid= or timestamp= references, and TARGETS.",
    ),
    (
        "HELP",
        "** HELP [<subject>] **
Shows help on a command or topic; HELP alone shows the index. HELPOP is the
same command.",
    ),
    (
        "HELPOP",
        "** HELPOP [<subject>] **
The same as HELP, for clients that ask with HELPOP.",
    ),
    (
        "INFO",
        "** INFO **
Shows the server software, its version and when this server started.",
    ),
    (
        "INVITE",
        "** INVITE <nick> <channel> **
Invites <nick> to <channel>; an invitation lets them past +i, +b, +k and +l once.
On an invite-only channel only channel operators may invite.",
    ),
    (
        "ISON",
        "** ISON <nick>{ <nick>} **
Tells which of the given nicknames are online.",
    ),
    (
        "JOIN",
        "** JOIN <channel>{,<channel>} [<key>{,<key>}] | JOIN 0 **
Joins channels, creating them if needed (you become their operator).
JOIN 0 leaves every channel you are in.",
    ),
    (
        "KICK",
        "** KICK <channel> <nick>{,<nick>} [<reason>] **
Removes one or more people from a channel. Channel operators only.",
    ),
    (
        "KILL",
        "** KILL <nick> [<reason>] **
Disconnects <nick> from the server. IRC operators only.",
    ),
    (
        "LINKS",
        "** LINKS **
Lists the servers of this network: Hearth is a single server.",
    ),
    (
        "LIST",
        "** LIST [<channel>{,<channel>}] [<filter>{,<filter>}] **
Lists channels with their user counts and topics. Filters (ELIST=CMNTU):
>n / <n: more / fewer than n users; C>n / C<n: created more / less than n
minutes ago; T>n / T<n: topic set more / less than n minutes ago;
a mask such as #hearth* to match names, !mask to exclude them.",
    ),
    (
        "LUSERS",
        "** LUSERS **
Shows how many users, operators and channels there are.",
    ),
    (
        "MARKREAD",
        "** MARKREAD <target> [timestamp=<time>] **
Gets or sets how far you have read a conversation (draft/read-marker).",
    ),
    (
        "MODE",
        "** MODE <target> [<modes> [<arguments>…]] **
Shows or changes the modes of a channel or of yourself.
MODE #channel b (or e, I) lists its bans (exceptions, invite exceptions).
See HELP CMODES, HELP UMODES and HELP EXTBANS.",
    ),
    (
        "MOTD",
        "** MOTD [<server>] **
Shows the message of the day.",
    ),
    (
        "NAMES",
        "** NAMES [<channel>{,<channel>}] **
Lists the people in each channel, with @ for operators and + for voiced.",
    ),
    (
        "NICK",
        "** NICK <nickname> **
Sets or changes your nickname. Nicknames of accounts are reserved for them.",
    ),
    (
        "NOTICE",
        "** NOTICE <target>{,<target>} <text> **
Like PRIVMSG, but never answered automatically (no errors, no away replies).",
    ),
    (
        "OPER",
        "** OPER <account> <password> **
Makes you an IRC operator, if <account> is an administrator account of this
server and <password> is its password.",
    ),
    (
        "PART",
        "** PART <channel>{,<channel>} [<reason>] **
Leaves channels.",
    ),
    (
        "PASS",
        "** PASS <password> | PASS <account>:<password> **
Gives the server password before registering, or logs in to an account.",
    ),
    (
        "PING",
        "** PING <token> **
Asks the server to answer with PONG <token>.",
    ),
    (
        "PONG",
        "** PONG [<server>] <token> **
Answers a PING from the server.",
    ),
    (
        "PRIVMSG",
        "** PRIVMSG <target>{,<target>} <text> **
Sends a message to people or channels. @#channel reaches only its operators,
+#channel its voiced people and operators.",
    ),
    (
        "QUIT",
        "** QUIT [<reason>] **
Disconnects, telling the people in your channels <reason>.",
    ),
    (
        "REGISTER",
        "** REGISTER <account> <email> <password> **
Creates an account (draft/account-registration), when this server allows
sign-up; * as <account> means your current nickname.",
    ),
    (
        "SEARCH",
        "** SEARCH <key>=<value>[;<key>=<value>…] **
Searches the history you may read (soju.im/search): the rooms you are in and
your own conversations. Keys: text (words), from (nick), in (room or nick),
after, before (timestamps), limit. Write a space in a value as \\s.",
    ),
    (
        "SETNAME",
        "** SETNAME <realname> **
Changes your real name (the setname capability tells others).",
    ),
    (
        "STATS",
        "** STATS <query> **
Server statistics: u (uptime), m (command use counts), o (operators online).
IRC operators only for o.",
    ),
    (
        "TAGMSG",
        "** TAGMSG <target>{,<target>} **
Sends only message tags, e.g. typing notifications (message-tags).",
    ),
    (
        "TIME",
        "** TIME [<server>] **
Shows the server's time.",
    ),
    (
        "TOPIC",
        "** TOPIC <channel> [<topic>] **
Shows the topic, or sets it (an empty topic clears it). With +t only channel
operators may set it.",
    ),
    (
        "USER",
        "** USER <username> <mode> <unused> <realname> **
Gives your username and real name while registering.",
    ),
    (
        "USERHOST",
        "** USERHOST <nick>{ <nick>} **
Shows user@host of up to five people, * for operators, - when away.",
    ),
    (
        "VERSION",
        "** VERSION [<server>] **
Shows the server version and its ISUPPORT tokens.",
    ),
    (
        "HEARTH",
        "** HEARTH WHO | ROOMS | STATS | KICK <nick> [<reason>] | BROADCAST <text> | PURGE <#room> [<before>] **
** HEARTH USERADD <name> <password> [admin] | PASSWD <name> <password> **
** HEARTH TOKEN NEW [<device>] | LIST | REVOKE <id|*> **
The administrator's commands from inside IRC (IRC operators only), the same as
`hearth admin` and `hearth user` on the server's machine: who is online, rooms,
statistics, disconnect someone, a notice to everyone, delete a room's history (from
history and replay at once; <before> as 2026-11-21T12:00:00Z keeps what is newer),
create an account (add `admin` for an administrator) and set a new password
(names follow the nickname rules, passwords need at least 8 characters).
HEARTH TOKEN is for everyone logged in: login tokens that log in to your account
(SASL PLAIN with the password token:<token>) without your password; list and revoke them.
In irssi: /quote HEARTH WHO.",
    ),
    (
        "WALLOPS",
        "** WALLOPS <text> **
Sends <text> to everyone with user mode +w. IRC operators only.",
    ),
    (
        "WHO",
        "** WHO <mask> [%<fields>[,<token>]] **
Lists people in a channel or matching a mask; flags: H here, G away,
* operator, @/+ channel status, B bot. A second parameter starting with %
asks for WHOX fields.",
    ),
    (
        "WHOIS",
        "** WHOIS [<server>] <nick> **
Shows who someone is: user@host, channels, account, idle time, bot, away.",
    ),
    (
        "WHOWAS",
        "** WHOWAS <nick> [<count>] **
Shows who last used a nickname that is no longer online, newest first.",
    ),
    (
        "UMODES",
        "** User modes **
+i invisible: hidden from WHO and NAMES for people who share no channel.
+w wallops: receive WALLOPS.
+B bot: marks you as a bot (WHOIS, WHO flag B, a bot tag on your messages).
+o IRC operator: given by OPER or an admin login; -o drops it.
+g caller-ID: private messages from people you have not accepted arrive as chat
requests (on by default; -g lets anyone write, see HELP ACCEPT).",
    ),
    (
        "CMODES",
        "** Channel modes **
+b <mask> ban, +e <mask> ban exception, +I <mask> invite exception;
+k <key> key, +l <n> user limit; +i invite only, +m moderated,
+n no messages from outside, +s secret, +t only operators set the topic;
+H only what was said since one joined is readable (history visibility);
+o <nick> operator, +v <nick> voice.",
    ),
    (
        "EXTBANS",
        "** Extended bans (EXTBAN=~,aq) **
~a:<account> matches people logged in to that account (wildcards allowed);
use it with +b, +e or +I.
~q:<mask> mutes matching people: they may join but not speak unless voiced.",
    ),
];

/// The help text for `subject` (case-insensitive): its title and body lines.
pub fn lookup(subject: &str) -> Option<(&'static str, Vec<&'static str>)> {
    let subject = subject.to_ascii_uppercase();
    let (_, text) = TOPICS.iter().find(|(s, _)| *s == subject)?;
    let mut lines = text.lines();
    let title = lines.next().unwrap_or_default();
    Some((title, lines.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command the dispatcher knows has help, and the index names them all.
    #[test]
    fn every_command_has_help() {
        let index = lookup("index").unwrap().1.join(" ");
        for cmd in crate::dispatch::COMMANDS {
            assert!(lookup(cmd).is_some(), "no HELP for {cmd}");
            assert!(index.split_whitespace().any(|w| w == *cmd), "{cmd} missing from the index");
        }
    }

    #[test]
    fn lines_fit_in_a_numeric() {
        for (subject, text) in TOPICS {
            for line in text.lines() {
                assert!(line.len() < 400, "{subject}: {line}");
            }
        }
    }
}
