//! SEARCH (soju.im/search, https://codeberg.org/emersion/soju/src/branch/master/doc/ext/search.md):
//! full-text search over the history a person may read.
//!
//! Access rule, enforced here and nowhere else: a search looks only into the rooms
//! the user is in right now ([`readable_rooms`]) and the user's own conversations
//! (conversation keys that hold their account, or `~nick` for a guest). Nobody finds
//! anything from a room they are not in, or from anyone else's conversation — not
//! even operators, who may read any room's CHATHISTORY: a search spans every room at
//! once, so the person's own memberships are the only fair scope.

use hearth_proto::{Cap, Message, casefold, unescape_tag_value};
use hearth_store::{SearchQuery, SearchTarget, StoredMessage, Timestamp, dm_key};

use crate::client::ConnId;
use crate::error::IrcError;
use crate::handlers::history::{batched, bounded, caught_up, identity, replay_lines};
use crate::server::{Completion, Ctx, Server};

/// Results when the client gives no `limit`. A given limit is capped at
/// `chathistory_max`, like CHATHISTORY's.
pub const DEFAULT_LIMIT: usize = 100;

/// The batch type of the results (and the capability's name).
const BATCH_TYPE: &str = "soju.im/search";

/// The rooms user `id` may search, each from the time its history is visible to
/// them: every room they are in now. This is the one place that decides; a rule that
/// hides part of a room's past from a member sets `visible_from` here.
pub(crate) fn readable_rooms(s: &Server, id: ConnId) -> Vec<SearchTarget> {
    // In a `joined` room (+H) only what was said while the person was a member.
    s.client(id)
        .channels
        .iter()
        .map(|key| SearchTarget { key: key.to_string(), visible_from: crate::visibility::visible_from(s, id, key) })
        .collect()
}

/// The attributes of a SEARCH, as parsed.
#[derive(Debug, Default, PartialEq, Eq)]
struct Attributes {
    text: Option<String>,
    from: Option<String>,
    target: Option<String>,
    after: Option<Timestamp>,
    before: Option<Timestamp>,
    limit: Option<usize>,
}

fn invalid(attr: &str) -> IrcError {
    // "FAIL SEARCH INVALID_PARAMS [invalid_parameters] :Invalid parameters"
    IrcError::Fail("INVALID_PARAMS", vec![attr.to_string()], "Invalid parameters".into())
}

/// `key=value;key=value`, values escaped as tag values (`\s` for a space), as soju
/// reads them. Unknown keys are ignored; an empty value counts as absent.
fn parse_attributes(raw: &str) -> Result<Attributes, IrcError> {
    let mut a = Attributes::default();
    for pair in raw.split(';').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = unescape_tag_value(value);
        if value.is_empty() {
            continue;
        }
        let time = |v: &str| humantime::parse_rfc3339_weak(v).map(Timestamp::from).map_err(|_| invalid(key));
        match key {
            "text" => a.text = Some(value),
            "from" => a.from = Some(value),
            "in" => a.target = Some(value),
            "after" => a.after = Some(time(&value)?),
            "before" => a.before = Some(time(&value)?),
            "limit" => a.limit = Some(value.parse().ok().filter(|n| *n > 0).ok_or_else(|| invalid(key))?),
            _ => {}
        }
    }
    Ok(a)
}

