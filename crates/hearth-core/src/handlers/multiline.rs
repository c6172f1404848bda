//! Client batches of type `draft/multiline` (<https://ircv3.net/specs/extensions/multiline>).
//!
//! `BATCH +ref draft/multiline <target>` opens one, PRIVMSG (or NOTICE) lines tagged
//! `batch=ref` fill it, `BATCH -ref` sends it: as one `draft/multiline` batch to
//! recipients with draft/multiline and batch, as its non-blank lines to the others
//! (the msgid on the first). History keeps it as ONE message (as ergo does): its lines
//! joined by `\n` with the concat flags in [`hearth_store::MULTILINE_TAG`], so
//! CHATHISTORY replays it the same two ways and REDACT deletes it whole.

use bytes::Bytes;
use hearth_proto::{Cap, CapSet, Message, Tag, casefold};
use hearth_store::{StoredMessage, Timestamp};

use crate::client::ConnId;
use crate::error::IrcError;
use crate::handlers::history;
use crate::handlers::message::may_send;
use crate::relay::Relay;
use crate::server::{Ctx, Server, server_time};

/// Most bytes of combined message (each joining line feed counts one).
pub const MAX_BYTES: usize = 4096;
/// Most lines in one batch.
pub const MAX_LINES: usize = 32;
/// The capability's value in `CAP LS 302`.
pub const CAP_VALUE: &str = "max-bytes=4096,max-lines=32";

const CONCAT: &str = "draft/multiline-concat";

/// A batch being received.
#[derive(Debug)]
pub struct Pending {
    reference: String,
    target: String,
    /// The label of `BATCH +`: the echo's opening line carries it.
    label: Option<String>,
    /// Client-only tags, sent on `BATCH +`.
    tags: Vec<Tag>,
    command: Option<String>,
    lines: Vec<(String, bool)>,
    bytes: usize,
    /// The first thing wrong with it, reported at `BATCH -`.
    error: Option<IrcError>,
}

fn fail(code: &'static str, context: Vec<String>, text: &str) -> IrcError {
    IrcError::Fail(code, context, text.to_string())
}

fn invalid() -> IrcError {
    fail("MULTILINE_INVALID", vec![], "Invalid multiline batch")
}

/// BATCH +<ref> draft/multiline <target> | BATCH -<ref>
pub fn batch(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let reference = &msg.params[0];
    if let Some(r) = reference.strip_prefix('+') {
        if msg.params.get(1).map(String::as_str) != Some("draft/multiline") || msg.params.len() < 3 || r.is_empty() {
            return Err(invalid());
        }
        let c = s.client_mut(ctx.id);
        if c.multiline.is_some() {
            c.multiline = None;
            return Err(invalid());
        }
        let tags = msg.tags.iter().filter(|t| t.key.starts_with('+')).cloned().collect();
        c.multiline = Some(Box::new(Pending {
            reference: r.to_string(),
            target: msg.params[2].clone(),
            label: ctx.label.take(),
            tags,
            command: None,
            lines: Vec::new(),
            bytes: 0,
            error: None,
        }));
        return Ok(());
    }
    let Some(r) = reference.strip_prefix('-') else { return Err(invalid()) };
    let pending = s.client_mut(ctx.id).multiline.take();
    let Some(p) = pending.filter(|p| p.reference == r) else { return Err(invalid()) };
    if let Some(e) = p.error {
        return Err(e);
    }
    // "Clients MUST NOT send blank lines with the `draft/multiline-concat` tag. Clients
    // MUST NOT send messages consisting entirely of blank lines."
    if p.lines.iter().all(|(l, _)| l.is_empty()) || p.lines.iter().any(|(l, c)| l.is_empty() && *c) {
        return Err(invalid());
    }
    if ctx.label.is_none() {
        ctx.label = p.label.clone();
    }
    deliver(s, ctx, *p)
}

