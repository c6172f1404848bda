//! `hearth admin …`: the running server, seen and steered from the machine it runs on,
//! over its control socket (`data_dir/control.sock`, mode 0600). `hearth console`
//! offers the same commands interactively (see `console.rs`).

use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand};
use hearth::control::{self, Request, Response, RoomLine, Stats};
use hearth_core::admin::Online;

use super::{Ctx, history, time};

/// `hearth admin [--json] COMMAND`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Print JSON (one document) instead of a table, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// People online: nick, account, address, connected since, idle time, rooms.
    #[command(visible_alias = "users")]
    Who,
    /// Rooms: members, stored messages, topic.
    Rooms,
    /// Disconnect a person (all their devices), telling them why.
    Kick {
        nick: String,
        /// Shown to them and to the people they share rooms with.
        #[arg(trailing_var_arg = true)]
        reason: Vec<String>,
    },
    /// A server notice to everyone connected.
    Broadcast {
        #[arg(required = true, trailing_var_arg = true)]
        text: Vec<String>,
    },
    /// Warn everyone, then stop the server gracefully (exit status 0).
    Shutdown {
        /// Wait this long after the warning, e.g. 60s or 5m (default: at once).
        #[arg(long = "in", value_name = "DURATION", value_parser = humantime::parse_duration)]
        in_: Option<Duration>,
        /// The message everyone sees.
        #[arg(trailing_var_arg = true)]
        message: Vec<String>,
    },
    /// Delete stored messages on the running server (history and replay alike): the
    /// same options as `hearth history purge`.
    Purge(history::PurgeArgs),
    /// Uptime, connections, messages per second, how far the database is behind,
    /// journal size, logins that failed in the last hour.
    Stats,
}

/// Runs one admin command against the running server.
pub async fn run(ctx: &Ctx, args: AdminArgs) -> anyhow::Result<()> {
    let mut client = match control::Client::connect(&ctx.cfg.data_dir).await? {
        Some(c) => c,
        None => bail!("{} (data directory {})", control::NOT_RUNNING, ctx.cfg.data_dir.display()),
    };
    let json = args.json;
    let request = match args.command {
        AdminCommand::Who => Request::Who,
        AdminCommand::Rooms => Request::Rooms,
        AdminCommand::Kick { nick, reason } => Request::Kick { nick, reason: text_or(reason, "no reason given") },
        AdminCommand::Broadcast { text } => Request::Broadcast { text: text.join(" ") },
        AdminCommand::Shutdown { in_, message } => {
            Request::Shutdown { in_secs: in_.map_or(0, |d| d.as_secs()), message: text_or(message, "see you soon") }
        }
        AdminCommand::Purge(args) => {
            drop(client);
            return args.run(ctx).await;
        }
        AdminCommand::Stats => Request::Stats,
    };
    let response = client.call(&request).await?;
    if !response.ok {
        bail!("{}", response.message);
    }
    print!("{}", render(&request, &response, json)?);
    Ok(())
}

fn text_or(words: Vec<String>, default: &str) -> String {
    if words.is_empty() { default.to_string() } else { words.join(" ") }
}

/// The answer as people (or, with `json`, scripts) read it.
pub fn render(request: &Request, r: &Response, json: bool) -> anyhow::Result<String> {
    if json {
        let value = match &r.data {
            Some(data) => data.clone(),
            None => serde_json::json!({ "ok": r.ok, "message": r.message, "count": r.count }),
        };
        return Ok(format!("{}\n", serde_json::to_string_pretty(&value)?));
    }
    let data = r.data.clone().unwrap_or_default();
    Ok(match request {
        Request::Who => who_table(&serde_json::from_value::<Vec<Online>>(data)?),
        Request::Rooms => rooms_table(&serde_json::from_value::<Vec<RoomLine>>(data)?),
        Request::Stats => stats_text(&serde_json::from_value::<Stats>(data)?),
        _ => format!("{}\n", r.message),
    })
}

fn who_table(people: &[Online]) -> String {
    if people.is_empty() {
        return "nobody is online\n".to_string();
    }
    let rows: Vec<[String; 7]> = people
        .iter()
        .map(|p| {
            [
                p.nick.clone(),
                p.account.clone().unwrap_or_else(|| "-".into()),
                p.address.to_string(),
                time::human(hearth_store::Timestamp(p.connected_at as i64)),
                idle(p.idle_secs),
                p.sessions.to_string(),
                p.channels.join(","),
            ]
        })
        .collect();
    table(["NICK", "ACCOUNT", "ADDRESS", "CONNECTED (UTC)", "IDLE", "DEVICES", "ROOMS"], &rows)
}

fn rooms_table(rooms: &[RoomLine]) -> String {
    if rooms.is_empty() {
        return "no rooms\n".to_string();
    }
    let rows: Vec<[String; 4]> = rooms
        .iter()
        .map(|r| {
            [r.name.clone(), r.members.len().to_string(), r.messages.to_string(), r.topic.clone().unwrap_or_default()]
        })
        .collect();
    table(["ROOM", "MEMBERS", "MESSAGES", "TOPIC"], &rows)
}

fn stats_text(s: &Stats) -> String {
    format!(
        "uptime              {}\nconnections         {}\npeople online       {}\nrooms               {}\n\
         messages            {} ({} in the last second)\ndatabase behind by  {} bytes{}\njournal size        {} bytes\n\
         failed logins (1h)  {}\n",
        idle(s.uptime_secs),
        s.connections,
        s.users,
        s.rooms,
        s.messages_total,
        s.messages_per_sec,
        s.store_lag_bytes,
        if s.store_failing { " (the database is failing: see the server's log)" } else { "" },
        s.journal_bytes,
        s.logins_failed_last_hour
    )
}

/// `3d 4h`, `12m 5s`, `40s`.
fn idle(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// Columns aligned to their widest cell.
fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths: [usize; N] = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_times_read_naturally() {
        assert_eq!(idle(40), "40s");
        assert_eq!(idle(725), "12m 5s");
        assert_eq!(idle(3 * 86_400 + 4 * 3600 + 5), "3d 4h");
    }

    #[test]
    fn tables_align() {
        let t = table(["A", "BB"], &[["xyz".to_string(), "1".to_string()]]);
        assert_eq!(t, "A    BB\nxyz  1\n");
    }
}
