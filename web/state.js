// What the person sees, as plain data, and how IRC lines change it. No DOM, no sockets:
// apply() takes a parsed line and returns what changed, so it can be reasoned about
// (and tested) apart from the page.

import { fold, isChannel, action } from "./lib/irc.js";

export function createState() {
  return {
    me: "",
    account: "",
    current: null, // key of the open conversation
    conversations: new Map(), // fold(name) -> conversation
    online: new Map(), // fold(nick) -> nick, people seen in our rooms
    requests: new Map(), // fold(peer) -> { peer, dir: "in" | "out" }
    oper: false, // an IRC operator (an admin account): 381, or MODE +o on oneself
    connection: "offline",
  };
}

export function conversation(state, name, kind) {
  const key = fold(name);
  let c = state.conversations.get(key);
  if (!c) {
    kind = kind || (isChannel(name) ? "room" : name === "*server" ? "server" : "private");
    c = { key, name, kind, topic: "", members: new Map(), messages: [], ids: new Set(), readAt: 0,
      joined: false, complete: false, window: 200, below: 0 };
    state.conversations.set(key, c);
  }
  return c;
}

export const timeOf = (msg) => (msg.tags.time ? Date.parse(msg.tags.time) : Date.now());

/** Adds a message record, keeping time order and dropping duplicates (same msgid). */
export function addMessage(conv, m) {
  if (m.id) {
    if (conv.ids.has(m.id)) return false;
    conv.ids.add(m.id);
  }
  const list = conv.messages;
  let i = list.length;
  while (i > 0 && list[i - 1].time > m.time) i--;
  list.splice(i, 0, m);
  return true;
}

/** The record of a PRIVMSG/NOTICE line, or of a JOIN/PART/QUIT event, for a conversation. */
export function record(msg, type, text) {
  const r = { id: msg.tags.msgid || "", time: timeOf(msg), from: msg.nick, type, text, status: "sent" };
  if (msg.tags["+draft/reply"]) r.reply = msg.tags["+draft/reply"];
  return r;
}

/** The message `m` answers (+draft/reply), when it is loaded. */
export function parentOf(conv, m) {
  if (!m.reply || !conv.ids.has(m.reply)) return null;
  for (let i = conv.messages.length - 1; i >= 0; i--) if (conv.messages[i].id === m.reply) return conv.messages[i];
  return null;
}

/** The default notification level: everything in private, mentions in rooms. */
export const defaultLevel = (conv) => (conv.kind === "private" ? "all" : "mentions");

/**
 * Whether a new message should raise a desktop notification, given the conversation's
 * level ("all" | "mentions" | "none"). Never for one's own messages or server events.
 */
export function shouldNotify(state, conv, m, level = defaultLevel(conv)) {
  if (level === "none" || conv.kind === "server") return false;
  if (m.type !== "msg" && m.type !== "action" && m.type !== "notice") return false;
  if (!m.from || fold(m.from) === fold(state.me)) return false;
  if (level === "all") return true;
  return conv.kind === "private" || isMention(state, m);
}

/** Which conversation a PRIVMSG/NOTICE belongs to, seen from `me`. */
export function targetOf(state, msg) {
  const target = msg.params[0] || "";
  if (isChannel(target)) return target;
  if (!msg.nick || !msg.prefix.includes("!")) return "*server";
  return fold(msg.nick) === fold(state.me) ? target : msg.nick;
}

export function textRecord(state, msg) {
  const text = msg.params[1] || "";
  const act = action(text);
  if (act !== null) return record(msg, "action", act);
  return record(msg, msg.command === "NOTICE" ? "notice" : "msg", text);
}

const mentionRe = { me: null, re: null };

export function isMention(state, m) {
  if (!state.me || fold(m.from) === fold(state.me)) return false;
  if (mentionRe.me !== state.me) {
    mentionRe.me = state.me;
    mentionRe.re = new RegExp(`(^|[^\\w])${state.me.replace(/[^\w]/g, "\\$&")}($|[^\\w])`, "i");
  }
  return mentionRe.re.test(m.text);
}

/** Unread messages and mentions after the read marker. */
export function unread(state, conv) {
  let count = 0;
  let mentions = 0;
  for (let i = conv.messages.length - 1; i >= 0; i--) {
    const m = conv.messages[i];
    if (m.time <= conv.readAt) break;
    if ((m.type === "msg" || m.type === "action") && fold(m.from) !== fold(state.me)) {
      count++;
      if (conv.kind === "private" || isMention(state, m)) mentions++;
    }
  }
  return { count, mentions };
}

