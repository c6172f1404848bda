//! `hearth export`: a room's or a conversation's history as a readable log
//! (text) or as JSON Lines, to standard output or one file per UTC day.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use hearth_store::{StoredMessage, Timestamp};
use serde::Serialize;

use super::time::{self, CliTime, DAY_MS};
use super::{Ctx, Target, count};

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["room", "conversation"]))]
pub struct ExportArgs {
    /// The room to export, e.g. #general (the # may be left out). Case does not matter.
    #[arg(long, value_name = "NAME")]
    room: Option<String>,
    /// A direct conversation to export, given as the two nicks: alice,bob.
    #[arg(long, value_name = "NICK,NICK")]
    conversation: Option<String>,
    /// Only this UTC day.
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with_all = ["since", "until"])]
    date: Option<String>,
    /// From this time on (inclusive): YYYY-MM-DD (midnight UTC) or RFC 3339.
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Up to this time (inclusive): YYYY-MM-DD means up to the end of that
    /// UTC day; RFC 3339 means up to that instant.
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// `text`: a log as people read it. `json`: one JSON object per line
    /// (time, msgid, nick, account, command, text).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write one file per UTC day into DIR (created if missing; existing files
    /// of the same days are replaced), named `<room>-YYYY-MM-DD.txt` (or
    /// `.jsonl`), instead of writing everything to standard output.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Json => "jsonl",
        }
    }
}

/// The requested window, inclusive at both ends, with how to show its ends.
struct Window {
    from: Timestamp,
    to: Timestamp,
    from_label: Option<String>,
    to_label: Option<String>,
}

impl Window {
    fn from_args(args: &ExportArgs) -> anyhow::Result<Window> {
        if let Some(date) = &args.date {
            let day = time::parse(date)?;
            if !day.date_only {
                bail!("--date takes a day, YYYY-MM-DD; for a time range use --since and --until");
            }
            let label = Some(time::date(day.at));
            let to = Timestamp::from_millis(day.at.as_millis() + DAY_MS - 1);
            return Ok(Window { from: day.at, to, from_label: label.clone(), to_label: label });
        }
        let since = args.since.as_deref().map(time::parse).transpose()?;
        let until = args.until.as_deref().map(time::parse).transpose()?;
        let label = |t: CliTime| if t.date_only { time::date(t.at) } else { time::human(t.at) };
        let window = Window {
            from: since.map_or(Timestamp::MIN, |s| s.at),
            to: until.map_or(Timestamp::MAX, |u| {
                if u.date_only { Timestamp::from_millis(u.at.as_millis() + DAY_MS - 1) } else { u.at }
            }),
            from_label: since.map(label),
            to_label: until.map(label),
        };
        if window.from > window.to {
            bail!("--since is later than --until; swap them");
        }
        Ok(window)
    }

    /// `2026-11-20 to 2026-11-21`, or one day; open ends show the first or
    /// last message's day.
    fn describe(&self, messages: &[StoredMessage]) -> String {
        if messages.is_empty() && self.from_label.is_none() && self.to_label.is_none() {
            return "the whole history".into();
        }
        let first = || messages.first().map(|m| time::date(m.time)).unwrap_or_else(|| "the beginning".into());
        let last = || messages.last().map(|m| time::date(m.time)).unwrap_or_else(|| "now".into());
        let from = self.from_label.clone().unwrap_or_else(first);
        let to = self.to_label.clone().unwrap_or_else(last);
        if from == to { from } else { format!("{from} to {to}") }
    }
}

/// Runs `hearth export`.
pub async fn run(ctx: &Ctx, args: ExportArgs) -> anyhow::Result<()> {
    let Some(target) = Target::from_args(args.room.as_deref(), args.conversation.as_deref())? else {
        bail!("say what to export with --room NAME or --conversation NICK,NICK");
    };
    let window = Window::from_args(&args)?;
    // Everything delivered must be in the export, also right after a crash.
    let (store, _lock) = ctx.history_store().await?;
    let messages = store.export(&target.key(), window.from, window.to).await?;
    if messages.is_empty() {
        eprintln!(
            "no messages stored for {} in {} ({}); names ignore case, so check the spelling, and the dates (UTC)",
            target.describe(),
            window.describe(&messages),
            ctx.describe_store()
        );
        return Ok(());
    }
    match &args.out {
        Some(dir) => write_days(dir, &target, args.format, &messages),
        None => {
            let header = header(&target, &window.describe(&messages));
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            match render(&mut out, &header, args.format, &messages).and_then(|()| out.flush()) {
                // `hearth export … | head` is fine.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("cannot write to standard output"),
            }
        }
    }
}

