//! `hearth console`: the admin commands interactively, with line editing, history and
//! Tab completion. Each line is one `hearth admin` command without the `hearth admin`
//! (`who`, `kick bob spamming`, `shutdown --in 60s back soon`), plus `help` and `quit`.
//! The seed's console words work too: `ACTIVE USERS`, `EXIT`, `DELETE CHAT BACKUP`.

use anyhow::Context as _;
use clap::Parser;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Editor, Helper};

use super::Ctx;
use super::admin::{self, AdminArgs};

/// What the console knows, for Tab.
const WORDS: &[&str] = &["who", "rooms", "kick", "broadcast", "shutdown", "purge", "stats", "help", "quit"];

const HELP: &str = "\
commands (each also works as `hearth admin COMMAND`; add --json for JSON):
  who                          people online (also: users, ACTIVE USERS)
  rooms                        rooms, members, stored messages
  kick NICK [REASON]           disconnect someone, telling them why
  broadcast TEXT               a notice to everyone
  shutdown [--in 60s] [TEXT]   warn everyone, then stop the server (also: EXIT)
  purge [--room NAME | --conversation A,B] [--before DATE] [--yes]
                               delete stored messages (DELETE CHAT BACKUP: all of them)
  stats                        uptime, connections, messages/s, database lag, failed logins
  help                         this text
  quit                         leave the console (the server keeps running; also Ctrl-D)
";

/// One console line as `hearth admin` arguments; `None` for lines the console handles
/// itself (help, quit, empty).
fn translate(line: &str) -> Line {
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let upper = line.trim().to_ascii_uppercase();
    match upper.as_str() {
        "" => Line::Nothing,
        "HELP" | "?" => Line::Help,
        "QUIT" | "Q" | "BYE" => Line::Quit,
        "ACTIVE USERS" => Line::Admin(vec!["who".into()]),
        // The seed's EXIT stopped the server.
        "EXIT" => Line::Admin(vec!["shutdown".into()]),
        // The seed's DELETE CHAT BACKUP deleted every stored message.
        "DELETE CHAT BACKUP" => Line::Admin(vec!["purge".into()]),
        _ => Line::Admin(words),
    }
}

/// A console line parsed like `hearth admin …`.
#[derive(Debug, Parser)]
#[command(name = "admin", disable_help_subcommand = true)]
struct ConsoleLine {
    #[command(flatten)]
    args: AdminArgs,
}

#[derive(Debug, PartialEq, Eq)]
enum Line {
    Nothing,
    Help,
    Quit,
    Admin(Vec<String>),
}

/// Runs the console until `quit` or end of input.
pub fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut editor: Editor<Complete, rustyline::history::DefaultHistory> =
        Editor::new().context("cannot start the console's line editor")?;
    editor.set_helper(Some(Complete));
    println!(
        "hearth console for the server of {} — `help` lists the commands, `quit` leaves",
        ctx.cfg.data_dir.display()
    );
    loop {
        let line = match editor.readline("hearth> ") {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => return Ok(()),
            Err(e) => return Err(e).context("cannot read the console's input"),
        };
        let _ = editor.add_history_entry(line.as_str());
        match translate(&line) {
            Line::Nothing => {}
            Line::Help => print!("{HELP}"),
            Line::Quit => return Ok(()),
            Line::Admin(words) => {
                let argv = std::iter::once("admin".to_string()).chain(words);
                match ConsoleLine::try_parse_from(argv) {
                    Ok(line) => {
                        if let Err(e) = rt.block_on(admin::run(ctx, line.args)) {
                            eprintln!("error: {e:#}");
                        }
                    }
                    Err(e) => eprintln!("{}", e.render().to_string().trim_end().replace("admin ", "")),
                }
            }
        }
    }
}

/// Tab completion of command names.
struct Complete;

impl Completer for Complete {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &rustyline::Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        if before.contains(' ') {
            return Ok((pos, Vec::new()));
        }
        let found = WORDS
            .iter()
            .filter(|w| w.starts_with(before))
            .map(|w| Pair { display: w.to_string(), replacement: format!("{w} ") })
            .collect();
        Ok((0, found))
    }
}

impl Hinter for Complete {
    type Hint = String;
}
impl Highlighter for Complete {}
impl Validator for Complete {}
impl Helper for Complete {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_words_and_plain_commands() {
        assert_eq!(translate("ACTIVE USERS"), Line::Admin(vec!["who".into()]));
        assert_eq!(translate("exit"), Line::Admin(vec!["shutdown".into()]));
        assert_eq!(translate("Delete Chat Backup"), Line::Admin(vec!["purge".into()]));
        assert_eq!(
            translate("kick bob too loud"),
            Line::Admin(vec!["kick".into(), "bob".into(), "too".into(), "loud".into()])
        );
        assert_eq!(translate("  "), Line::Nothing);
        assert_eq!(translate("quit"), Line::Quit);
        let line = ConsoleLine::try_parse_from(["admin", "shutdown", "--in", "60s", "back", "soon"]).unwrap();
        assert!(matches!(line.args.command, admin::AdminCommand::Shutdown { .. }));
    }
}
