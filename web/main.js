// The app: wires the connection (lib/client.js) to the state (state.js) and the views.

import { Client, multilineFits } from "./lib/client.js";
import { fold, isChannel, stamp } from "./lib/irc.js";
import { createState, conversation, apply, showOlder, showNewer, clampWindow, applyHistory, addMessage, unread, lastTime, shouldNotify, defaultLevel } from "./state.js";
import { mountLogin } from "./views/login.js";
import { mountSidebar } from "./views/sidebar.js";
import { mountConversation } from "./views/conversation.js";
import { mountInput } from "./views/input.js";
import { mountRequests } from "./views/requests.js";
import { mountSearch } from "./views/search.js";
import { mountMembers } from "./views/members.js";
import { mountSwitcher } from "./views/switcher.js";
import { mountAdmin } from "./views/admin.js";

const PAGE = 100;
const $ = (sel) => document.querySelector(sel);
/** localStorage key of the login token ("Stay signed in"): { account, token, id }. */
const TOKEN_KEY = "hearth.token";
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/irc`;

const app = {
  state: createState(),
  client: new Client(wsUrl),

  currentConv() {
    return app.state.conversations.get(app.state.current) || null;
  },

  /** Redraws on the next frame, once, however many changes came in. */
  render() {
    if (app.frame) return;
    app.frame = requestAnimationFrame(() => {
      app.frame = 0;
      for (const v of app.views) v();
      let total = 0;
      for (const c of app.state.conversations.values()) total += unread(app.state, c).count;
      document.title = total ? `(${total}) Hearth` : "Hearth";
    });
  },

  open(key) {
    const conv = app.state.conversations.get(key);
    if (!conv) return;
    app.state.current = key;
    $("#app").classList.remove("drawer-open");
    if (!conv.loaded && conv.kind !== "server") app.sync(conv);
    app.markRead(conv);
    app.render();
    app.input.focus();
  },

  /** The key of the private conversation with `nick`, made if needed. */
  query(nick) {
    return conversation(app.state, nick, isChannel(nick) ? "room" : "private").key;
  },

  /** This device's notification level for a conversation: "all" | "mentions" | "none". */
  level(conv) {
    let v = null;
    try {
      v = localStorage.getItem(`hearth.notify:${conv.key}`);
    } catch {}
    return v === "all" || v === "mentions" || v === "none" ? v : defaultLevel(conv);
  },

  setLevel(conv, level) {
    try {
      localStorage.setItem(`hearth.notify:${conv.key}`, level);
    } catch {}
  },

  /**
   * Sends a message: `lines` of a paste go as one draft/multiline batch when the server
   * offers it and they fit its limits, else one PRIVMSG a line. `reply` is the msgid
   * answered (+draft/reply).
   */
  send(conv, lines, reply = "") {
    lines = lines.filter((l, i) => l.trim() || (i > 0 && i < lines.length - 1));
    while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
    if (!lines.length) return;
    if (lines.length > 1 && app.client.caps.has("draft/multiline") && app.client.caps.has("batch")
      && multilineFits(app.client.capValues["draft/multiline"], lines)) {
      return app.say(conv, lines.join("\n"), false, reply);
    }
    for (const line of lines) if (line.trim()) app.say(conv, line, false, reply);
  },

  say(conv, text, isAction = false, reply = "") {
    const body = isAction ? `\x01ACTION ${text}\x01` : text;
    const m = { id: "", time: Date.now(), from: app.state.me, type: isAction ? "action" : "msg", text, status: "pending" };
    if (reply) m.reply = reply;
    addMessage(conv, m);
    app.render();
    const tags = reply ? { "+draft/reply": reply } : {};
    let sent;
    if (text.includes("\n")) {
      const ref = `ml${app.batchRef = (app.batchRef || 0) + 1}`;
      sent = app.client.request("BATCH", [`+${ref}`, "draft/multiline", conv.name], tags);
      for (const line of text.split("\n")) app.client.send("PRIVMSG", [conv.name, line], { batch: ref });
      app.client.send("BATCH", [`-${ref}`]);
    } else {
      sent = app.client.request("PRIVMSG", [conv.name, body], tags);
    }
    sent.then((lines) => {
      if (m.status !== "pending") return;
      const echo = lines.find((l) => l.command === "PRIVMSG" && fold(l.nick) === fold(app.state.me));
      if (echo || !app.client.caps.has("labeled-response")) return;
      const err = lines.find((l) => /^[45]\d\d$/.test(l.command) || l.command === "FAIL" || l.command === "NOTICE");
      fail(m, err ? err.params[err.params.length - 1] : "The server did not confirm it.");
    }, (e) => fail(m, e.message));
  },

  /** Deletes one's own message (draft/message-redaction). */
  redact(conv, m) {
    if (m.id) app.client.send("REDACT", [conv.name, m.id]);
  },

  retry(conv, m) {
    conv.messages.splice(conv.messages.indexOf(m), 1);
    if (m.type === "action") app.say(conv, m.text, true);
    else app.send(conv, m.text.split("\n"), m.reply);
  },

  join(name) {
    if (!name) return app.notice("Usage: /join #room");
    const room = isChannel(name) ? name : `#${name}`;
    app.pendingOpen = fold(room);
    app.client.send("JOIN", [room]);
  },

  part(name) {
    if (name && isChannel(name)) app.client.send("PART", [name]);
  },

  /** LATEST for a conversation never loaded, AFTER the last message to fill a gap. */
  async sync(conv) {
    conv.loaded = true;
    const last = lastTime(conv);
    const args = last ? ["AFTER", conv.name, `timestamp=${stamp(last)}`, 500] : ["LATEST", conv.name, "*", PAGE];
    try {
      const lines = await app.client.request("CHATHISTORY", args);
      if (!last && countMessages(lines) < PAGE) conv.complete = true;
    } catch {
      conv.loaded = false;
    }
    app.render();
  },

  async loadOlder(conv) {
    if (showOlder(conv)) {
      app.render();
      return;
    }
    if (conv.complete || !conv.loaded) return;
    const first = conv.messages.find((m) => m.status === "sent");
    const ref = first ? `timestamp=${stamp(first.time)}` : "*";
    const lines = await app.client.request("CHATHISTORY", first ? ["BEFORE", conv.name, ref, PAGE] : ["LATEST", conv.name, "*", PAGE]);
    const n = countMessages(lines);
    if (n < PAGE) conv.complete = true;
    conv.window += n;
    clampWindow(conv);
    app.render();
  },

  showNewer(conv) {
    if (showNewer(conv)) app.render();
  },

  markRead(conv, force = false) {
    if (!force && (document.hidden || !document.hasFocus())) return;
    const last = lastTime(conv);
    if (last <= conv.readAt) return;
    conv.readAt = last;
    if (conv.kind !== "server") app.client.send("MARKREAD", [conv.name, `timestamp=${stamp(last)}`]);
    app.render();
  },

  answer(peer, yes) {
    app.client.send("ACCEPT", [yes ? peer : `-${peer}`]);
  },

  async search(text) {
    const esc = text.replace(/[\\; ]/g, (c) => ({ "\\": "\\\\", ";": "\\:", " ": "\\s" })[c]);
    const lines = await app.client.request("SEARCH", [`text=${esc};limit=50`]);
    const fail = lines.find((l) => l.command === "FAIL");
    if (fail) throw new Error(fail.params[fail.params.length - 1]);
    return lines.filter((l) => l.command === "PRIVMSG" || l.command === "NOTICE").map((l) => ({
      target: isChannel(l.params[0]) ? l.params[0] : fold(l.nick) === fold(app.state.me) ? l.params[0] : l.nick,
      from: l.nick, text: l.params[1] || "", time: l.tags.time ? Date.parse(l.tags.time) : Date.now(),
    })).reverse();
  },

  /**
   * An operator's `HEARTH <sub> …` (docs/protocol.md): { ok, text, lines }, where text
   * is the FAIL's description or the answer NOTICEs' text.
   */
  async admin(sub, ...args) {
    if (!app.client.caps.has("labeled-response")) return { ok: false, text: "This server cannot answer the Admin page.", lines: [] };
    let lines;
    try {
      lines = await app.client.request("HEARTH", [sub, ...args]);
    } catch (e) {
      return { ok: false, text: e.message, lines: [] };
    }
    const err = lines.find((l) => l.command === "FAIL" || /^[45]\d\d$/.test(l.command));
    if (err) return { ok: false, text: err.params[err.params.length - 1], lines };
    const notices = lines.filter((l) => l.command === "NOTICE");
    return { ok: true, text: notices.map((l) => l.params[1] || "").join("\n"), lines };
  },

  notice(text) {
    const conv = app.currentConv() || conversation(app.state, "*server");
    addMessage(conv, { id: "", time: Date.now(), from: "", type: "event", text, status: "sent" });
    app.render();
  },

  /** Signs out; a device that stayed signed in revokes its login token first. */
  async logout() {
    const saved = savedToken();
    localStorage.removeItem(TOKEN_KEY);
    if (saved && app.client.registered) {
      await Promise.race([app.admin("TOKEN", "REVOKE", saved.id), new Promise((r) => setTimeout(r, 3000))]);
    }
    app.client.logout();
    location.reload();
  },

  /** Asks for a login token and keeps it (never the password) for the next visits. */
  async rememberDevice(account) {
    const r = await app.admin("TOKEN", "NEW", deviceName());
    const line = r.lines.find((l) => l.tags["hearth.chat/token"]);
    if (!r.ok || !line) return app.notice(`Could not stay signed in on this device: ${r.text || "no token"}`);
    localStorage.setItem(TOKEN_KEY, JSON.stringify({ account, token: line.tags["hearth.chat/token"], id: line.tags["hearth.chat/token-id"] }));
  },

  enableNotifications() {
    if (!("Notification" in window)) return app.notice("This browser has no notifications.");
    Notification.requestPermission().then((p) => app.notice(p === "granted" ? "Notifications are on while this tab is hidden." : "Notifications are off."));
  },
};