fn header(target: &Target, range: &str) -> String {
    format!("Hearth log of {}, {range} (times are UTC)", target.describe())
}

/// One file per UTC day that has messages.
fn write_days(dir: &Path, target: &Target, format: Format, messages: &[StoredMessage]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!("cannot create the output directory {}; check the path and permissions", dir.display())
    })?;
    for day in messages.chunk_by(|a, b| time::date(a.time) == time::date(b.time)) {
        let date = time::date(day[0].time);
        let path = dir.join(format!("{}-{date}.{}", target.file_stem(), format.extension()));
        let write = || -> std::io::Result<()> {
            let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
            render(&mut file, &header(target, &date), format, day)?;
            file.into_inner().map_err(|e| e.into_error())?.sync_all()
        };
        write().with_context(|| {
            format!("cannot write {}; check the directory's permissions and free space", path.display())
        })?;
        println!("wrote {} ({})", path.display(), count(day.len() as u64, "message"));
    }
    Ok(())
}

fn render(out: &mut impl Write, header: &str, format: Format, messages: &[StoredMessage]) -> std::io::Result<()> {
    match format {
        Format::Text => {
            writeln!(out, "{header}")?;
            for line in messages.iter().filter_map(text_line) {
                writeln!(out, "{line}")?;
            }
        }
        Format::Json => {
            for m in messages {
                serde_json::to_writer(&mut *out, &JsonLine::from(m))?;
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// One line of `--format json`.
#[derive(Serialize)]
struct JsonLine<'a> {
    /// RFC 3339, UTC, milliseconds.
    time: String,
    msgid: &'a str,
    /// The sender's nick at the time.
    nick: &'a str,
    /// The sender's account, when logged in.
    account: Option<&'a str>,
    command: &'a str,
    /// As sent, CTCP and formatting codes included.
    text: &'a str,
}

impl<'a> From<&'a StoredMessage> for JsonLine<'a> {
    fn from(m: &'a StoredMessage) -> Self {
        JsonLine {
            time: time::rfc3339(m.time),
            msgid: &m.msgid,
            nick: nick_of(&m.sender),
            account: m.sender_account.as_deref(),
            command: &m.command,
            text: &m.text,
        }
    }
}

/// `nick!user@host` → `nick`.
fn nick_of(sender: &str) -> &str {
    sender.split('!').next().unwrap_or(sender)
}

/// One line of the text log, or `None` for what a reader would not see
/// (`TAGMSG`: typing notices, reactions).
fn text_line(m: &StoredMessage) -> Option<String> {
    let nick = nick_of(&m.sender);
    if m.lines().is_some() {
        // A multiline message (draft/multiline): one log line per line of it.
        let one = |text: &str| text_line(&StoredMessage { text: text.to_string(), tags: String::new(), ..m.clone() });
        let lines: Vec<String> = m.combined_text().split('\n').filter(|l| !l.is_empty()).filter_map(one).collect();
        return Some(lines.join("\n"));
    }
    let text = strip_formatting(&m.text);
    let body = match m.command.as_str() {
        "PRIVMSG" => match ctcp(&text) {
            Some(("ACTION", rest)) => format!("* {nick} {rest}"),
            Some((command, _)) => format!("-- {nick} sent a CTCP {command} request"),
            None => format!("<{nick}> {text}"),
        },
        "NOTICE" => match ctcp(&text) {
            Some((command, rest)) => format!("-{nick}- CTCP {command} reply: {rest}"),
            None => format!("-{nick}- {text}"),
        },
        "TAGMSG" => return None,
        "JOIN" => format!("--> {nick} joined"),
        "PART" => format!("<-- {nick} left{}", reason(&text)),
        "QUIT" => format!("<-- {nick} quit{}", reason(&text)),
        "NICK" => format!("-- {nick} is now known as {text}"),
        "TOPIC" => format!("-- {nick} set the topic: {text}"),
        "KICK" => {
            let (kicked, why) = text.split_once(' ').unwrap_or((text.as_str(), ""));
            format!("<-- {kicked} was kicked by {nick}{}", reason(why))
        }
        other => format!("-- {nick} {other} {text}").trim_end().to_string(),
    };
    Some(format!("[{}] {body}", time::human(m.time)))
}

fn reason(text: &str) -> String {
    if text.is_empty() { String::new() } else { format!(" ({text})") }
}

/// `\x01ACTION waves\x01` → `("ACTION", "waves")`.
fn ctcp(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('\x01')?;
    let inner = inner.strip_suffix('\x01').unwrap_or(inner);
    Some(inner.split_once(' ').unwrap_or((inner, "")))
}

/// Removes IRC formatting codes (bold, colours, italics, …) and other control
/// characters a text file should not hold, keeping CTCP's `\x01` markers.
fn strip_formatting(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x01' => out.push(c),
            // Colour: ^C[fg[,bg]] with 1–2 digit numbers.
            '\x03' => {
                skip_while_max(&mut chars, 2, |c| c.is_ascii_digit());
                if chars.peek() == Some(&',') {
                    let mut look = chars.clone();
                    look.next();
                    if look.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                        skip_while_max(&mut chars, 2, |c| c.is_ascii_digit());
                    }
                }
            }
            // Hex colour: ^D[RRGGBB[,RRGGBB]].
            '\x04' => {
                skip_while_max(&mut chars, 6, |c| c.is_ascii_hexdigit());
                if chars.peek() == Some(&',') {
                    chars.next();
                    skip_while_max(&mut chars, 6, |c| c.is_ascii_hexdigit());
                }
            }
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn skip_while_max(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, max: usize, f: impl Fn(&char) -> bool) {
    for _ in 0..max {
        if !chars.peek().is_some_and(&f) {
            break;
        }
        chars.next();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(command: &str, text: &str) -> StoredMessage {
        StoredMessage {
            msgid: "m1".into(),
            time: Timestamp::from_millis(1_795_239_716_000),
            target: "#general".into(),
            recipient: "#general".into(),
            sender: "alice!a@host".into(),
            sender_account: Some("alice".into()),
            command: command.into(),
            tags: String::new(),
            text: text.into(),
        }
    }

    #[test]
    fn text_lines_read_like_a_chat_log() {
        let line = |c, t| text_line(&msg(c, t));
        assert_eq!(line("PRIVMSG", "hello").unwrap(), "[2026-11-21 05:41:56] <alice> hello");
        assert_eq!(line("PRIVMSG", "\x01ACTION waves\x01").unwrap(), "[2026-11-21 05:41:56] * alice waves");
        assert_eq!(line("NOTICE", "psst").unwrap(), "[2026-11-21 05:41:56] -alice- psst");
        assert_eq!(line("PART", "bye").unwrap(), "[2026-11-21 05:41:56] <-- alice left (bye)");
        assert_eq!(line("TAGMSG", ""), None);
        assert_eq!(line("JOIN", "Alice A.").unwrap(), "[2026-11-21 05:41:56] --> alice joined");
        assert_eq!(line("QUIT", "Quit: bye").unwrap(), "[2026-11-21 05:41:56] <-- alice quit (Quit: bye)");
        assert_eq!(line("NICK", "alicia").unwrap(), "[2026-11-21 05:41:56] -- alice is now known as alicia");
        assert_eq!(
            line("KICK", "bob flooding").unwrap(),
            "[2026-11-21 05:41:56] <-- bob was kicked by alice (flooding)"
        );
        let multiline =
            StoredMessage { tags: "draft/multiline=3".into(), ..msg("PRIVMSG", "hello\n\nhow is \neveryone?") };
        assert_eq!(
            text_line(&multiline).unwrap(),
            "[2026-11-21 05:41:56] <alice> hello\n[2026-11-21 05:41:56] <alice> how is everyone?"
        );
    }

    #[test]
    fn formatting_codes_are_removed() {
        assert_eq!(strip_formatting("\x02bold\x02 \x0304,12red\x03 \x031,x \x1ditalic\x0f"), "bold red ,x italic");
        assert_eq!(strip_formatting("\x04FF0000red"), "red");
        assert_eq!(strip_formatting("a\tb\x07c"), "a bc");
    }

    #[test]
    fn json_lines_have_the_documented_fields() {
        let v: serde_json::Value = serde_json::to_value(JsonLine::from(&msg("PRIVMSG", "hi"))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"time": "2026-11-21T05:41:56.000Z", "msgid": "m1", "nick": "alice",
                               "account": "alice", "command": "PRIVMSG", "text": "hi"})
        );
    }
}
