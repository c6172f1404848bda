//! The server's state and its entry points: connect, handle, disconnect, shutdown.
//!
//! Every state change is a plain method on [`Server`]; the listener holds it behind a
//! mutex and calls in with already-parsed messages. Output goes to each client's
//! [`Sink`]; replies to the requesting client go through a [`Ctx`] first so that labels
//! and batches (labeled-response) wrap them correctly.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use compact_str::CompactString;
use hearth_proto::{Cap, Message, ParseError, Tag, casefold};

use crate::channel::Channel;
use crate::client::{Client, ConnId};
use crate::config::Config;
use crate::dispatch;
use crate::error::numeric;
use crate::outbound::{Entry, Journaled, Out, Outbound, StoreOp};
use crate::relay::Relay;
use crate::sink::{Push, Sink};
use hearth_store::journal::{Purge, Record, Trim};

/// What an asynchronous step (a database query, a password check) does to the state
/// when it finishes.
pub type Completion = Box<dyn FnOnce(&mut Server) + Send>;

/// An asynchronous step started by a handler. The listener spawns it and hands the
/// completion back with [`Server::complete`].
pub type Task = std::pin::Pin<Box<dyn Future<Output = Completion> + Send>>;

/// Storage-backed services: accounts, history, persistent rooms.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn hearth_store::Store>,
    pub outbound: Outbound,
    /// Cost of new password hashes (REGISTER); existing hashes carry their own.
    pub argon2: hearth_store::password::Argon2Params,
    /// The threads every password hash and verification runs on.
    pub hashes: crate::hashing::HashPool,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}

/// Replies to the client whose command is being handled.
#[derive(Debug)]
pub struct Ctx {
    /// The user acting: the connection that holds the nick, channels and away state.
    pub id: ConnId,
    /// The connection the command came from, which gets the replies (shaped by its own
    /// caps). The same as `id` except for a user's extra sessions ([`crate::sessions`]).
    pub session: ConnId,
    /// The command being handled (uppercase), for error numerics.
    pub command: String,
    /// The `label` tag of the command, if the client sent one.
    pub label: Option<String>,
    pub replies: Vec<Message>,
}

impl Ctx {
    pub fn new(id: ConnId, command: &str, label: Option<String>) -> Self {
        Ctx { id, session: id, command: command.to_string(), label, replies: Vec::new() }
    }

    /// Replies for connection `session`, acting as user `id`.
    pub fn for_session(id: ConnId, session: ConnId, command: &str, label: Option<String>) -> Self {
        Ctx { session, ..Ctx::new(id, command, label) }
    }

    pub fn reply(&mut self, m: Message) {
        self.replies.push(m);
    }
}

/// Who sent the command being handled, and what it was.
#[derive(Debug)]
struct Origin {
    id: ConnId,
    command: String,
    label: Option<String>,
    target: Option<String>,
}

/// Counters behind LUSERS and STATS.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub max_users: usize,
    /// Uses of each known command (STATS m), by uppercase name.
    pub commands: HashMap<&'static str, u64>,
}