/** The stored login token, if this device stays signed in. */
function savedToken() {
  try {
    const t = JSON.parse(localStorage.getItem(TOKEN_KEY) || "null");
    return t && t.account && t.token && t.id ? t : null;
  } catch {
    return null;
  }
}

/** A label for the login token: "Firefox on Linux". */
function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrom(e|ium)\//.test(ua) ? "Chrome"
    : /Safari\//.test(ua) ? "Safari" : "Browser";
  const os = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows"
    : /Mac OS/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
  return os ? `${browser} on ${os}` : browser;
}

/** Items of a CHATHISTORY page (messages and, with event-playback, joins and parts). */
function countMessages(lines) {
  return lines.filter((l) => l.command !== "BATCH" && !/^\d{3}$|^FAIL$/.test(l.command)).length;
}

function fail(m, why) {
  m.status = "failed";
  m.error = why;
  app.render();
}

/** Screen readers hear the new line only (#announce is polite; the log is aria-live=off). */
function announce(m) {
  const text = m.type === "action" ? `${m.from} ${m.text}` : `${m.from}: ${m.text}`;
  $("#announce").textContent = text;
}

function notify(conv, title, body) {
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  const n = new Notification(title, { body, tag: conv.key, icon: "icon.svg" });
  n.onclick = () => {
    window.focus();
    app.open(conv.key);
  };
}