/// The query for user `id`: the attributes inside the user's scope. `in` narrows
/// the scope to one room the user is in, or one of their own conversations.
fn query_for(s: &Server, id: ConnId, a: Attributes) -> Result<SearchQuery, IrcError> {
    let me = identity(s, id);
    let (targets, participant) = match &a.target {
        None => (readable_rooms(s, id), Some(me)),
        Some(t) if t.starts_with(['#', '&']) => {
            let key = casefold(t);
            let room = readable_rooms(s, id).into_iter().find(|r| r.key == key).ok_or_else(|| invalid("in"))?;
            (vec![room], None)
        }
        // A space would make a conversation key of three names (a value may hold
        // one, escaped as `\s`); no nick has one.
        Some(nick) if nick.contains(hearth_store::DM_SEPARATOR) => return Err(invalid("in")),
        Some(nick) => {
            // The conversation with `nick`: keyed by whom it is now (their account, or
            // `~nick` for a guest) while online; once gone, the account of that name
            // and the guest of that nick. Every key holds `me`: always the user's own.
            let others = match s.find_nick(nick) {
                Some(oid) => vec![identity(s, oid)],
                None => vec![casefold(nick), format!("~{}", casefold(nick))],
            };
            (others.iter().map(|o| SearchTarget::all(dm_key(&me, o))).collect(), None)
        }
    };
    let limit = a.limit.unwrap_or(DEFAULT_LIMIT).min(s.cfg.chathistory_max);
    Ok(SearchQuery { targets, participant, text: a.text, sender: a.from, after: a.after, before: a.before, limit })
}

/// SEARCH <attributes>
pub fn search(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let Some(svc) = s.services.clone().filter(|_| s.cfg.history) else {
        return Err(IrcError::UnknownCommand);
    };
    // "The `soju.im/search` capability MUST be negotiated."
    if !s.client(ctx.session).caps.contains(Cap::Search) {
        return Err(IrcError::UnknownCommand);
    }
    let query = query_for(s, ctx.id, parse_attributes(&msg.params[0])?)?;
    let (id, session, label) = (ctx.id, ctx.session, ctx.label.take());
    s.spawn(async move {
        let rows = match caught_up(&svc).await {
            Ok(()) => bounded(svc.store.search(&query)).await,
            Err(e) => Err(e),
        };
        let done: Completion = Box::new(move |s: &mut Server| {
            if !s.clients.contains_key(&session) {
                return;
            }
            let mut ctx = Ctx::new(session, "SEARCH", label);
            match rows {
                Ok(rows) => ctx.replies = results(s, session, &rows),
                Err(e) => {
                    tracing::warn!("SEARCH failed: {e}");
                    // "FAIL SEARCH INTERNAL_ERROR [extra_context] :The search could not be run"
                    let e = IrcError::Fail("INTERNAL_ERROR", vec![], "The search could not be run".into());
                    let nick = s.nick_of(id);
                    ctx.reply(e.to_message(&s.cfg.server_name, &nick, "SEARCH"));
                }
            }
            s.flush(ctx);
        });
        done
    });
    Ok(())
}

/// The results as `session` should see them: "If the batch capability was negotiated,
/// the server MUST reply to a successful SEARCH command using a batch", "If no content
/// exists to return, the server SHOULD return an empty batch". A client with batch
/// reads tags, so time and msgid travel; one without server-time gets the time in
/// front of the text.
fn results(s: &mut Server, session: ConnId, rows: &[StoredMessage]) -> Vec<Message> {
    let mut caps = s.client(session).caps;
    if caps.contains(Cap::Batch) {
        caps.insert(Cap::ServerTime);
        caps.insert(Cap::MessageTags);
    }
    let lines: Vec<Message> = rows.iter().flat_map(|m| replay_lines(m, caps, true)).collect();
    batched(s, session, BATCH_TYPE, None, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_parse_like_tags() {
        let a = parse_attributes("text=fast\\sfood;from=jackie;in=#chan;limit=2;unknown=1;before=").unwrap();
        assert_eq!(a.text.as_deref(), Some("fast food"));
        assert_eq!(a.from.as_deref(), Some("jackie"));
        assert_eq!(a.target.as_deref(), Some("#chan"));
        assert_eq!(a.limit, Some(2));
        assert_eq!(a.before, None);
        let t = parse_attributes("after=2019-01-04T14:33:26.123Z").unwrap();
        assert_eq!(t.after, Some(Timestamp(1_546_612_406_123)));
    }

    #[test]
    fn bad_attributes_are_invalid_params() {
        for raw in ["limit=0", "limit=many", "after=yesterday", "before=2019-13-01T00:00:00Z"] {
            assert!(matches!(parse_attributes(raw), Err(IrcError::Fail("INVALID_PARAMS", _, _))), "{raw}");
        }
    }
}
