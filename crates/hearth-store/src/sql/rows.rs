// Row decoding and range helpers for the shared SQL `Store` implementation.
//
// `include!`d by `sqlite.rs` and `postgres.rs` right before `queries.rs`,
// with `Db` and `ThisStore` defined; the `use`s in `queries.rs` serve both.
type DbRow = <Db as sqlx::Database>::Row;

/// Rewrites `meta.opened_at` with the current time. Every open does this
/// once: it is the cheapest proof that the database accepts writes, and it
/// turns a read-only database into an error at start instead of a failure
/// at the first message.
async fn mark_opened(pool: &sqlx::Pool<Db>) -> Result<()> {
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('opened_at', $1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(Timestamp::now().as_millis().to_string())
    .execute(pool)
    .await?;
    Ok(())
}

fn limit_arg(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn account_from_row(row: &DbRow) -> Result<Account> {
    Ok(Account {
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        admin: row.try_get("admin")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

fn login_token_from_row(row: &DbRow) -> Result<LoginToken> {
    Ok(LoginToken {
        id: row.try_get("id")?,
        account: row.try_get("account_key")?,
        device: row.try_get("device")?,
        created_at: Timestamp(row.try_get("created_at")?),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(Timestamp),
    })
}

fn room_from_row(row: &DbRow) -> Result<Room> {
    let topic = match row.try_get::<Option<String>, _>("topic")? {
        Some(text) => Some(Topic {
            text,
            set_by: row.try_get::<Option<String>, _>("topic_set_by")?.unwrap_or_default(),
            set_at: Timestamp(row.try_get::<Option<i64>, _>("topic_set_at")?.unwrap_or(0)),
        }),
        None => None,
    };
    let limit: Option<i64> = row.try_get("user_limit")?;
    Ok(Room {
        name: row.try_get("name")?,
        topic,
        modes: row.try_get("modes")?,
        key: row.try_get("room_key")?,
        limit: limit.map(|l| u32::try_from(l).unwrap_or(u32::MAX)),
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

fn message_from_row(row: &DbRow) -> Result<StoredMessage> {
    Ok(StoredMessage {
        msgid: row.try_get("msgid")?,
        time: Timestamp(row.try_get("time")?),
        target: row.try_get("target")?,
        recipient: row.try_get("recipient")?,
        sender: row.try_get("sender")?,
        sender_account: row.try_get("sender_account")?,
        command: row.try_get("command")?,
        tags: row.try_get("tags")?,
        text: row.try_get("text")?,
    })
}

impl ThisStore {
    /// Where a msgid sits in `target`'s order, or `UnknownMsgid`.
    async fn msgid_pos(&self, target: &str, msgid: &str) -> Result<Pos> {
        let row = sqlx::query("SELECT time, seq FROM messages WHERE msgid = $1 AND target = $2")
            .bind(msgid)
            .bind(target)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(row) => Ok(Pos(row.try_get("time")?, row.try_get("seq")?)),
            None => Err(StoreError::UnknownMsgid(msgid.to_owned())),
        }
    }

    /// Resolves a bound to the exclusive position it stands for as a lower
    /// (`upper == false`) or upper end of a range.
    async fn bound_pos(&self, target: &str, bound: &Bound, upper: bool) -> Result<Pos> {
        match bound {
            Bound::MsgId(id) => self.msgid_pos(target, id).await,
            Bound::Time(t) if upper => Ok(upper_pos(*t)),
            Bound::Time(t) => Ok(lower_pos(*t)),
        }
    }

    /// Messages of `target` strictly between the positions `lo` and `hi`,
    /// `limit` of them taken from the `dir` end, returned chronologically.
    async fn range(&self, target: &str, lo: Pos, hi: Pos, dir: Dir, limit: usize) -> Result<Vec<StoredMessage>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = match dir {
            Dir::Forward => concat!(
                "SELECT msgid, time, target, recipient, sender, sender_account, command, tags, text",
                " FROM messages WHERE target = $1 AND (time, seq) > ($2, $3)",
                " AND (time, seq) < ($4, $5) ORDER BY time ASC, seq ASC LIMIT $6"
            ),
            Dir::Backward => concat!(
                "SELECT msgid, time, target, recipient, sender, sender_account, command, tags, text",
                " FROM messages WHERE target = $1 AND (time, seq) > ($2, $3)",
                " AND (time, seq) < ($4, $5) ORDER BY time DESC, seq DESC LIMIT $6"
            ),
        };
        let rows = sqlx::query(sql)
            .bind(target)
            .bind(lo.0)
            .bind(lo.1)
            .bind(hi.0)
            .bind(hi.1)
            .bind(limit_arg(limit))
            .fetch_all(&self.read)
            .await?;
        let mut out = rows.iter().map(message_from_row).collect::<Result<Vec<_>>>()?;
        if dir == Dir::Backward {
            out.reverse();
        }
        Ok(out)
    }

    /// Keeps the newest `keep` messages of `target` (PRIVMSG, NOTICE, TAGMSG) and the
    /// events (draft/event-playback) among them; returns how many rows went.
    async fn trim_target(&self, target: &str, keep: u64) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM messages WHERE target = $1 AND (time, seq) <= \
             (SELECT time, seq FROM messages WHERE target = $1 \
              AND command IN ('PRIVMSG', 'NOTICE', 'TAGMSG') \
              ORDER BY time DESC, seq DESC LIMIT 1 OFFSET $2)",
        )
        .bind(target)
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }
}