export function lastTime(conv) {
  for (let i = conv.messages.length - 1; i >= 0; i--) if (conv.messages[i].status === "sent") return conv.messages[i].time;
  return 0;
}

function seen(state, nick) {
  if (nick) state.online.set(fold(nick), nick);
}

function forget(state, nick) {
  const k = fold(nick);
  for (const c of state.conversations.values()) if (c.members.has(k)) return;
  state.online.delete(k);
}

/**
 * Applies one live line. Returns { conv, message, request, joined } for the app to
 * act on (fetch history for a joined room, notify, …), or null when nothing changed.
 */
export function apply(state, msg) {
  const p = msg.params;
  const me = fold(msg.nick) === fold(state.me);
  switch (msg.command) {
    case "001":
      state.me = p[0];
      state.oper = false; // learnt again at each login (381)
      return {};
    case "381":
      state.oper = true;
      return {};
    case "221":
    case "MODE": {
      const target = p[0] || "";
      const modes = p[1] || "";
      if (isChannel(target) || fold(target) !== fold(state.me)) return null;
      let sign = "+";
      for (const ch of modes) {
        if (ch === "+" || ch === "-") sign = ch;
        else if (ch === "o") state.oper = sign === "+";
      }
      if (msg.command === "221" && !modes.includes("o")) state.oper = false;
      return {};
    }
    case "NICK": {
      if (me) state.me = p[0];
      state.online.delete(fold(msg.nick));
      seen(state, p[0]);
      for (const c of state.conversations.values()) {
        const pre = c.members.get(fold(msg.nick));
        if (pre === undefined) continue;
        c.members.delete(fold(msg.nick));
        c.members.set(fold(p[0]), { nick: p[0], prefix: pre.prefix });
      }
      return {};
    }
    case "JOIN": {
      const c = conversation(state, p[0], "room");
      if (me) {
        c.joined = true;
        c.members.clear();
        if (!state.current || state.current === "*server") state.current = c.key;
        return { conv: c, joined: true };
      }
      c.members.set(fold(msg.nick), { nick: msg.nick, prefix: "" });
      seen(state, msg.nick);
      addMessage(c, record(msg, "join", "joined"));
      return { conv: c };
    }
    case "PART":
    case "KICK": {
      const c = conversation(state, p[0], "room");
      const who = msg.command === "KICK" ? p[1] : msg.nick;
      c.members.delete(fold(who));
      if (fold(who) === fold(state.me)) {
        c.joined = false;
        return { conv: c, left: true };
      }
      forget(state, who);
      addMessage(c, record({ ...msg, nick: who }, "part", msg.command === "KICK" ? "was removed" : "left"));
      return { conv: c };
    }
    case "QUIT":
      for (const c of state.conversations.values()) {
        if (c.members.delete(fold(msg.nick))) addMessage(c, record(msg, "part", "went offline"));
      }
      state.online.delete(fold(msg.nick));
      return {};
    case "353": {
      const c = conversation(state, p[2], "room");
      for (const n of (p[3] || "").split(" ")) {
        const m = /^([~&@%+]*)(.+)$/.exec(n);
        if (!m) continue;
        c.members.set(fold(m[2]), { nick: m[2], prefix: m[1] });
        seen(state, m[2]);
      }
      return { conv: c };
    }
    case "332":
      return { conv: Object.assign(conversation(state, p[1], "room"), { topic: p[2] || "" }) };
    case "TOPIC":
      return { conv: Object.assign(conversation(state, p[0], "room"), { topic: p[1] || "" }) };
    case "TAGMSG": {
      const typing = msg.tags["+typing"];
      if (!typing || me) return null;
      const c = conversation(state, targetOf(state, msg));
      c.typing = c.typing || new Map();
      if (typing === "active") c.typing.set(fold(msg.nick), { nick: msg.nick, until: Date.now() + 6000 });
      else c.typing.delete(fold(msg.nick));
      return { conv: c, typing: true };
    }
    case "REDACT": {
      const c = conversation(state, isChannel(p[0]) ? p[0] : me ? p[0] : msg.nick);
      const i = c.messages.findIndex((m) => m.id === p[1]);
      if (i < 0) return null;
      c.messages.splice(i, 1);
      return { conv: c };
    }
    case "MARKREAD": {
      const ts = /^timestamp=(.+)$/.exec(p[1] || "");
      if (!ts) return null;
      const c = conversation(state, p[0]);
      c.readAt = Math.max(c.readAt, Date.parse(ts[1]) || 0);
      return { conv: c };
    }
    case "PRIVMSG":
    case "NOTICE": {
      if (msg.tags["hearth.chat/request"]) return chatRequest(state, msg);
      const c = conversation(state, targetOf(state, msg));
      const m = textRecord(state, msg);
      if (me) {
        const pending = c.messages.find((x) => x.status === "pending" && x.text === m.text && x.type === m.type);
        if (pending) {
          Object.assign(pending, { id: m.id, time: m.time, status: "sent" });
          if (m.id) c.ids.add(m.id);
          c.messages.sort((a, b) => a.time - b.time);
          return { conv: c };
        }
      } else {
        seen(state, c.kind === "private" ? msg.nick : "");
        c.typing?.delete(fold(msg.nick));
      }
      return addMessage(c, m) ? { conv: c, message: m } : null;
    }
  }
  return null;
}