/// One PRIVMSG/NOTICE line inside an open batch.
pub(crate) fn line(s: &mut Server, ctx: &mut Ctx, msg: &Message, verb: &str) -> Result<(), IrcError> {
    let reference = msg.tag("batch").unwrap_or_default().to_string();
    let c = s.client_mut(ctx.id);
    let Some(p) = c.multiline.as_mut().filter(|p| p.reference == reference) else {
        return Err(invalid());
    };
    if p.error.is_some() {
        return Ok(());
    }
    let target = msg.params.first().cloned().unwrap_or_default();
    let text = msg.params.get(1).cloned().unwrap_or_default();
    let concat = msg.tag(CONCAT).is_some();
    p.bytes += text.len() + usize::from(!p.lines.is_empty() && !concat);
    p.error = if casefold(&target) != casefold(&p.target) {
        // "MULTILINE_INVALID_TARGET <batch-target> <provided-target>: mismatched PRIVMSG
        // target within a batch"
        Some(fail("MULTILINE_INVALID_TARGET", vec![p.target.clone(), target], "Invalid multiline target"))
    } else if p.command.as_deref().is_some_and(|c| c != verb) {
        Some(invalid())
    } else if p.lines.len() >= MAX_LINES {
        Some(fail("MULTILINE_MAX_LINES", vec![MAX_LINES.to_string()], "Multiline batch max-lines exceeded"))
    } else if p.bytes > MAX_BYTES {
        Some(fail("MULTILINE_MAX_BYTES", vec![MAX_BYTES.to_string()], "Multiline batch max-bytes exceeded"))
    } else {
        None
    };
    p.command = Some(verb.to_string());
    p.lines.push((text, concat));
    Ok(())
}

/// Sends a complete batch to its target and stores it.
fn deliver(s: &mut Server, ctx: &mut Ctx, p: Pending) -> Result<(), IrcError> {
    let command = p.command.clone().unwrap_or_else(|| "PRIVMSG".into());
    let (key, shown, recipients) = if p.target.starts_with('#') || p.target.starts_with('&') {
        let key = casefold(&p.target);
        let Some(ch) = s.channels.get(&key) else { return Err(IrcError::NoSuchChannel(p.target.clone())) };
        may_send(s, ctx.id, ch)?;
        let members: Vec<ConnId> = ch.members.keys().copied().filter(|id| *id != ctx.id).collect();
        (key, ch.name.clone(), members)
    } else {
        let Some(tid) = s.find_nick(&p.target).filter(|id| s.is_registered(*id)) else {
            return Err(IrcError::NoSuchNick(p.target.clone()));
        };
        let others = if tid == ctx.id { vec![] } else { vec![tid] };
        crate::presence::conversed(s, ctx.id, tid);
        (history::dm_target(s, ctx.id, tid), s.client(tid).nick.to_string(), others)
    };
    let now = std::time::SystemTime::now();
    let msgid = s.next_msgid();
    let c = s.client(ctx.id);
    let (mask, account, caps, nick) = (c.mask.clone(), c.account.clone(), c.caps, c.nick.clone());
    let mut out = Outgoing::new(&p, &mask, account.clone(), &command, &shown, &msgid, server_time(now));
    for id in recipients {
        let Some(rcaps) = s.clients.get(&id).map(|rc| rc.caps) else { continue };
        for bytes in out.bytes_for(rcaps) {
            s.send_bytes(id, bytes);
        }
    }
    let to_self = !shown.starts_with(['#', '&']) && casefold(&shown) == casefold(&nick);
    if caps.contains(Cap::EchoMessage) || to_self {
        let mut lines = out.messages_for(caps);
        if let Some(label) = ctx.label.take().filter(|_| caps.contains(Cap::LabeledResponse)) {
            // "Servers MUST only include the label tag on the opening BATCH command when
            // replying to a client using `echo-message`."
            if out.batched(caps) {
                lines[0].tags.insert(0, Tag::new("label", label.as_str()));
            } else {
                ctx.label = Some(label);
            }
        }
        ctx.replies.extend(lines);
    }
    let mut tags = history::tags_to_string(&p.tags);
    if !tags.is_empty() {
        tags.push(';');
    }
    let concat: Vec<String> = p.lines.iter().enumerate().filter(|(_, (_, c))| *c).map(|(i, _)| i.to_string()).collect();
    tags.push_str(hearth_store::MULTILINE_TAG);
    if !concat.is_empty() {
        tags.push('=');
        tags.push_str(&concat.join(","));
    }
    if s.services.is_some() && s.cfg.history {
        let text = p.lines.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join("\n");
        history::store_message(
            s,
            StoredMessage {
                msgid,
                time: Timestamp::from(now),
                target: key,
                recipient: shown.to_string(),
                sender: mask.to_string(),
                sender_account: account,
                command,
                tags,
                text,
            },
        );
    }
    Ok(())
}