/// All state of one server process.
pub struct Server {
    pub(crate) cfg: Arc<Config>,
    /// Boxed: a `Client` is over a kilobyte, and a table holding it inline keeps up to
    /// twice the live entries' worth of empty slots (power-of-two growth).
    /// Hashed with foldhash, not SipHash: the keys are counters the server hands out,
    /// so no client can choose them to collide, and a fan-out looks up every member.
    pub(crate) clients: HashMap<ConnId, Box<Client>, foldhash::fast::RandomState>,
    /// Casefolded nickname → connection.
    pub(crate) nicks: HashMap<CompactString, ConnId>,
    /// Casefolded channel name → channel.
    pub(crate) channels: HashMap<String, Channel>,
    pub(crate) created: SystemTime,
    pub(crate) stats: Stats,
    /// Departed nicknames, for WHOWAS.
    pub(crate) whowas: crate::whowas::WhowasLog,
    /// Sessions to end once the current command is done: (id, quit reason).
    pending_quits: Vec<(ConnId, String)>,
    /// Output of the command being handled, sent (or queued behind the database) at
    /// the end of it.
    pub(crate) outbox: Vec<Out>,
    /// Store operations of the command being handled.
    ops: Vec<StoreOp>,
    /// Asynchronous steps for the listener to spawn.
    tasks: Vec<Task>,
    pub(crate) services: Option<Services>,
    /// Casefolded nickname → connections that watch it with MONITOR.
    pub(crate) monitors: HashMap<String, Vec<ConnId>>,
    /// Casefolded names of all accounts: their nicknames are reserved.
    pub(crate) account_names: HashSet<String>,
    /// Pending checks and recent login failures per address and per account.
    pub(crate) attempts: crate::auth::Attempts,
    /// The command being handled, for the reply when its messages cannot be stored.
    current: Option<Origin>,
    /// When recent logins failed (wrong account or password), for `hearth admin stats`.
    pub(crate) login_failures: std::collections::VecDeque<std::time::Instant>,
    /// Messages relayed since start (PRIVMSG, NOTICE, TAGMSG), for `hearth admin stats`.
    pub(crate) messages_total: u64,
    msgid_prefix: String,
    msgid_counter: u64,
    op_counter: u64,
    batch_counter: u64,
    next_conn: ConnId,
    /// When the server started: the origin of the connections' deadline clock (see
    /// [`crate::timeouts`]).
    pub(crate) started: std::time::Instant,
    pub(crate) isupport: Vec<String>,
    /// Accept lists, chat requests, unread counts of offline accounts.
    pub(crate) chat: crate::chat::Chat,
    /// "You are alone", arrivals, active private conversations.
    pub(crate) presence: crate::presence::Presence,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("clients", &self.clients.len())
            .field("channels", &self.channels.len())
            .field("services", &self.services.is_some())
            .finish_non_exhaustive()
    }
}

/// Milliseconds since the epoch.
pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Seconds since the epoch, as IRC numerics print them.
pub(crate) fn unix_secs(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0).to_string()
}