// ---- events from the connection

app.client.addEventListener("message", ({ detail: msg }) => {
  // Answers to the Admin page are shown there, not among the server notices.
  if (msg.tags["hearth.chat/admin"] || (msg.command === "FAIL" && msg.params[0] === "HEARTH")) return;
  const r = apply(app.state, msg);
  if (/^[45]\d\d$/.test(msg.command) && !["432", "433"].includes(msg.command) && app.client.registered) {
    app.notice(msg.params.slice(1).join(" "));
  }
  if (!r) return;
  const conv = r.conv;
  if (r.joined) {
    app.sync(conv);
    if (app.pendingOpen === conv.key) {
      app.pendingOpen = null;
      app.open(conv.key);
    }
  }
  if (r.left && app.state.current === conv.key) {
    app.state.current = [...app.state.conversations.values()].find((c) => c.joined)?.key || null;
  }
  if (r.typing) setTimeout(() => app.render(), 6100); // the indicator expires
  if (r.request === "received") notify(conv, "Chat request", `${conv.name} wants to chat with you.`);
  if (r.request === "accepted") app.sync(conv);
  if (r.message && conv) {
    if (app.state.current === conv.key) app.markRead(conv);
    else if (!app.state.current && conv.kind !== "server") app.state.current = conv.key;
    if (shouldNotify(app.state, conv, r.message, app.level(conv))) notify(conv, r.message.from, r.message.text);
    if (app.state.current === conv.key) announce(r.message);
  }
  app.render();
});

