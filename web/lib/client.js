// The connection: IRC over WebSocket (text.ircv3.net), capability negotiation, SASL
// PLAIN, batches, labeled requests, keepalive and reconnect with backoff. It knows
// nothing about the page; the app listens to its events:
//   "message" (detail: a parsed line), "history" (detail: {target, messages}),
//   "status" (detail: {state, error}), "registered" (detail: {reconnect}).

import { parse, format, base64 } from "./irc.js";

const WANTED = [
  "sasl", "server-time", "message-tags", "echo-message", "labeled-response", "batch",
  "draft/chathistory", "draft/read-marker", "draft/event-playback", "soju.im/search",
  "multi-prefix", "away-notify", "account-tag", "standard-replies", "draft/message-redaction",
  "draft/account-registration", "draft/multiline",
];
const HISTORY_BATCHES = new Set(["chathistory", "draft/chathistory-targets", "soju.im/search"]);
const REQUEST_TIMEOUT = 15000;

/**
 * One message from a draft/multiline batch: the opening BATCH's source and tags (msgid,
 * time, client tags such as +draft/reply), the lines joined by "\n" (or run together
 * where a line has draft/multiline-concat).
 */
export function joinMultiline(open, lines) {
  let text = "";
  lines.forEach((l, i) => {
    if (i > 0 && !("draft/multiline-concat" in l.tags)) text += "\n";
    text += l.params[1] || "";
  });
  return { tags: { ...open.tags }, prefix: open.prefix, nick: open.nick, command: lines[0]?.command || "PRIVMSG",
    params: [open.params[2] || "", text], multiline: lines.length };
}

/** Whether `lines` fit the server's draft/multiline limits ("max-bytes=4096,max-lines=32"). */
export function multilineFits(value, lines) {
  if (value === undefined || lines.length < 2) return false;
  const lim = Object.fromEntries(value.split(",").map((kv) => kv.split("=")));
  const bytes = new TextEncoder().encode(lines.join("")).length;
  return bytes <= Number(lim["max-bytes"] || 0) && (!lim["max-lines"] || lines.length <= Number(lim["max-lines"]));
}

export class LoginError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind; // "auth" | "login-required" | "unreachable" | "closed"
  }
}