/// `2026-11-21T05:41:56.123Z`, the server-time format.
pub(crate) fn server_time(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

impl Server {
    pub fn new(cfg: Config) -> Self {
        let cfg = Arc::new(cfg);
        let now = SystemTime::now();
        let isupport = crate::isupport::tokens(&cfg);
        let attempts = crate::auth::Attempts::new(cfg.max_logins_per_ip);
        let whowas = crate::whowas::WhowasLog::new(cfg.whowas_entries, cfg.whowas_max_age);
        Server {
            cfg,
            clients: HashMap::default(),
            nicks: HashMap::new(),
            channels: HashMap::new(),
            created: now,
            stats: Stats::default(),
            whowas,
            pending_quits: Vec::new(),
            outbox: Vec::new(),
            ops: Vec::new(),
            tasks: Vec::new(),
            services: None,
            account_names: HashSet::new(),
            monitors: HashMap::new(),
            attempts,
            // Millisecond start time keeps ids unique across restarts.
            msgid_prefix: format!("{:x}", unix_ms(now)),
            msgid_counter: 0,
            op_counter: 0,
            current: None,
            login_failures: Default::default(),
            messages_total: 0,
            batch_counter: 0,
            next_conn: 1,
            started: std::time::Instant::now(),
            isupport,
            chat: Default::default(),
            presence: Default::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Turns on accounts, history and persistent rooms.
    pub fn with_services(mut self, services: Services) -> Self {
        self.services = Some(services);
        self.isupport = crate::isupport::tokens_with(&self.cfg, true);
        self
    }

    /// Replaces the set of account names whose nicknames are reserved.
    pub fn set_account_names(&mut self, names: impl IntoIterator<Item = String>) {
        self.account_names = names.into_iter().map(|n| casefold(&n)).collect();
    }

    /// Asynchronous steps started since the last call; the caller spawns them.
    pub fn take_tasks(&mut self) -> Vec<Task> {
        std::mem::take(&mut self.tasks)
    }

    /// Applies a finished asynchronous step.
    pub fn complete(&mut self, done: Completion) {
        done(self);
        self.commit();
    }

    pub(crate) fn spawn(&mut self, task: impl Future<Output = Completion> + Send + 'static) {
        self.tasks.push(Box::pin(task));
    }

    pub(crate) fn store_op(&mut self, op: StoreOp) {
        if self.services.is_some() {
            self.ops.push(op);
        }
    }

    /// Connections (registered or not).
    pub fn connection_count(&self) -> usize {
        self.clients.len()
    }

    /// Registered users (a connection that has only sent NICK holds a nickname but is
    /// not a user yet).
    pub fn user_count(&self) -> usize {
        // Registered users, each once however many sessions it has.
        self.clients.values().filter(|c| c.registered && c.attached_to.is_none()).count()
    }

    pub fn is_registered(&self, id: ConnId) -> bool {
        self.clients.get(&id).is_some_and(|c| c.registered)
    }

    /// A new connection from `ip`; its output goes to `sink`.
    pub fn connect(&mut self, ip: IpAddr, sink: Arc<Sink>) -> ConnId {
        self.connect_with(ip, sink, crate::ConnInfo::default())
    }

    /// [`Server::connect`] with what the listener knows (TLS, a client certificate).
    pub fn connect_with(&mut self, ip: IpAddr, sink: Arc<Sink>, info: crate::ConnInfo) -> ConnId {
        let id = self.next_conn;
        self.next_conn += 1;
        let mut client = Client::new(id, ip, sink);
        client.conn = info;
        client.connected_ms = self.now_ms();
        client.input_ms = client.connected_ms;
        self.clients.insert(id, Box::new(client));
        id
    }

    /// Logins refused for a wrong password (or an unknown certificate) since start.
    pub fn login_failures(&self) -> u64 {
        self.attempts.failures()
    }

    /// Handles one parsed line from connection `id`.
    pub fn handle(&mut self, id: ConnId, msg: &Message) {
        if !self.note_input(id) {
            return;
        }
        let label = msg.tag("label").filter(|l| !l.is_empty() && l.len() <= 64).map(str::to_string);
        self.current = Some(Origin {
            id,
            command: msg.command.to_ascii_uppercase(),
            label: label.clone(),
            target: msg.params.first().cloned(),
        });
        let mut ctx = Ctx::for_session(self.user_of(id), id, &msg.command, label);
        if let Err(e) = dispatch::dispatch(self, &mut ctx, msg) {
            let nick = self.nick_of(id);
            let reply = e.to_message(&self.cfg.server_name, &nick, &msg.command);
            ctx.reply(reply);
        }
        self.flush(ctx);
        self.commit();
        self.current = None;
    }

    /// Tells the client why its line was rejected; the connection stays open.
    pub fn reject_line(&mut self, id: ConnId, err: &ParseError) {
        if !self.note_input(id) {
            return;
        }
        let nick = self.nick_of(id);
        let server = self.cfg.server_name.clone();
        let m = match err {
            ParseError::BodyTooLong | ParseError::TagsTooLong | ParseError::ClientTagsTooLong => {
                numeric(&server, hearth_proto::numeric::ERR_INPUTTOOLONG, &nick, [], "Input line was too long")
            }
            ParseError::Empty => return,
            ParseError::InvalidUtf8In(command) => {
                // UTF8ONLY: `FAIL <command> INVALID_UTF8` when the command can be read.
                let m = self.invalid_utf8(id, command.as_str());
                // A USER that cannot be taken leaves nothing to register with: say so
                // and close, rather than leave the client waiting for 001.
                if command.as_str() == "USER" && !self.is_registered(id) {
                    self.quit_later(id, "Realname and username must be UTF-8".into());
                }
                m
            }
            other if self.clients.get(&id).is_some_and(|c| c.caps.contains(Cap::StandardReplies)) => {
                let code = if matches!(other, ParseError::InvalidUtf8) { "INVALID_UTF8" } else { "INVALID_LINE" };
                Message::new("FAIL").with_source(&server).with_param("*").with_param(code).with_param(other.to_string())
            }
            other => Message::new("NOTICE")
                .with_source(&server)
                .with_param(nick.as_str())
                .with_param(format!("Your line was not understood and was dropped: {other}")),
        };
        self.send_message(id, &m);
        self.commit();
    }

    /// The reply to a `command` line that was not UTF-8: a standard reply for clients
    /// with standard-replies, a NOTICE for the others.
    fn invalid_utf8(&self, id: ConnId, command: &str) -> Message {
        let text = "Message rejected: this server only accepts UTF-8 (your IRC software must use UTF-8)";
        if self.clients.get(&id).is_some_and(|c| c.caps.contains(Cap::StandardReplies)) {
            self.server_msg("FAIL").with_param(command).with_param("INVALID_UTF8").with_param(text)
        } else {
            let nick = self.nick_of(id);
            self.server_msg("NOTICE").with_param(nick).with_param(format!("{command}: {text}"))
        }
    }

    /// Ends session `id` (socket closed, ping timeout, …): QUIT goes to everyone who
    /// shared a channel with it. Idempotent.
    pub fn disconnect(&mut self, id: ConnId, reason: &str) {
        self.pending_quits.push((id, reason.to_string()));
        self.commit();
    }

    /// Graceful shutdown: every client gets a NOTICE, then `ERROR`, then is closed.
    pub fn shutdown(&mut self, notice: &str) {
        let server = self.cfg.server_name.clone();
        for c in self.clients.values() {
            let n = Message::new("NOTICE").with_source(&server).with_param(self.nick_of(c.id)).with_param(notice);
            c.sink.push(to_bytes(&n));
            c.sink.close_with(Some(to_bytes(&Message::new("ERROR").with_param("Server shutting down"))));
        }
        self.clients.clear();
        self.nicks.clear();
    }

    /// Asks the client to prove it is alive ([`Server::tick`] calls this when it is quiet).
    pub fn ping(&mut self, id: ConnId) {
        let m = Message::new("PING").with_param(self.cfg.server_name.as_str());
        self.send_message(id, &m);
        self.commit();
    }

    pub(crate) fn nick_of(&self, id: ConnId) -> String {
        self.clients.get(&self.user_of(id)).map(|c| c.nick.to_string()).unwrap_or_else(|| "*".into())
    }

    pub(crate) fn client(&self, id: ConnId) -> &Client {
        &self.clients[&id]
    }

    pub(crate) fn client_mut(&mut self, id: ConnId) -> &mut Client {
        self.clients.get_mut(&id).expect("handler called for a live client")
    }

    pub(crate) fn find_nick(&self, nick: &str) -> Option<ConnId> {
        self.nicks.get(casefold(nick).as_str()).copied()
    }

    /// A fresh, unique message id.
    pub(crate) fn next_msgid(&mut self) -> String {
        self.msgid_counter += 1;
        format!("{}-{:x}", self.msgid_prefix, self.msgid_counter)
    }

    pub(crate) fn now_time() -> String {
        server_time(SystemTime::now())
    }

    /// A numeric for the client in `ctx`.
    pub(crate) fn num<'a>(&self, ctx: &mut Ctx, code: &str, params: impl IntoIterator<Item = &'a str>, text: &str) {
        let nick = self.nick_of(ctx.id);
        ctx.reply(numeric(&self.cfg.server_name, code, &nick, params, text));
    }

    /// A server-sourced message (`:server CMD params…`).
    pub(crate) fn server_msg(&self, command: &str) -> Message {
        Message::new(command).with_source(self.cfg.server_name.as_str())
    }

    /// Queues `bytes` for `id`; on SendQ overflow the session is ended after this command.
    pub(crate) fn send_bytes(&mut self, id: ConnId, bytes: Bytes) {
        if let Some(c) = self.clients.get(&id) {
            self.outbox.push(Out::Line(id, c.sink.clone(), bytes));
        }
    }

    pub(crate) fn send_message(&mut self, id: ConnId, m: &Message) {
        self.send_bytes(id, to_bytes(m));
    }

    /// Sends `relay` to each user in `targets` — to every session of it — whose session
    /// has `need` (if any), skipping user `except`.
    pub(crate) fn deliver(
        &mut self,
        relay: &mut Relay,
        targets: impl IntoIterator<Item = ConnId>,
        except: Option<ConnId>,
        need: Option<Cap>,
    ) {
        // Room for every recipient at once: the outbox starts empty for each command,
        // and growing it line by line for a room of 500 was 1 % of the CPU (issue 12).
        let targets = targets.into_iter();
        self.outbox.reserve(targets.size_hint().0);
        for id in targets {
            if Some(id) == except {
                continue;
            }
            let Some(c) = self.clients.get(&id) else { continue };
            // One lookup for the member itself; its other sessions (multiclient) are
            // rare and looked up each.
            if need.is_none_or(|cap| c.caps.contains(cap)) {
                self.outbox.push(Out::Line(id, c.sink.clone(), relay.bytes_for(c.caps)));
            }
            for &sid in &c.sessions {
                let Some(s) = self.clients.get(&sid) else { continue };
                if need.is_none_or(|cap| s.caps.contains(cap)) {
                    self.outbox.push(Out::Line(sid, s.sink.clone(), relay.bytes_for(s.caps)));
                }
            }
        }
    }

    /// Members of a channel (by key), as a list so the caller may mutate afterwards.
    pub(crate) fn members(&self, chan_key: &str) -> Vec<ConnId> {
        self.channels.get(chan_key).map(|c| c.members.keys().copied().collect()).unwrap_or_default()
    }

    /// Everyone who shares at least one channel with `id` (not `id` itself).
    pub(crate) fn peers(&self, id: ConnId) -> Vec<ConnId> {
        let mut seen = HashSet::new();
        if let Some(c) = self.clients.get(&id) {
            for key in &c.channels {
                if let Some(ch) = self.channels.get(key.as_str()) {
                    seen.extend(ch.members.keys().copied());
                }
            }
        }
        seen.remove(&id);
        seen.into_iter().collect()
    }

    /// Wraps `lines` in `BATCH +id kind [target]` … `BATCH -id`. Lines that already
    /// belong to a nested batch (e.g. chathistory inside labeled-response) keep theirs.
    pub(crate) fn batch(&mut self, kind: &str, target: Option<&str>, lines: Vec<Message>) -> Vec<Message> {
        self.batch_counter += 1;
        let id = format!("b{}", self.batch_counter);
        let mut start = self.server_msg("BATCH").with_param(format!("+{id}")).with_param(kind);
        if let Some(t) = target {
            start = start.with_param(t);
        }
        let mut out = Vec::with_capacity(lines.len() + 2);
        out.push(start);
        for mut l in lines {
            if l.tag("batch").is_none() {
                l.tags.insert(0, Tag::new("batch", id.as_str()));
            }
            out.push(l);
        }
        out.push(self.server_msg("BATCH").with_param(format!("-{id}")));
        out
    }

    /// Sends the replies in `ctx` to its client, labelled and batched as its caps ask.
    pub(crate) fn flush(&mut self, ctx: Ctx) {
        let Some(c) = self.clients.get(&ctx.session) else { return };
        let caps = c.caps;
        let label = ctx.label.filter(|_| caps.contains(Cap::LabeledResponse));
        let mut replies = ctx.replies;
        let label_tag = |l: &str| Tag { key: "label".into(), value: l.to_string() };
        match label {
            None => {}
            Some(l) if replies.is_empty() => {
                let mut ack = self.server_msg("ACK");
                ack.tags.push(label_tag(&l));
                replies.push(ack);
            }
            Some(l) if replies.len() == 1 || !caps.contains(Cap::Batch) => {
                replies[0].tags.insert(0, label_tag(&l));
            }
            Some(l) => {
                replies = self.batch("labeled-response", None, replies);
                replies[0].tags.push(label_tag(&l));
            }
        }
        // One buffer for the whole reply: the writer gets it as one chunk.
        let mut buf = Vec::with_capacity(replies.len() * 96);
        for r in &replies {
            r.write(&mut buf);
        }
        if !buf.is_empty() {
            self.send_bytes(ctx.session, Bytes::from(buf));
        }
    }

    /// Sends this command's output: at once, or — when it stores something, or earlier
    /// output still waits for the journal — through the writer, in order. When its
    /// messages cannot be made durable, nothing of it is delivered and its sender is
    /// told instead. Sessions that end (QUIT, KILL, SendQ) are removed here, including
    /// any that overflow while the QUIT messages go out.
    pub(crate) fn commit(&mut self) {
        loop {
            while let Some((id, reason)) = self.pending_quits.pop() {
                self.remove_client(id, &reason);
            }
            self.forget_refused();
            if self.outbox.is_empty() && self.ops.is_empty() {
                return;
            }
            let out = std::mem::take(&mut self.outbox);
            let records: Vec<Record> = std::mem::take(&mut self.ops).into_iter().map(StoreOp::into_record).collect();
            enum Route {
                Direct(Vec<Out>),
                Queue(Entry),
                Refused(Vec<Out>, Vec<Record>),
            }
            let route = match &self.services {
                None => Route::Direct(out),
                // The common case — a few records, nothing else waiting — is journaled
                // right here and delivered at once, without a hop through the writer.
                Some(svc) if !records.is_empty() => match svc.outbound.journal_now(records) {
                    Journaled::Done => Route::Direct(out),
                    Journaled::Failed(records) => Route::Refused(out, records),
                    Journaled::Later(records) => Route::Queue(Entry { records, out, fail: self.refusal() }),
                },
                Some(svc) if svc.outbound.busy() => Route::Queue(Entry { records, out, fail: None }),
                Some(_) => Route::Direct(out),
            };
            match route {
                Route::Queue(entry) => self.services.as_ref().expect("queued with services").outbound.send(entry),
                Route::Direct(out) => self.push_out(out),
                Route::Refused(out, records) => {
                    // Not durable, so not delivered: only closings go out, and the
                    // sender learns why.
                    self.forget(&records);
                    let closes: Vec<Out> = out.into_iter().filter(|o| matches!(o, Out::Close(..))).collect();
                    let fail = self.refusal();
                    self.push_out(closes.into_iter().chain(fail).collect());
                }
            }
            if self.pending_quits.is_empty() {
                return;
            }
        }
    }

    fn push_out(&mut self, out: Vec<Out>) {
        for o in out {
            match o {
                Out::Line(id, sink, bytes) => {
                    if sink.push(bytes) == Push::Overflow {
                        self.pending_quits.push((id, "SendQ exceeded".into()));
                    }
                }
                Out::Close(sink, bytes) => sink.close_with(Some(bytes)),
            }
        }
    }

    /// The reply for the command being handled when its messages cannot be stored:
    /// `FAIL <command> TEMPORARILY_UNAVAILABLE <target> :…` for clients with
    /// standard-replies, `404 <nick> <target> :…` for the others.
    fn refusal(&self) -> Option<Out> {
        let o = self.current.as_ref()?;
        let c = self.clients.get(&o.id)?;
        let text = "Message not delivered: the server cannot store messages right now; please try again later";
        let target = o.target.clone().unwrap_or_else(|| "*".into());
        let mut m = if c.caps.contains(Cap::StandardReplies) {
            self.server_msg("FAIL")
                .with_param(o.command.as_str())
                .with_param("TEMPORARILY_UNAVAILABLE")
                .with_param(target)
                .with_param(text)
        } else {
            numeric(
                &self.cfg.server_name,
                hearth_proto::numeric::ERR_CANNOTSENDTOCHAN,
                &self.nick_of(o.id),
                [target.as_str()],
                text,
            )
        };
        if let Some(label) = o.label.as_ref().filter(|_| c.caps.contains(Cap::LabeledResponse)) {
            m.tags.insert(0, Tag::new("label", label.as_str()));
        }
        Some(Out::Line(o.id, c.sink.clone(), to_bytes(&m)))
    }

    /// Takes records that could not be journaled out of the replay tails (they were
    /// never delivered), and fails the purges and trims among them.
    fn forget(&mut self, records: &[Record]) {
        let Some(svc) = &self.services else { return };
        for r in records {
            match r {
                Record::Message(m) => {
                    if let Some(ch) = self.channels.get_mut(&m.target) {
                        ch.recent.retain(|x| x.msgid != m.msgid);
                    }
                }
                Record::Purge(Purge { id, .. }) | Record::Trim(Trim { id, .. }) => svc.outbound.fail_result(*id),
                // Not delivered either; the change stays in memory until a restart.
                Record::Op(_) | Record::Redact(_) | Record::Rename(_) => {}
            }
        }
    }

    /// Records the writer task could not journal: out of the replay tails with them.
    fn forget_refused(&mut self) {
        if let Some(svc) = &self.services
            && let Some(records) = svc.outbound.take_refused()
        {
            self.forget(&records);
        }
    }

    // ----- administration (the control socket) -----

    fn next_op_id(&mut self) -> u64 {
        self.op_counter += 1;
        (unix_ms(SystemTime::now()) << 20) | (self.op_counter & 0xf_ffff)
    }

    /// Deletes history of `target` (a conversation key; all when `None`) older than
    /// `before` (all when `None`): from the replay tails at once, and from the database
    /// through the journal, in order with everything said before. Returns the id to
    /// wait for with [`Outbound::wait_result`]; `None` without history.
    pub fn purge_history(&mut self, target: Option<&str>, before: Option<hearth_store::Timestamp>) -> Option<u64> {
        self.services.as_ref()?;
        let target = target.map(casefold);
        for (key, ch) in self.channels.iter_mut() {
            if target.as_ref().is_none_or(|t| t == key) {
                ch.recent.retain(|m| before.is_some_and(|b| m.time >= b));
            }
        }
        let id = self.next_op_id();
        self.services.as_ref()?.outbound.expect_result(id);
        self.ops.push(StoreOp::Purge(Purge { id, target, before }));
        self.commit();
        Some(id)
    }

    /// Applies a retention policy relative to `now`, like [`Server::purge_history`].
    pub fn trim_history(&mut self, policy: &hearth_store::Retention, now: hearth_store::Timestamp) -> Option<u64> {
        self.services.as_ref()?;
        let oldest = policy.max_age.map(|age| now.saturating_sub(age));
        for ch in self.channels.values_mut() {
            if let Some(oldest) = oldest {
                ch.recent.retain(|m| m.time >= oldest);
            }
            if let Some(keep) = policy.max_per_target {
                while ch.recent.len() as u64 > keep {
                    ch.recent.pop_front();
                }
            }
        }
        let id = self.next_op_id();
        self.services.as_ref()?.outbound.expect_result(id);
        self.ops.push(StoreOp::Trim(Trim::new(id, policy, now)));
        self.commit();
        Some(id)
    }

    /// Ends every session logged in to `account` (it was deleted) with `reason`, and
    /// frees its nickname. Returns how many sessions ended.
    pub fn disconnect_account(&mut self, account: &str, reason: &str) -> usize {
        let key = casefold(account);
        self.account_names.remove(&key);
        crate::visibility::forget_account(self, &key);
        let ids: Vec<ConnId> = self
            .clients
            .values()
            .filter(|c| c.account.as_deref().is_some_and(|a| casefold(a) == key))
            .map(|c| c.id)
            .collect();
        for id in &ids {
            self.pending_quits.push((*id, reason.to_string()));
        }
        self.commit();
        ids.len()
    }

    /// The flow-control flag of the history journal ([`Outbound::pacing`]), when
    /// history is on.
    pub fn pacing(&self) -> Option<Arc<std::sync::atomic::AtomicBool>> {
        self.services.as_ref().map(|svc| svc.outbound.pacing())
    }

    /// Adds `account` to the reserved nicknames (it was just created).
    pub fn add_account_name(&mut self, account: &str) {
        self.account_names.insert(casefold(account));
    }

    /// Who is online: (nick, account, ip) of every registered session.
    pub fn sessions(&self) -> Vec<(String, Option<String>, IpAddr)> {
        let mut v: Vec<_> = self
            .clients
            .values()
            .filter(|c| c.registered)
            .map(|c| (self.nick_of(c.id), c.account.clone(), c.ip))
            .collect();
        v.sort();
        v
    }

    /// Removes `id` from all state, tells its peers, closes its sink with `ERROR`.
    fn remove_client(&mut self, id: ConnId, reason: &str) {
        let Some(client) = self.clients.get(&id) else { return };
        if client.attached_to.is_some() || !client.sessions.is_empty() {
            // One of several sessions of a user: the others carry on, nobody is told.
            self.remove_session(id, reason);
            return;
        }
        let gone =
            (client.registered && self.nicks.get(client.nick_key.as_str()) == Some(&id)).then(|| client.nick.clone());
        self.unwatch_all(id);
        let Some(client) = self.clients.get(&id) else { return };
        if client.registered {
            let quit = Message::new("QUIT").with_source(client.mask.as_str()).with_param(reason);
            let mut relay = Relay::new(quit, Self::now_time()).with_account(client.account.clone());
            // draft/event-playback: the QUIT is part of every channel's history.
            let (mask, account, channels) = (client.mask.clone(), client.account.clone(), client.channels.clone());
            let peers = self.peers(id);
            self.deliver(&mut relay, peers, None, None);
            for key in channels {
                crate::handlers::history::record_event(self, &key, &mask, account.clone(), "QUIT", reason.to_string());
            }
        }
        let Some(client) = self.clients.remove(&id) else { return };
        if client.registered {
            self.whowas.record(crate::whowas::Entry::of(&client, SystemTime::now()));
        }
        for key in &client.channels {
            if let Some(ch) = self.channels.get_mut(key.as_str()) {
                ch.members.remove(&id);
                if ch.members.is_empty() && !ch.persistent {
                    self.channels.remove(key.as_str());
                }
            }
        }
        if !client.nick_key.is_empty() && self.nicks.get(client.nick_key.as_str()) == Some(&id) {
            self.nicks.remove(client.nick_key.as_str());
        }
        let error = Message::new("ERROR").with_param(format!("Closing Link: {} ({reason})", client.host));
        self.outbox.push(Out::Close(client.sink.clone(), to_bytes(&error)));
        if let Some(nick) = gone {
            self.monitor_offline(&nick);
        }
        if client.account.is_none() {
            crate::visibility::guest_gone(self, id, &client.channels);
        }
        crate::presence::left(self, &client);
    }

    /// Queues the end of a session after the current command (QUIT, KILL).
    pub(crate) fn quit_later(&mut self, id: ConnId, reason: String) {
        self.pending_quits.push((id, reason));
    }
}

/// Serialises one message into its own buffer.
pub(crate) fn to_bytes(m: &Message) -> Bytes {
    let mut buf = Vec::with_capacity(64);
    m.write(&mut buf);
    Bytes::from(buf)
}
