// The `Store` implementation shared by both SQL backends.
//
// This file (with `rows.rs`) is `include!`d by `sqlite.rs` and `postgres.rs`, each of which
// defines `Db` (the sqlx database) and `ThisStore` (a struct with `read` and
// `write` pools) before including it. The SQL below is written once for both
// dialects: `$N` placeholders (sqlx binds them by number on SQLite too), row
// value comparisons and `ON CONFLICT` upserts, which both understand. Only
// the migrations differ per dialect.

use std::collections::BTreeSet;

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, Row};

use crate::error::{Result, StoreError, classify};
use crate::sql::{Dir, MSG_COLUMNS, Pos, append_sql, chunk_len, lower_pos, push_values, upper_pos};
use crate::search::SearchQuery;
use crate::sql::search::{Arg, search_sql};
use crate::store::Store;
use crate::types::{
    Account, Ban, BanList, Bound, ChatRequest, LoginToken, Membership, Retention, Room, StoredMessage, TargetSummary, Timestamp, Topic,
    Unread, casefold, dm_participants,
};

#[async_trait]
impl Store for ThisStore {
    async fn create_account(&self, name: &str, password_hash: &str) -> Result<Account> {
        let account = Account {
            name: name.to_owned(),
            password_hash: password_hash.to_owned(),
            admin: false,
            created_at: Timestamp::now(),
        };
        sqlx::query(
            "INSERT INTO accounts (name_key, name, password_hash, admin, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(casefold(name))
        .bind(&account.name)
        .bind(&account.password_hash)
        .bind(account.admin)
        .bind(account.created_at.0)
        .execute(&self.write)
        .await
        .map_err(|e| classify(e, "account", name))?;
        Ok(account)
    }

    async fn account(&self, name: &str) -> Result<Option<Account>> {
        let row = sqlx::query("SELECT name, password_hash, admin, created_at FROM accounts WHERE name_key = $1")
            .bind(casefold(name))
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        let rows = sqlx::query("SELECT name, password_hash, admin, created_at FROM accounts ORDER BY name_key")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(account_from_row).collect()
    }

    async fn account_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM accounts").fetch_one(&self.read).await?.try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn delete_account(&self, name: &str) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM accounts WHERE name_key = $1").bind(casefold(name)).execute(&self.write).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("UPDATE accounts SET password_hash = $1 WHERE name_key = $2")
            .bind(password_hash)
            .bind(casefold(name))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { kind: "account", name: name.to_owned() });
        }
        sqlx::query("DELETE FROM login_tokens WHERE account_key = $1").bind(casefold(name)).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_admin(&self, name: &str, admin: bool) -> Result<()> {
        let done = sqlx::query("UPDATE accounts SET admin = $1 WHERE name_key = $2")
            .bind(admin)
            .bind(casefold(name))
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { kind: "account", name: name.to_owned() });
        }
        Ok(())
    }

    async fn upsert_room(&self, room: &Room) -> Result<()> {
        let topic = room.topic.as_ref();
        sqlx::query(
            "INSERT INTO rooms (name_key, name, topic, topic_set_by, topic_set_at, modes, \
             room_key, user_limit, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, \
             topic = excluded.topic, topic_set_by = excluded.topic_set_by, \
             topic_set_at = excluded.topic_set_at, modes = excluded.modes, \
             room_key = excluded.room_key, user_limit = excluded.user_limit",
        )
        .bind(casefold(&room.name))
        .bind(&room.name)
        .bind(topic.map(|t| t.text.as_str()))
        .bind(topic.map(|t| t.set_by.as_str()))
        .bind(topic.map(|t| t.set_at.0))
        .bind(&room.modes)
        .bind(room.key.as_deref())
        .bind(room.limit.map(i64::from))
        .bind(Timestamp::now().0)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn room(&self, name: &str) -> Result<Option<Room>> {
        let row = sqlx::query("SELECT * FROM rooms WHERE name_key = $1")
            .bind(casefold(name))
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(room_from_row).transpose()
    }

    async fn rooms(&self) -> Result<Vec<Room>> {
        let rows = sqlx::query("SELECT * FROM rooms ORDER BY name_key").fetch_all(&self.read).await?;
        rows.iter().map(room_from_row).collect()
    }

    async fn delete_room(&self, name: &str) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM rooms WHERE name_key = $1").bind(casefold(name)).execute(&self.write).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn rename_room(&self, from: &str, to: &str) -> Result<bool> {
        let (from_key, to_key) = (casefold(from), casefold(to));
        let mut tx = self.write.begin().await?;
        if from_key == to_key {
            let done = sqlx::query("UPDATE rooms SET name = $1 WHERE name_key = $2")
                .bind(to)
                .bind(&from_key)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(done.rows_affected() > 0);
        }
        // A copy under the new key first, so the bans and operators can be pointed
        // at it before the old row goes (the foreign keys hold at every step).
        let copied = sqlx::query(
            "INSERT INTO rooms (name_key, name, topic, topic_set_by, topic_set_at, modes, \
             room_key, user_limit, created_at) SELECT $1, $2, topic, topic_set_by, topic_set_at, \
             modes, room_key, user_limit, created_at FROM rooms WHERE name_key = $3",
        )
        .bind(&to_key)
        .bind(to)
        .bind(&from_key)
        .execute(&mut *tx)
        .await
        .map_err(|e| classify(e, "room", to))?;
        if copied.rows_affected() == 0 {
            return Ok(false);
        }
        for sql in [
            "UPDATE room_bans SET room_key = $1 WHERE room_key = $2",
            "UPDATE room_operators SET room_key = $1 WHERE room_key = $2",
            "UPDATE room_members SET room_key = $1 WHERE room_key = $2",
        ] {
            sqlx::query(sql).bind(&to_key).bind(&from_key).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM rooms WHERE name_key = $1").bind(&from_key).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn add_ban(&self, room: &str, ban: &Ban) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO room_bans (room_key, mask_key, mask, set_by, set_at, list) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (room_key, mask_key) DO NOTHING",
        )
        .bind(casefold(room))
        // The key carries the list, so one mask may be on several lists.
        .bind(casefold(&ban.list.qualify(&ban.mask)))
        .bind(&ban.mask)
        .bind(&ban.set_by)
        .bind(ban.set_at.0)
        .bind(ban.list.letter().to_string())
        .execute(&self.write)
        .await
        .map_err(|e| classify(e, "room", room))?;
        Ok(done.rows_affected() > 0)
    }

    async fn remove_ban(&self, room: &str, mask: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM room_bans WHERE room_key = $1 AND mask_key = $2")
            .bind(casefold(room))
            .bind(casefold(mask))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn bans(&self, room: &str) -> Result<Vec<Ban>> {
        let rows = sqlx::query(
            "SELECT mask, set_by, set_at, list FROM room_bans WHERE room_key = $1 \
             ORDER BY set_at, mask_key",
        )
        .bind(casefold(room))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let list: String = row.try_get("list")?;
                Ok(Ban {
                    mask: row.try_get("mask")?,
                    set_by: row.try_get("set_by")?,
                    set_at: Timestamp(row.try_get("set_at")?),
                    list: list.chars().next().and_then(BanList::from_letter).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn add_operator(&self, room: &str, account: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO room_operators (room_key, account_key) VALUES ($1, $2) \
             ON CONFLICT (room_key, account_key) DO NOTHING",
        )
        .bind(casefold(room))
        .bind(casefold(account))
        .execute(&self.write)
        .await
        .map_err(|e| classify(e, "room or account", &format!("{room}/{account}")))?;
        Ok(done.rows_affected() > 0)
    }

    async fn remove_operator(&self, room: &str, account: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM room_operators WHERE room_key = $1 AND account_key = $2")
            .bind(casefold(room))
            .bind(casefold(account))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn operators(&self, room: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT account_key FROM room_operators WHERE room_key = $1 ORDER BY account_key")
            .bind(casefold(room))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| Ok(row.try_get("account_key")?)).collect()
    }

    async fn set_member(&self, room: &str, account: &str, since: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO room_members (room_key, account_key, since) VALUES ($1, $2, $3) \
             ON CONFLICT (room_key, account_key) DO UPDATE SET since = excluded.since",
        )
        .bind(casefold(room))
        .bind(casefold(account))
        .bind(since.0)
        .execute(&self.write)
        .await
        .map_err(|e| classify(e, "room or account", &format!("{room}/{account}")))?;
        Ok(())
    }

    async fn remove_member(&self, room: &str, account: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM room_members WHERE room_key = $1 AND account_key = $2")
            .bind(casefold(room))
            .bind(casefold(account))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn memberships(&self) -> Result<Vec<Membership>> {
        let rows =
            sqlx::query("SELECT room_key, account_key, since FROM room_members ORDER BY room_key, account_key")
                .fetch_all(&self.read)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(Membership {
                    room: row.try_get("room_key")?,
                    account: row.try_get("account_key")?,
                    since: Timestamp(row.try_get("since")?),
                })
            })
            .collect()
    }

    async fn append(&self, messages: &[StoredMessage]) -> Result<u64> {
        if messages.is_empty() {
            return Ok(0);
        }
        // A transaction whose statement or COMMIT failed (SQLITE_FULL, an I/O error)
        // can leave the connection inside a transaction that is never committed, and
        // later "successful" appends would then vanish with it: a connection that
        // failed here is closed, and the next append opens a fresh one.
        let mut conn = self.write.acquire().await?;
        let result = append_on(&mut conn, messages).await;
        if result.is_err() {
            conn.close_on_drop();
        }
        result
    }

    async fn latest(&self, target: &str, after: Option<&Bound>, limit: usize) -> Result<Vec<StoredMessage>> {
        let target = casefold(target);
        let lo = match after {
            Some(bound) => self.bound_pos(&target, bound, false).await?,
            None => Pos::MIN,
        };
        self.range(&target, lo, Pos::MAX, Dir::Backward, limit).await
    }

    async fn before(&self, target: &str, bound: &Bound, limit: usize) -> Result<Vec<StoredMessage>> {
        let target = casefold(target);
        let hi = self.bound_pos(&target, bound, true).await?;
        self.range(&target, Pos::MIN, hi, Dir::Backward, limit).await
    }

    async fn after(&self, target: &str, bound: &Bound, limit: usize) -> Result<Vec<StoredMessage>> {
        let target = casefold(target);
        let lo = self.bound_pos(&target, bound, false).await?;
        self.range(&target, lo, Pos::MAX, Dir::Forward, limit).await
    }

    async fn around(&self, target: &str, bound: &Bound, limit: usize) -> Result<Vec<StoredMessage>> {
        let target = casefold(target);
        // `pivot` is exclusive as an upper end; one step below it is the
        // exclusive lower end that still includes the pivot itself.
        let pivot = self.bound_pos(&target, bound, true).await?;
        let below = Pos(pivot.0, pivot.1.saturating_sub(1));
        let mut out = self.range(&target, Pos::MIN, pivot, Dir::Backward, limit / 2).await?;
        let rest = limit - limit / 2;
        out.extend(self.range(&target, below, Pos::MAX, Dir::Forward, rest).await?);
        Ok(out)
    }

    async fn between(&self, target: &str, a: &Bound, b: &Bound, limit: usize) -> Result<Vec<StoredMessage>> {
        let target = casefold(target);
        // Resolve both as lower ends first, only to learn the direction.
        let pa = self.bound_pos(&target, a, false).await?;
        let pb = self.bound_pos(&target, b, false).await?;
        if pa.0 < pb.0 || (pa.0 == pb.0 && pa.1 <= pb.1) {
            let hi = self.bound_pos(&target, b, true).await?;
            self.range(&target, pa, hi, Dir::Forward, limit).await
        } else {
            let hi = self.bound_pos(&target, a, true).await?;
            self.range(&target, pb, hi, Dir::Backward, limit).await
        }
    }

    async fn targets(
        &self,
        me: &str,
        channels: &[String],
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<TargetSummary>> {
        let mut candidates: BTreeSet<String> = channels.iter().map(|c| casefold(c)).collect();
        let rows = sqlx::query("SELECT target FROM dm_targets WHERE participant = $1")
            .bind(casefold(me))
            .fetch_all(&self.read)
            .await?;
        for row in &rows {
            candidates.insert(row.try_get("target")?);
        }
        let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
        let mut found = Vec::new();
        for target in candidates {
            let row = sqlx::query(
                "SELECT time FROM messages WHERE target = $1 AND time > $2 AND time < $3 \
                 ORDER BY time DESC LIMIT 1",
            )
            .bind(&target)
            .bind(lo.0)
            .bind(hi.0)
            .fetch_optional(&self.read)
            .await?;
            if let Some(row) = row {
                found.push(TargetSummary { latest: Timestamp(row.try_get("time")?), target });
            }
        }
        found.sort_by(|x, y| (x.latest, &x.target).cmp(&(y.latest, &y.target)));
        if from <= to {
            found.truncate(limit);
        } else {
            found.drain(..found.len().saturating_sub(limit));
        }
        Ok(found)
    }

    async fn export(&self, target: &str, from: Timestamp, to: Timestamp) -> Result<Vec<StoredMessage>> {
        let sql = format!(
            "SELECT {MSG_COLUMNS} FROM messages WHERE target = $1 AND time >= $2 AND time <= $3 \
             ORDER BY time, seq"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(casefold(target))
            .bind(from.0)
            .bind(to.0)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<StoredMessage>> {
        let Some((sql, args)) = search_sql(query, &TEXT_MATCH) else {
            return Ok(Vec::new());
        };
        // Prepared for this search only: every combination of terms and filters is
        // another statement, and a cache of them would only hold memory.
        let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(false);
        for a in args {
            q = match a {
                Arg::Text(t) => q.bind(t),
                Arg::Int(i) => q.bind(i),
            };
        }
        let rows = q.fetch_all(&self.read).await?;
        let mut out = rows.iter().map(message_from_row).collect::<Result<Vec<_>>>()?;
        if query.after.is_none() {
            out.reverse();
        }
        // Stored order, then by time: stable, so ties keep their stored order.
        out.sort_by_key(|m| m.time);
        Ok(out)
    }

    async fn set_read_marker(&self, account: &str, target: &str, time: Timestamp) -> Result<Timestamp> {
        let (account, target) = (casefold(account), casefold(target));
        sqlx::query(
            "INSERT INTO read_markers (account_key, target, time) VALUES ($1, $2, $3) \
             ON CONFLICT (account_key, target) DO UPDATE SET time = excluded.time \
             WHERE excluded.time > read_markers.time",
        )
        .bind(&account)
        .bind(&target)
        .bind(time.0)
        .execute(&self.write)
        .await
        .map_err(|e| classify(e, "account", &account))?;
        let stored = sqlx::query("SELECT time FROM read_markers WHERE account_key = $1 AND target = $2")
            .bind(&account)
            .bind(&target)
            .fetch_one(&self.write)
            .await?
            .try_get("time")?;
        Ok(Timestamp(stored))
    }

    async fn read_marker(&self, account: &str, target: &str) -> Result<Option<Timestamp>> {
        let row = sqlx::query("SELECT time FROM read_markers WHERE account_key = $1 AND target = $2")
            .bind(casefold(account))
            .bind(casefold(target))
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("time")).transpose()?.map(Timestamp))
    }

    async fn purge(&self, target: Option<&str>, before: Option<Timestamp>) -> Result<u64> {
        let done = match (target, before) {
            (Some(target), Some(before)) => {
                sqlx::query("DELETE FROM messages WHERE target = $1 AND time < $2")
                    .bind(casefold(target))
                    .bind(before.0)
                    .execute(&self.write)
                    .await?
            }
            (Some(target), None) => {
                sqlx::query("DELETE FROM messages WHERE target = $1")
                    .bind(casefold(target))
                    .execute(&self.write)
                    .await?
            }
            (None, Some(before)) => {
                sqlx::query("DELETE FROM messages WHERE time < $1").bind(before.0).execute(&self.write).await?
            }
            (None, None) => sqlx::query("DELETE FROM messages").execute(&self.write).await?,
        };
        Ok(done.rows_affected())
    }

    async fn redact(&self, target: &str, msgid: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM messages WHERE target = $1 AND msgid = $2")
            .bind(casefold(target))
            .bind(msgid)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn rename_history(&self, from: &str, to: &str) -> Result<u64> {
        let (from, name, to) = (casefold(from), to, casefold(to));
        let mut tx = self.write.begin().await?;
        let moved = sqlx::query("UPDATE messages SET target = $1, recipient = $2 WHERE target = $3")
            .bind(&to)
            .bind(name)
            .bind(&from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "INSERT INTO read_markers (account_key, target, time) \
             SELECT account_key, $1, time FROM read_markers WHERE target = $2 \
             ON CONFLICT (account_key, target) DO UPDATE SET time = excluded.time \
             WHERE excluded.time > read_markers.time",
        )
        .bind(&to)
        .bind(&from)
        .execute(&mut *tx)
        .await?;
        if from != to {
            sqlx::query("DELETE FROM read_markers WHERE target = $1").bind(&from).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(moved)
    }

    async fn trim(&self, policy: &Retention, now: Timestamp) -> Result<u64> {
        let mut deleted = 0;
        if let Some(age) = policy.max_age {
            deleted += self.purge(None, Some(now.saturating_sub(age))).await?;
        }
        if let Some(keep) = policy.max_per_target {
            let rows = sqlx::query("SELECT DISTINCT target FROM messages").fetch_all(&self.read).await?;
            for row in &rows {
                let target: String = row.try_get("target")?;
                deleted += self.trim_target(&target, keep).await?;
            }
        }
        Ok(deleted)
    }

    async fn accept_add(&self, account: &str, other: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO dm_accept (account_key, accepted_key) VALUES ($1, $2) \
             ON CONFLICT (account_key, accepted_key) DO NOTHING",
        )
        .bind(casefold(account))
        .bind(casefold(other))
        .execute(&self.write)
        .await
        .map_err(|e| classify(e, "account", account))?;
        Ok(done.rows_affected() > 0)
    }

    async fn accept_remove(&self, account: &str, other: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM dm_accept WHERE account_key = $1 AND accepted_key = $2")
            .bind(casefold(account))
            .bind(casefold(other))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn accept_list(&self, account: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT accepted_key FROM dm_accept WHERE account_key = $1 ORDER BY accepted_key")
            .bind(casefold(account))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| Ok(row.try_get("accepted_key")?)).collect()
    }

    async fn accept_lists(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT account_key, accepted_key FROM dm_accept ORDER BY account_key, accepted_key")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| Ok((row.try_get("account_key")?, row.try_get("accepted_key")?))).collect()
    }

    async fn put_chat_request(&self, r: &ChatRequest) -> Result<()> {
        let held = serde_json::to_string(&r.held).map_err(|e| StoreError::InvalidInput(e.to_string()))?;
        sqlx::query(
            "INSERT INTO dm_requests (sender_key, recipient_key, created_at, declined_at, held) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sender_key, recipient_key) DO UPDATE SET \
             created_at = excluded.created_at, declined_at = excluded.declined_at, held = excluded.held",
        )
        .bind(casefold(&r.sender))
        .bind(casefold(&r.recipient))
        .bind(r.created.0)
        .bind(r.declined.map(|t| t.0))
        .bind(held)
        .execute(&self.write)
        .await
        .map_err(|e| classify(e, "account", &r.recipient))?;
        Ok(())
    }

    async fn delete_chat_request(&self, sender: &str, recipient: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM dm_requests WHERE sender_key = $1 AND recipient_key = $2")
            .bind(casefold(sender))
            .bind(casefold(recipient))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn chat_requests(&self) -> Result<Vec<ChatRequest>> {
        let rows = sqlx::query(
            "SELECT sender_key, recipient_key, created_at, declined_at, held FROM dm_requests \
             ORDER BY created_at, sender_key, recipient_key",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let held: String = row.try_get("held")?;
                Ok(ChatRequest {
                    sender: row.try_get("sender_key")?,
                    recipient: row.try_get("recipient_key")?,
                    created: Timestamp(row.try_get("created_at")?),
                    declined: row.try_get::<Option<i64>, _>("declined_at")?.map(Timestamp),
                    held: serde_json::from_str(&held).map_err(|e| StoreError::InvalidInput(e.to_string()))?,
                })
            })
            .collect()
    }

    async fn put_unread(&self, u: &Unread) -> Result<()> {
        sqlx::query(
            "INSERT INTO dm_unread (account_key, sender_key, sender_nick, first_at, count) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_key, sender_key) DO UPDATE SET \
             sender_nick = excluded.sender_nick, first_at = excluded.first_at, count = excluded.count",
        )
        .bind(casefold(&u.account))
        .bind(casefold(&u.sender))
        .bind(&u.sender_nick)
        .bind(u.first.0)
        .bind(u.count.min(i64::MAX as u64) as i64)
        .execute(&self.write)
        .await
        .map_err(|e| classify(e, "account", &u.account))?;
        Ok(())
    }

    async fn clear_unread(&self, account: &str) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM dm_unread WHERE account_key = $1").bind(casefold(account)).execute(&self.write).await?;
        Ok(done.rows_affected())
    }

    async fn unread(&self) -> Result<Vec<Unread>> {
        let rows = sqlx::query(
            "SELECT account_key, sender_key, sender_nick, first_at, count FROM dm_unread \
             ORDER BY account_key, first_at, sender_key",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Unread {
                    account: row.try_get("account_key")?,
                    sender: row.try_get("sender_key")?,
                    sender_nick: row.try_get("sender_nick")?,
                    first: Timestamp(row.try_get("first_at")?),
                    count: row.try_get::<i64, _>("count")?.max(0) as u64,
                })
            })
            .collect()
    }

    async fn message_counts(&self) -> Result<Vec<(String, u64)>> {
        let rows = sqlx::query("SELECT target, COUNT(*) AS n FROM messages GROUP BY target ORDER BY target")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                let n: i64 = row.try_get("n")?;
                Ok((row.try_get("target")?, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    async fn backup_to(&self, path: &std::path::Path) -> Result<()> {
        self.backup_impl(path).await
    }

    async fn add_cert(&self, account: &str, fingerprint: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO account_certs (fingerprint, account_key, added_at) VALUES ($1, $2, $3) \
             ON CONFLICT (fingerprint) DO NOTHING",
        )
        .bind(fingerprint)
        .bind(casefold(account))
        .bind(Timestamp::now().0)
        .execute(&self.write)
        .await
        .map_err(|e| classify(e, "account", account))?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        let owner = sqlx::query("SELECT account_key FROM account_certs WHERE fingerprint = $1")
            .bind(fingerprint)
            .fetch_optional(&self.write)
            .await?;
        match owner {
            Some(row) if row.try_get::<String, _>("account_key")? == casefold(account) => Ok(false),
            _ => Err(StoreError::AlreadyExists { kind: "certificate", name: fingerprint.to_string() }),
        }
    }

    async fn remove_cert(&self, account: &str, fingerprint: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM account_certs WHERE account_key = $1 AND fingerprint = $2")
            .bind(casefold(account))
            .bind(fingerprint)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn certs(&self, account: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT fingerprint FROM account_certs WHERE account_key = $1 ORDER BY fingerprint")
            .bind(casefold(account))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| Ok(row.try_get("fingerprint")?)).collect()
    }

    async fn account_by_cert(&self, fingerprint: &str) -> Result<Option<Account>> {
        let row = sqlx::query(
            "SELECT a.name, a.password_hash, a.admin, a.created_at FROM account_certs c \
             JOIN accounts a ON a.name_key = c.account_key WHERE c.fingerprint = $1",
        )
        .bind(fingerprint)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn add_login_token(&self, account: &str, id: &str, token_hash: &str, device: &str) -> Result<LoginToken> {
        let token = LoginToken {
            id: id.to_owned(),
            account: casefold(account),
            device: device.to_owned(),
            created_at: Timestamp::now(),
            last_used_at: None,
        };
        sqlx::query(
            "INSERT INTO login_tokens (id, account_key, token_hash, device, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(&token.id)
        .bind(&token.account)
        .bind(token_hash)
        .bind(&token.device)
        .bind(token.created_at.0)
        .execute(&self.write)
        .await
        .map_err(|e| match classify(e, "account", account) {
            StoreError::AlreadyExists { .. } => StoreError::AlreadyExists { kind: "login token", name: id.to_owned() },
            other => other,
        })?;
        Ok(token)
    }

    async fn login_tokens(&self, account: &str) -> Result<Vec<LoginToken>> {
        let rows = sqlx::query(
            "SELECT id, account_key, device, created_at, last_used_at FROM login_tokens \
             WHERE account_key = $1 ORDER BY created_at, id",
        )
        .bind(casefold(account))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(login_token_from_row).collect()
    }

    async fn delete_login_token(&self, account: &str, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM login_tokens WHERE account_key = $1 AND id = $2")
            .bind(casefold(account))
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_login_tokens(&self, account: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_tokens WHERE account_key = $1")
            .bind(casefold(account))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    async fn account_by_login_token(&self, token_hash: &str) -> Result<Option<(LoginToken, Account)>> {
        let row = sqlx::query(
            "SELECT t.id, t.account_key, t.device, t.created_at AS token_created_at, t.last_used_at, \
             a.name, a.password_hash, a.admin, a.created_at FROM login_tokens t \
             JOIN accounts a ON a.name_key = t.account_key WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token = LoginToken {
            id: row.try_get("id")?,
            account: row.try_get("account_key")?,
            device: row.try_get("device")?,
            created_at: Timestamp(row.try_get("token_created_at")?),
            last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(Timestamp),
        };
        Ok(Some((token, account_from_row(&row)?)))
    }

    async fn touch_login_token(&self, id: &str, now: Timestamp) -> Result<bool> {
        let done = sqlx::query("UPDATE login_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now.0)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// (participant, conversation) rows per `INSERT INTO dm_targets` statement.
const DM_TARGETS_PER_STATEMENT: usize = 256;

/// Whether this is the SQLite backend: multi-row statements bind `?` rather than `$n`
/// there (see [`append_sql`]), and the search index is filled per batch.
fn is_sqlite() -> bool {
    <Db as sqlx::Database>::NAME == "SQLite"
}

/// `INSERT INTO dm_targets … VALUES ($1, $2), ($3, $4) … ON CONFLICT DO NOTHING`.
fn dm_targets_sql(rows: usize, anonymous: bool) -> String {
    let mut sql = String::from("INSERT INTO dm_targets (participant, target) VALUES ");
    push_values(&mut sql, rows, 2, anonymous);
    sql.push_str(" ON CONFLICT (participant, target) DO NOTHING");
    sql
}

/// Whether a multi-row statement for `rows` rows (at most `max`) stays prepared in
/// the connection's statement cache: the full size (a busy batch) and the few small
/// ones of a quiet server do. Every other size is prepared for one use: a cached
/// statement for each size from 1 to 128 rows held megabytes of SQLite's heap (issue
/// 12: SQLite's heap grew from 0.65 to 5 MB while storing 10,000 JOINs, in batches of
/// every size), and the database server's memory likewise for PostgreSQL.
fn keep_prepared(rows: usize, max: usize) -> bool {
    rows <= 4 || rows == max
}

/// The body of [`Store::append`] on one write connection.
async fn append_on(conn: &mut sqlx::pool::PoolConnection<Db>, messages: &[StoredMessage]) -> Result<u64> {
    let mut tx = sqlx::Connection::begin(&mut **conn).await?;
    let sqlite = is_sqlite();
    // SQLite indexes the new rows for search in one statement after the batch (see
    // migrations/sqlite/0010): everything above the largest seq before it is new.
    let seq_before: i64 = if sqlite {
        sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM messages").fetch_one(&mut *tx).await?
    } else {
        0
    };
    let mut inserted = 0;
    for chunk in messages.chunks(chunk_len()) {
        let sql = append_sql(chunk.len(), sqlite);
        let mut query = sqlx::query(AssertSqlSafe(sql)).persistent(keep_prepared(chunk.len(), chunk_len()));
        for m in chunk {
            query = query
                .bind(&m.msgid)
                .bind(casefold(&m.target))
                .bind(&m.recipient)
                .bind(m.time.0)
                .bind(&m.sender)
                .bind(m.sender_account.as_deref())
                .bind(&m.command)
                .bind(&m.tags)
                .bind(&m.text);
        }
        inserted += query.execute(&mut *tx).await?.rows_affected();
    }
    // Each private conversation is listed under both of its people, once: one
    // statement for the whole batch (a statement per pair was a round trip to the
    // database thread per message at chat rates).
    let conversations: BTreeSet<String> =
        messages.iter().filter(|m| dm_participants(&m.target).is_some()).map(|m| casefold(&m.target)).collect();
    let pairs: Vec<(&str, &str)> = conversations
        .iter()
        .filter_map(|key| dm_participants(key).map(|(a, b)| [(a, key.as_str()), (b, key.as_str())]))
        .flat_map(|[x, y]| if x == y { vec![x] } else { vec![x, y] })
        .collect();
    for chunk in pairs.chunks(DM_TARGETS_PER_STATEMENT) {
        let mut query = sqlx::query(AssertSqlSafe(dm_targets_sql(chunk.len(), sqlite)))
            .persistent(keep_prepared(chunk.len(), DM_TARGETS_PER_STATEMENT));
        for (participant, target) in chunk {
            query = query.bind(*participant).bind(*target);
        }
        query.execute(&mut *tx).await?;
    }
    if sqlite && inserted > 0 {
        sqlx::query(FTS_INDEX_NEW).bind(seq_before).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(inserted)
}

/// SQLite: puts the messages above a seq into the full-text index, with the scope and
/// sender tokens of migrations/sqlite/0007 (the update trigger there builds the same).
const FTS_INDEX_NEW: &str = "INSERT INTO messages_fts (rowid, text, scope, sender) SELECT \
     seq, text, \
     't' || hex(target) || CASE WHEN instr(target, ' ') > 0 \
         THEN ' p' || hex(substr(target, 1, instr(target, ' ') - 1)) \
           || ' p' || hex(substr(target, instr(target, ' ') + 1)) \
         ELSE '' END, \
     hex(lower(substr(sender, 1, instr(sender || '!', '!') - 1))) \
         || ' ' || coalesce(hex(lower(sender_account)), '') \
     FROM messages WHERE seq > $1 AND command IN ('PRIVMSG', 'NOTICE')";