/// One batch on its way to many recipients: the opening line per tag variant (a
/// [`Relay`]), the body serialised once, and the fallback lines.
struct Outgoing {
    opener: Relay,
    body: Bytes,
    fallback: Vec<Relay>,
    reference: String,
    mask: String,
    lines: Vec<Message>,
}

impl Outgoing {
    #[allow(clippy::too_many_arguments)]
    fn new(
        p: &Pending,
        mask: &str,
        account: Option<String>,
        command: &str,
        shown: &str,
        msgid: &str,
        time: String,
    ) -> Outgoing {
        let reference = format!("ml{msgid}");
        let open = Message::new("BATCH")
            .with_source(mask)
            .with_param(format!("+{reference}"))
            .with_param("draft/multiline")
            .with_param(shown);
        let opener = Relay::new(open, time.clone())
            .with_msgid(msgid.to_string())
            .with_account(account.clone())
            .with_client_tags(p.tags.clone());
        let mut lines = Vec::new();
        let mut body = Vec::new();
        for (text, concat) in &p.lines {
            let mut l = Message::new(command).with_source(mask).with_param(shown).with_param(text.as_str());
            l.tags.push(Tag::new("batch", reference.as_str()));
            if *concat {
                l.tags.push(Tag::new(CONCAT, ""));
            }
            l.write(&mut body);
            lines.push(l);
        }
        Message::new("BATCH").with_source(mask).with_param(format!("-{reference}")).write(&mut body);
        // "Servers MUST NOT send blank lines to clients that have not negotiated the
        // multiline capability." Tags ride on the first line sent, the msgid only there.
        let mut fallback = Vec::new();
        for (text, _) in p.lines.iter().filter(|(t, _)| !t.is_empty()) {
            let m = Message::new(command).with_source(mask).with_param(shown).with_param(text.as_str());
            let mut r = Relay::new(m, time.clone()).with_account(account.clone());
            if fallback.is_empty() {
                r = r.with_msgid(msgid.to_string()).with_client_tags(p.tags.clone());
            }
            fallback.push(r);
        }
        Outgoing { opener, body: Bytes::from(body), fallback, reference, mask: mask.to_string(), lines }
    }

    /// Whether a client with `caps` gets the batch rather than the fallback.
    fn batched(&self, caps: CapSet) -> bool {
        caps.contains(Cap::Multiline) && caps.contains(Cap::Batch)
    }

    /// The serialised lines for a recipient with `caps`.
    fn bytes_for(&mut self, caps: CapSet) -> Vec<Bytes> {
        if self.batched(caps) {
            vec![self.opener.bytes_for(caps), self.body.clone()]
        } else {
            self.fallback.iter_mut().map(|r| r.bytes_for(caps)).collect()
        }
    }

    /// The lines as messages (for the sender's echo, which may get a label).
    fn messages_for(&self, caps: CapSet) -> Vec<Message> {
        if self.batched(caps) {
            let mut out = vec![self.opener.message_for(caps)];
            out.extend(self.lines.iter().cloned());
            out.push(Message::new("BATCH").with_source(self.mask.as_str()).with_param(format!("-{}", self.reference)));
            out
        } else {
            self.fallback.iter().map(|r| r.message_for(caps)).collect()
        }
    }
}
