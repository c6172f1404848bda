//! Serialise once, share the bytes.
//!
//! A relayed message (PRIVMSG, JOIN, QUIT, …) differs between recipients only in the
//! tags their capabilities ask for: `time` (server-time), `msgid` and client-only tags
//! (message-tags), `account` (account-tag). [`Relay`] serialises each of those variants
//! at most once, on first use, and hands every recipient a clone of the same `Bytes`
//! (a reference-count increment, no copy).

use bytes::Bytes;
use hearth_proto::{Cap, CapSet, Message, Tag};

const VARIANTS: usize = 8;
const V_TIME: usize = 1;
const V_TAGS: usize = 2;
const V_ACCOUNT: usize = 4;

/// One message on its way to many recipients.
#[derive(Debug)]
pub struct Relay {
    msg: Message,
    time: String,
    msgid: Option<String>,
    account: Option<String>,
    client_tags: Vec<Tag>,
    /// The sender is a bot (user mode +B): a `bot` tag for message-tags clients.
    bot: bool,
    cache: [Option<Bytes>; VARIANTS],
}

impl Relay {
    /// `msg` must carry no tags; they are added per recipient.
    pub fn new(msg: Message, time: String) -> Self {
        Relay { msg, time, msgid: None, account: None, client_tags: Vec::new(), bot: false, cache: Default::default() }
    }

    pub fn with_msgid(mut self, msgid: String) -> Self {
        self.msgid = Some(msgid);
        self
    }

    pub fn with_account(mut self, account: Option<String>) -> Self {
        self.account = account;
        self
    }

    pub fn with_client_tags(mut self, tags: Vec<Tag>) -> Self {
        self.client_tags = tags;
        self
    }

    /// Bot mode: "servers may include the `bot` tag on that client's outgoing
    /// messages" (https://ircv3.net/specs/extensions/bot-mode).
    pub fn with_bot(mut self, bot: bool) -> Self {
        self.bot = bot;
        self
    }

    pub fn msgid(&self) -> Option<&str> {
        self.msgid.as_deref()
    }

    pub fn message(&self) -> &Message {
        &self.msg
    }

    fn variant(&self, caps: CapSet) -> usize {
        let mut v = 0;
        if caps.contains(Cap::ServerTime) {
            v |= V_TIME;
        }
        if caps.contains(Cap::MessageTags) && (self.msgid.is_some() || !self.client_tags.is_empty() || self.bot) {
            v |= V_TAGS;
        }
        if caps.contains(Cap::AccountTag) && self.account.is_some() {
            v |= V_ACCOUNT;
        }
        v
    }

    /// The message as a recipient with `caps` sees it (used where more tags get added,
    /// e.g. a label on the sender's echo).
    pub fn message_for(&self, caps: CapSet) -> Message {
        self.build(self.variant(caps))
    }

    fn build(&self, v: usize) -> Message {
        let mut m = self.msg.clone();
        if v & V_TIME != 0 {
            m.tags.push(Tag { key: "time".into(), value: self.time.clone() });
        }
        if v & V_TAGS != 0 {
            if let Some(id) = &self.msgid {
                m.tags.push(Tag { key: "msgid".into(), value: id.clone() });
            }
            if self.bot {
                m.tags.push(Tag { key: "bot".into(), value: String::new() });
            }
            m.tags.extend(self.client_tags.iter().cloned());
        }
        if v & V_ACCOUNT != 0
            && let Some(acct) = &self.account
        {
            m.tags.push(Tag { key: "account".into(), value: acct.clone() });
        }
        m
    }

    /// The serialised line for a recipient with `caps`; built once per variant.
    pub fn bytes_for(&mut self, caps: CapSet) -> Bytes {
        let v = self.variant(caps);
        if let Some(b) = &self.cache[v] {
            return b.clone();
        }
        let mut buf = Vec::with_capacity(128);
        if v == 0 {
            self.msg.write(&mut buf);
        } else {
            self.build(v).write(&mut buf);
        }
        let b = Bytes::from(buf);
        self.cache[v] = Some(b.clone());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_share_bytes() {
        let msg = Message::new("PRIVMSG").with_source("a!b@c").with_param("#x").with_param("hi there");
        let mut r = Relay::new(msg, "2026-01-01T00:00:00.000Z".into()).with_msgid("id1".into());
        let plain = CapSet::empty();
        let mut timed = CapSet::empty();
        timed.insert(Cap::ServerTime);
        let a = r.bytes_for(plain);
        let b = r.bytes_for(plain);
        assert_eq!(a.as_ptr(), b.as_ptr(), "same variant must share one allocation");
        assert_eq!(&a[..], b":a!b@c PRIVMSG #x :hi there\r\n");
        let t = r.bytes_for(timed);
        assert_eq!(&t[..], b"@time=2026-01-01T00:00:00.000Z :a!b@c PRIVMSG #x :hi there\r\n");
    }
}