app.client.addEventListener("history", ({ detail }) => {
  applyHistory(app.state, detail.target, detail.messages);
  app.render();
});

app.client.addEventListener("registered", async ({ detail }) => {
  if (detail.reconnect) {
    const rooms = [...app.state.conversations.values()].filter((c) => c.kind === "room" && c.joined);
    if (rooms.length) app.client.send("JOIN", [rooms.map((c) => c.name).join(",")]);
    for (const c of app.state.conversations.values()) if (c.kind === "private" && c.loaded) app.sync(c);
    return;
  }
  // Private conversations that have history, most recent first.
  try {
    const lines = await app.client.request("CHATHISTORY",
      ["TARGETS", `timestamp=${stamp(Date.now() + 86400000)}`, "timestamp=1970-01-01T00:00:00.000Z", 50]);
    for (const l of lines) {
      if (l.command !== "CHATHISTORY" || isChannel(l.params[1] || "")) continue;
      app.sync(conversation(app.state, l.params[1], "private"));
    }
  } catch {
    // an older server without TARGETS: conversations appear as messages come
  }
  app.render();
});

app.client.addEventListener("status", ({ detail }) => {
  app.state.connection = detail.state;
  const bar = $("#status");
  if (detail.state === "reconnecting") {
    bar.hidden = false;
    $("#status-text").textContent = `Connection lost. Reconnecting in ${Math.round(detail.delay / 1000)} s…`;
  } else if (detail.state === "connecting" && app.client.everRegistered) {
    $("#status-text").textContent = "Reconnecting…";
  } else if (detail.state === "closed" && app.client.everRegistered) {
    bar.hidden = false;
    $("#status-text").textContent = detail.error || "Disconnected.";
  } else {
    bar.hidden = true;
  }
  document.body.dataset.connection = detail.state;
});

// ---- the page

window.addEventListener("online", () => app.client.reconnectNow());
document.addEventListener("visibilitychange", () => {
  const conv = app.currentConv();
  if (!document.hidden && conv) app.markRead(conv);
});
window.addEventListener("focus", () => {
  const conv = app.currentConv();
  if (conv) app.markRead(conv);
});
document.addEventListener("keydown", (ev) => {
  if (!ev.altKey || (ev.key !== "ArrowUp" && ev.key !== "ArrowDown")) return;
  const keys = [...document.querySelectorAll("#sidebar button.conv")].map((b) => b.dataset.key);
  const i = keys.indexOf(app.state.current);
  const next = keys[(i + (ev.key === "ArrowUp" ? -1 : 1) + keys.length) % keys.length];
  if (next) {
    ev.preventDefault();
    app.open(next);
  }
});
$("#menu").addEventListener("click", () => $("#app").classList.toggle("drawer-open"));
$("#scrim").addEventListener("click", () => $("#app").classList.remove("drawer-open"));
$("#retry").addEventListener("click", () => app.client.reconnectNow());

app.views = [
  mountSidebar($("#sidebar"), app),
  mountConversation($("#main"), app),
  mountRequests($("#request"), app),
  mountMembers($("#members-toggle"), $("#members"), app),
  mountAdmin($("#admin-open"), $("#admin"), app),
];
app.input = mountInput($("#composer"), app);
mountSearch($("#search"), $("#search-results"), app);
mountSwitcher($("#switcher"), app);

function enter() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  app.render();
  app.input.focus();
}

mountLogin($("#login"), async (account, password, register, remember) => {
  app.state.account = account;
  await app.client.login(account, password, register);
  enter();
  if (remember) await app.rememberDevice(account);
});

// Stayed signed in: log in with the token; a refused one is dropped (revoked, or the
// password changed) and the form stays.
const saved = savedToken();
if (saved) {
  document.body.dataset.auto = "pending";
  app.state.account = saved.account;
  try {
    await app.client.login(saved.account, `token:${saved.token}`);
    enter();
    document.body.dataset.auto = "ok";
  } catch (e) {
    if (e.kind === "auth") localStorage.removeItem(TOKEN_KEY);
    $("#login-error").textContent = e.kind === "auth" ? "Please sign in again." : e.message;
    document.body.dataset.auto = "failed";
  }
}
document.body.dataset.ready = "true";
