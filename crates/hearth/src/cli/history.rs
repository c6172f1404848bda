//! `hearth history purge|trim`: deleting stored messages.

use anyhow::bail;
use clap::Subcommand;
use hearth::control::Request;
use hearth_store::Timestamp;

use super::{Ctx, Target, confirm, count, time};

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Delete stored messages: of one room or conversation, or of all;
    /// all of them, or only those before a date.
    ///
    /// Without --before this deletes everything (of the room, or of the whole
    /// server) and asks for confirmation first, unless --yes is given.
    Purge(PurgeArgs),
    /// Apply the config's retention once: delete messages older than
    /// `[history] max_age_days`, then keep only the newest
    /// `[history] max_per_target` of every room and conversation.
    Trim,
}

/// What to purge: `hearth history purge` and `hearth admin purge` take the same.
#[derive(Debug, clap::Args)]
pub struct PurgeArgs {
    /// Only this room, e.g. #general (the # may be left out). Case does not matter.
    #[arg(long, value_name = "NAME")]
    room: Option<String>,
    /// Only this direct conversation, given as the two nicks: alice,bob (a guest
    /// who was not logged in: alice,~bob).
    #[arg(long, value_name = "NICK,NICK", conflicts_with = "room")]
    conversation: Option<String>,
    /// Only messages before this time: YYYY-MM-DD (midnight UTC, so that
    /// day itself is kept) or RFC 3339 such as 2026-11-21T12:00:00Z.
    #[arg(long, value_name = "DATE")]
    before: Option<String>,
    /// Do not ask for confirmation (needed for a purge without --before
    /// when standard input is not a terminal).
    #[arg(long, short = 'y')]
    yes: bool,
}

impl PurgeArgs {
    /// Checks the arguments and purges.
    pub async fn run(self, ctx: &Ctx) -> anyhow::Result<()> {
        let target = Target::from_args(self.room.as_deref(), self.conversation.as_deref())?;
        let before = self.before.as_deref().map(time::parse).transpose()?;
        purge(ctx, target, before.map(|b| b.at), self.yes).await
    }
}

/// Runs one `hearth history` command.
pub async fn run(ctx: &Ctx, cmd: HistoryCommand) -> anyhow::Result<()> {
    match cmd {
        HistoryCommand::Purge(args) => args.run(ctx).await,
        HistoryCommand::Trim => trim(ctx).await,
    }
}

pub(crate) async fn purge(
    ctx: &Ctx,
    target: Option<Target>,
    before: Option<Timestamp>,
    yes: bool,
) -> anyhow::Result<()> {
    let whose = match &target {
        Some(t) => format!("of {}", t.describe()),
        None => "of every room and conversation".to_string(),
    };
    if before.is_none() && !yes {
        let question = format!("This deletes ALL stored messages {whose} ({}).", ctx.describe_store());
        let refusal = format!(
            "refusing to delete all messages {whose} without confirmation; add --yes to confirm, \
             or --before DATE to keep the recent ones"
        );
        if !confirm(&question, &refusal)? {
            bail!("nothing was deleted (confirmation not given)");
        }
    }
    let key = target.as_ref().map(Target::key);
    let r = ctx.request(Request::Purge { target: key, before: before.map(|b| b.0) }).await?;
    if !r.ok {
        bail!("{}", r.message);
    }
    let deleted = r.count.unwrap_or(0);
    let when = before.map(|b| format!(" from before {} UTC", time::human(b))).unwrap_or_default();
    println!("deleted {} {whose}{when}", count(deleted, "message"));
    Ok(())
}

async fn trim(ctx: &Ctx) -> anyhow::Result<()> {
    let h = &ctx.cfg.history;
    let policy = hearth::control::retention(h.max_age_days, h.max_per_target);
    if policy.max_age.is_none() && policy.max_per_target.is_none() {
        println!(
            "nothing to trim: [history] max_age_days and max_per_target are both 0 (keep everything); \
             set them in the config file, or use {} for a one-off deletion",
            ctx.hint("history purge --before DATE")
        );
        return Ok(());
    }
    let r = ctx.request(Request::Trim { max_age_days: h.max_age_days, max_per_target: h.max_per_target }).await?;
    if !r.ok {
        bail!("{}", r.message);
    }
    let deleted = r.count.unwrap_or(0);
    println!(
        "deleted {} (max_age_days = {}, max_per_target = {})",
        count(deleted, "message"),
        h.max_age_days,
        h.max_per_target
    );
    Ok(())
}