export class Client extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.nick = "";
    this.caps = new Set();
    this.capValues = {}; // cap -> its CAP LS value ("max-bytes=4096,max-lines=32")
    this.isupport = {};
    this.registered = false;
    this.everRegistered = false;
    this.stopped = false;
    this.attempt = 0;
    this.batches = new Map();
    this.pending = new Map(); // label -> {resolve, reject, timer}
    this.nextLabel = 1;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Logs in; resolves once the server welcomed us, rejects with a LoginError. */
  login(account, password, register = false) {
    this.account = account;
    this.password = password;
    this.register = register; // create the account (draft/account-registration) first
    this.stopped = false;
    return this.open();
  }

  open() {
    return new Promise((resolve, reject) => {
      let opened = false;
      let settled = false;
      const done = (err) => {
        if (settled) return;
        settled = true;
        err ? reject(err) : resolve();
      };
      this.registered = false;
      this.caps = new Set();
      this.batches.clear();
      this.emit("status", { state: "connecting" });
      let ws;
      try {
        ws = new WebSocket(this.url, ["text.ircv3.net"]);
      } catch {
        done(new LoginError("unreachable", "The server is unreachable."));
        return;
      }
      this.ws = ws;
      this.welcome = done;
      ws.onopen = () => {
        opened = true;
        this.raw("CAP LS 302");
        this.send("NICK", [this.account]);
        this.send("USER", [this.account, "0", "*", this.account]);
      };
      ws.onmessage = (ev) => {
        this.lastSeen = Date.now();
        for (const line of String(ev.data).split(/\r?\n/)) if (line) this.receive(parse(line));
      };
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.ws = null;
        this.stopKeepalive();
        for (const [, p] of this.pending) p.reject(new Error("disconnected"));
        this.pending.clear();
        const wasRegistered = this.registered;
        this.registered = false;
        if (!settled) {
          done(this.loginError || new LoginError(opened ? "closed" : "unreachable",
            opened ? "The server closed the connection." : "The server is unreachable."));
        }
        if (this.stopped || this.loginError) {
          this.emit("status", { state: "closed", error: this.loginError?.message });
        } else if (this.everRegistered) {
          this.scheduleReconnect(wasRegistered);
        }
      };
    });
  }

  scheduleReconnect(reset) {
    if (reset) this.attempt = 0;
    const delay = Math.min(30000, 1000 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt++;
    this.emit("status", { state: "reconnecting", delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.reconnectNow(), delay);
  }

  /** Tries again at once (the browser came back online, or the person asked). */
  reconnectNow() {
    clearTimeout(this.retryTimer);
    if (this.stopped || this.ws) return;
    this.open().catch(() => {});
  }

  logout() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws) {
      this.send("QUIT", ["Signed out"]);
      this.ws.close();
    }
  }

  raw(line) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(line);
  }

  send(command, params = [], tags = {}) {
    this.raw(format(command, params, tags));
  }

  /**
   * Sends a command with a label and resolves with every line of its response (a
   * labeled-response batch flattened, or the one labeled line).
   */
  request(command, params = [], tags = {}) {
    if (!this.caps.has("labeled-response")) {
      this.send(command, params, tags);
      return Promise.resolve([]);
    }
    const label = `L${this.nextLabel++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(label);
        reject(new Error("no answer from the server"));
      }, REQUEST_TIMEOUT);
      this.pending.set(label, { resolve, reject, timer });
      this.send(command, params, { ...tags, label });
    });
  }

  settle(label, lines) {
    const p = this.pending.get(label);
    if (!p) return;
    this.pending.delete(label);
    clearTimeout(p.timer);
    p.resolve(lines);
  }

  receive(msg) {
    const batchId = msg.tags.batch;
    const parent = batchId ? this.batches.get(batchId) : null;
    if (msg.command === "BATCH") return this.batch(msg, parent);
    if (parent) parent.lines.push(msg);
    if (parent && parent.type === "draft/multiline") return; // one message at BATCH -
    const inHistory = parent && parent.history;
    if (!inHistory) {
      this.handle(msg);
      this.emit("message", msg);
    }
    if (msg.tags.label && !batchId) this.settle(msg.tags.label, [msg]);
  }

  batch(msg, parent) {
    const ref = msg.params[0] || "";
    if (ref[0] === "+") {
      const type = msg.params[1] || "";
      const b = { id: ref.slice(1), type, params: msg.params.slice(2), lines: [], label: msg.tags.label, parent, open: msg };
      b.history = HISTORY_BATCHES.has(type) || Boolean(parent && parent.history);
      this.batches.set(b.id, b);
      return;
    }
    const b = this.batches.get(ref.slice(1));
    if (!b) return;
    this.batches.delete(b.id);
    if (b.type === "draft/multiline") {
      const one = joinMultiline(b.open, b.lines);
      if (b.parent) b.parent.lines.push(one);
      if (!b.history) {
        this.handle(one);
        this.emit("message", one);
      }
      if (b.label && !b.parent) this.settle(b.label, [one]);
      return;
    }
    if (b.type === "chathistory") this.emit("history", { target: b.params[0], messages: b.lines });
    if (b.parent) b.parent.lines.push(...b.lines);
    else if (b.label) this.settle(b.label, b.lines);
  }

  /** What the connection itself must answer: PING, CAP, SASL, welcome, errors. */
  handle(msg) {
    const p = msg.params;
    switch (msg.command) {
      case "PING":
        this.send("PONG", p);
        break;
      case "CAP":
        this.cap(p[1], p.slice(2));
        break;
      case "AUTHENTICATE":
        if (p[0] === "+") this.send("AUTHENTICATE", [base64(`${this.account}\0${this.account}\0${this.password}`)]);
        break;
      case "903":
        this.raw("CAP END");
        break;
      case "902":
      case "904":
      case "905":
      case "906": {
        const text = p[p.length - 1] || "";
        const busy = /try again|wait/i.test(text);
        this.loginError = new LoginError("auth", busy ? text : "Wrong account or password.");
        this.welcome?.(this.loginError);
        this.raw("QUIT");
        this.ws?.close();
        break;
      }
      case "REGISTER":
        if (p[0] === "SUCCESS") {
          this.register = false; // from now on, log in with SASL
          this.raw("CAP END");
        }
        break;
      case "FAIL":
        if (p[1] === "ACCOUNT_REQUIRED" && !this.registered) this.requireLogin();
        if (p[0] === "REGISTER" && !this.registered) {
          this.loginError = new LoginError("auth", p[p.length - 1] || "Could not create the account.");
          this.welcome?.(this.loginError);
          this.raw("QUIT");
          this.ws?.close();
        }
        break;
      case "ERROR":
        if (!this.registered && /login required|needs an account/i.test(p[0] || "")) this.requireLogin();
        break;
      case "001": {
        this.nick = p[0];
        this.registered = true;
        this.loginError = null;
        const reconnect = this.everRegistered;
        this.everRegistered = true;
        this.attempt = 0;
        this.startKeepalive();
        this.welcome?.();
        this.welcome = null;
        this.emit("status", { state: "online" });
        this.emit("registered", { reconnect });
        break;
      }
      case "005":
        for (const tok of p.slice(1, -1)) {
          const [k, v = ""] = tok.split("=");
          this.isupport[k] = v;
        }
        break;
      case "NICK":
        if (msg.nick === this.nick) this.nick = p[0];
        break;
    }
  }

  requireLogin() {
    this.loginError = new LoginError("login-required", "This server needs an account: log in with your account and password.");
    this.welcome?.(this.loginError);
  }

  cap(sub, args) {
    if (sub === "LS") {
      const more = args[0] === "*";
      const list = more ? args[1] : args[0];
      const items = (list || "").split(" ").filter(Boolean);
      for (const c of items) this.capValues[c.split("=")[0]] = c.slice(c.indexOf("=") + 1 || c.length);
      this.offered = (this.offered || []).concat(items.map((c) => c.split("=")[0]));
      if (more) return;
      const want = WANTED.filter((c) => this.offered.includes(c));
      this.offered = [];
      if (this.register && !want.includes("draft/account-registration")) {
        this.loginError = new LoginError("auth", "This server does not allow signing up: ask its administrator for an account.");
        this.welcome?.(this.loginError);
        this.ws?.close();
        return;
      }
      if (!want.includes("sasl")) {
        this.loginError = new LoginError("auth", "This server does not offer password login (SASL).");
        this.welcome?.(this.loginError);
        this.ws?.close();
        return;
      }
      this.send("CAP", ["REQ", want.join(" ")]);
    } else if (sub === "ACK") {
      for (const c of (args[args.length - 1] || "").split(" ")) if (c) this.caps.add(c.replace(/^-/, ""));
      if (this.registered) return;
      if (this.register) this.send("REGISTER", ["*", "*", this.password]);
      else if (this.caps.has("sasl")) this.send("AUTHENTICATE", ["PLAIN"]);
    } else if (sub === "NAK") {
      this.raw("CAP END");
    }
  }

  startKeepalive() {
    this.stopKeepalive();
    this.lastSeen = Date.now();
    this.keepalive = setInterval(() => {
      const idle = Date.now() - this.lastSeen;
      if (idle > 75000) this.ws?.close();
      else if (idle > 30000) this.send("PING", ["hearth"]);
    }, 15000);
  }

  stopKeepalive() {
    clearInterval(this.keepalive);
  }
}