function chatRequest(state, msg) {
  const event = msg.tags["hearth.chat/request"];
  const peer = msg.tags["hearth.chat/peer"];
  const text = msg.params[1] || "";
  if (!peer) {
    const c = conversation(state, "*server");
    addMessage(c, record(msg, "notice", text));
    return { conv: c };
  }
  const c = conversation(state, peer, "private");
  const k = fold(peer);
  if (event === "received") state.requests.set(k, { peer, dir: "in" });
  else if (event === "sent" || event === "pending" || event === "held") state.requests.set(k, { peer, dir: "out" });
  else if (event === "accepted" || event === "declined" || event === "withdrawn") state.requests.delete(k);
  if (event === "refused" || event === "declined" || event === "withdrawn" || event === "accepted" || event === "offline") {
    addMessage(c, { ...record(msg, "event", text), id: "" });
  }
  return { conv: c, request: event };
}

/** Records of a CHATHISTORY batch for one conversation. */
export function applyHistory(state, target, lines) {
  let c = null;
  let added = 0;
  for (const msg of lines) {
    if (msg.tags["hearth.chat/request"]) continue;
    let m = null;
    if (msg.command === "PRIVMSG" || msg.command === "NOTICE") m = textRecord(state, msg);
    else if (msg.command === "JOIN") m = record(msg, "join", "joined");
    else if (msg.command === "PART") m = record(msg, "part", "left");
    else if (msg.command === "QUIT") m = record(msg, "part", "went offline");
    if (!m) continue;
    c = c || conversation(state, isChannel(target) ? target : targetOf(state, msg));
    if (addMessage(c, m)) added++;
  }
  if (!c && target) c = conversation(state, target);
  return { conv: c, added };
}

// The DOM holds at most MAX_WINDOW messages of a conversation: `window` messages ending
// `below` messages before the newest. Scrolling up slides the window to older ones
// (dropping the newest from the DOM), scrolling back down slides it to newer ones.
export const MAX_WINDOW = 600;
const STEP = 200;

/** The messages in the DOM, and whether the oldest loaded one is among them. */
export function visible(conv) {
  const end = conv.messages.length - conv.below;
  const start = Math.max(0, end - conv.window);
  return { msgs: conv.messages.slice(start, end), first: start === 0 };
}

/** Shows older loaded messages; false when none are left (ask the server). */
export function showOlder(conv) {
  const end = conv.messages.length - conv.below;
  if (conv.window >= end) return false;
  conv.window += STEP;
  clampWindow(conv);
  return true;
}

/** Keeps the window at most MAX_WINDOW long by dropping its newest messages. */
export function clampWindow(conv) {
  if (conv.window <= MAX_WINDOW) return;
  conv.below = Math.min(Math.max(0, conv.messages.length - 1), conv.below + conv.window - MAX_WINDOW);
  conv.window = MAX_WINDOW;
}

/** Shows newer messages after scrolling back down; false when the newest are shown. */
export function showNewer(conv) {
  if (conv.below <= 0) return false;
  conv.below = Math.max(0, conv.below - STEP);
  return true;
}

/** Who is typing in a conversation now (+typing, kept 6 s after the last "active"). */
export function typing(conv) {
  const now = Date.now();
  return conv.typing ? [...conv.typing.values()].filter((t) => t.until > now).map((t) => t.nick) : [];
}
