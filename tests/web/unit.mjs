// Unit tests of the web client's pure modules (lib/irc.js, state.js) in plain Node.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse, format, fold } from "../../web/lib/irc.js";
import { createState, apply, applyHistory, unread, conversation, shouldNotify, parentOf, visible, showOlder, showNewer, clampWindow, MAX_WINDOW } from "../../web/state.js";
import { joinMultiline, multilineFits, Client } from "../../web/lib/client.js";

let n = 0;
const test = (name, fn) => {
  fn();
  n++;
};

test("parse: tags with escapes, prefix, trailing", () => {
  const m = parse("@time=2024-01-01T00:00:00.000Z;msgid=a\\sb;+typing :bob!~b@h PRIVMSG #x :hello there");
  assert.deepEqual(m.tags, { time: "2024-01-01T00:00:00.000Z", msgid: "a b", "+typing": "" });
  assert.equal(m.nick, "bob");
  assert.equal(m.command, "PRIVMSG");
  assert.deepEqual(m.params, ["#x", "hello there"]);
  assert.deepEqual(parse(":srv 001 me :Welcome").params, ["me", "Welcome"]);
  assert.deepEqual(parse("PING x").params, ["x"]);
});

test("format: trailing only when needed, tags escaped", () => {
  assert.equal(format("PRIVMSG", ["#x", "hi there"]), "PRIVMSG #x :hi there");
  assert.equal(format("JOIN", ["#x"]), "JOIN #x");
  assert.equal(format("PRIVMSG", ["#x", ":)"]), "PRIVMSG #x ::)");
  assert.equal(format("TAGMSG", ["#x"], { "+typing": "active", label: "a;b" }), "@+typing=active;label=a\\:b TAGMSG #x");
  assert.equal(fold("Bob[]"), "bob{}");
});

test("state: join, messages, echo confirms a pending message, unread after marker", () => {
  const s = createState();
  apply(s, parse(":srv 001 alice :hi"));
  apply(s, parse(":alice!a@h JOIN #x"));
  assert.equal(s.current, "#x");
  const c = conversation(s, "#x");
  c.messages.push({ id: "", time: Date.now(), from: "alice", type: "msg", text: "mine", status: "pending" });
  apply(s, parse("@msgid=1;time=2030-01-01T00:00:00.000Z :alice!a@h PRIVMSG #x :mine"));
  assert.equal(c.messages.length, 1);
  assert.equal(c.messages[0].status, "sent");
  apply(s, parse("@msgid=2;time=2030-01-01T00:00:01.000Z :bob!b@h PRIVMSG #x :hey alice"));
  assert.deepEqual(unread(s, c), { count: 1, mentions: 1 });
  apply(s, parse(":srv MARKREAD #x timestamp=2030-01-01T00:00:01.000Z"));
  assert.deepEqual(unread(s, c), { count: 0, mentions: 0 });
  apply(s, parse("@msgid=2;time=2030-01-01T00:00:01.000Z :bob!b@h PRIVMSG #x :hey alice"));
  assert.equal(c.messages.length, 2, "duplicates (same msgid) dropped");
});

test("state: operator from 381 and MODE ±o on oneself, reset at each login", () => {
  const st = createState();
  apply(st, parse(":srv 001 root :Welcome"));
  assert.equal(st.oper, false);
  apply(st, parse(":srv 381 root :You are now an IRC operator"));
  assert.equal(st.oper, true);
  apply(st, parse(":srv MODE amy -o"));
  assert.equal(st.oper, true, "someone else's mode");
  apply(st, parse(":root MODE root :-o"));
  assert.equal(st.oper, false);
  apply(st, parse(":srv MODE root +io"));
  assert.equal(st.oper, true);
  apply(st, parse(":srv 001 root :Welcome"));
  assert.equal(st.oper, false);
});

test("state: history in order, private messages by peer, chat requests", () => {
  const s = createState();
  apply(s, parse(":srv 001 alice :hi"));
  applyHistory(s, "bob", [
    parse("@msgid=b;time=2030-01-01T00:00:02.000Z :alice!a@h PRIVMSG bob :second"),
    parse("@msgid=a;time=2030-01-01T00:00:01.000Z :bob!b@h PRIVMSG alice :first"),
  ]);
  assert.deepEqual(conversation(s, "bob").messages.map((m) => m.text), ["first", "second"]);
  apply(s, parse("@hearth.chat/request=received;hearth.chat/peer=carol :srv NOTICE alice :carol wants to chat"));
  assert.deepEqual(s.requests.get("carol"), { peer: "carol", dir: "in" });
  apply(s, parse("@hearth.chat/request=accepted;hearth.chat/peer=carol :srv NOTICE alice :accepted"));
  assert.equal(s.requests.size, 0);
});

test("notifications: per-conversation level all / mentions / none", () => {
  const s = createState();
  apply(s, parse(":srv 001 alice :hi"));
  const room = conversation(s, "#x");
  const dm = conversation(s, "bob", "private");
  const plain = { from: "bob", type: "msg", text: "lunch?" };
  const mention = { from: "bob", type: "msg", text: "alice: lunch?" };
  const own = { from: "Alice", type: "msg", text: "alice here" };
  const event = { from: "bob", type: "join", text: "joined" };
  // defaults: a room notifies mentions, a private conversation everything
  assert.equal(shouldNotify(s, room, plain), false);
  assert.equal(shouldNotify(s, room, mention), true);
  assert.equal(shouldNotify(s, dm, plain), true);
  assert.equal(shouldNotify(s, room, plain, "all"), true);
  assert.equal(shouldNotify(s, room, mention, "mentions"), true);
  assert.equal(shouldNotify(s, room, mention, "none"), false);
  assert.equal(shouldNotify(s, dm, plain, "none"), false);
  assert.equal(shouldNotify(s, dm, plain, "mentions"), true, "a private message is addressed to me");
  assert.equal(shouldNotify(s, room, own, "all"), false, "never one's own");
  assert.equal(shouldNotify(s, room, event, "all"), false, "never joins and parts");
  assert.equal(shouldNotify(s, conversation(s, "*server"), plain, "all"), false);
  assert.equal(shouldNotify(s, room, { from: "bob", type: "msg", text: "malice" }, "mentions"), false, "a word containing the nick");
});

test("replies: +draft/reply kept on the record, parent found when loaded", () => {
  const s = createState();
  apply(s, parse(":srv 001 alice :hi"));
  apply(s, parse("@msgid=p1;time=2030-01-01T00:00:00.000Z :bob!b@h PRIVMSG #x :the question"));
  apply(s, parse("@msgid=c1;time=2030-01-01T00:00:01.000Z;+draft/reply=p1 :carol!c@h PRIVMSG #x :the answer"));
  apply(s, parse("@msgid=c2;time=2030-01-01T00:00:02.000Z;+draft/reply=gone :carol!c@h PRIVMSG #x :to something old"));
  const c = conversation(s, "#x");
  assert.equal(c.messages[1].reply, "p1");
  assert.equal(parentOf(c, c.messages[1]).text, "the question");
  assert.equal(parentOf(c, c.messages[2]), null);
  assert.equal(parentOf(c, c.messages[0]), null);
});

test("multiline: a batch becomes one message; limits decide batch or lines", () => {
  const open = parse("@msgid=m1;time=2030-01-01T00:00:00.000Z;+draft/reply=p1 :bob!b@h BATCH +ml1 draft/multiline #x");
  const one = joinMultiline(open, [
    parse("@batch=ml1 :bob!b@h PRIVMSG #x :one"),
    parse("@batch=ml1 :bob!b@h PRIVMSG #x :two"),
    parse("@batch=ml1;draft/multiline-concat :bob!b@h PRIVMSG #x : and a half"),
    parse("@batch=ml1 :bob!b@h PRIVMSG #x :three"),
  ]);
  assert.equal(one.command, "PRIVMSG");
  assert.deepEqual(one.params, ["#x", "one\ntwo and a half\nthree"]);
  assert.equal(one.tags.msgid, "m1");
  assert.equal(one.nick, "bob");
  const s = createState();
  apply(s, parse(":srv 001 alice :hi"));
  apply(s, one);
  assert.equal(conversation(s, "#x").messages[0].text, "one\ntwo and a half\nthree");
  assert.equal(conversation(s, "#x").messages[0].reply, "p1");
  const v = "max-bytes=20,max-lines=3";
  assert.equal(multilineFits(v, ["a", "b", "c"]), true);
  assert.equal(multilineFits(v, ["a", "b", "c", "d"]), false, "over max-lines");
  assert.equal(multilineFits(v, ["0123456789", "0123456789", "x"]), false, "over max-bytes");
  assert.equal(multilineFits(v, ["one line"]), false, "one line needs no batch");
  assert.equal(multilineFits(undefined, ["a", "b"]), false, "cap not offered");
  assert.equal(multilineFits("max-bytes=4096", ["a", "b"]), true, "max-lines optional");
});

test("client: live and replayed (nested in chathistory) multiline batches arrive as one message", () => {
  const c = new Client("ws://unused");
  const live = [];
  const history = [];
  c.addEventListener("message", (e) => live.push(e.detail));
  c.addEventListener("history", (e) => history.push(e.detail));
  for (const l of [
    "@msgid=m1;time=2030-01-01T00:00:00.000Z :bob!b@h BATCH +ml1 draft/multiline #x",
    "@batch=ml1 :bob!b@h PRIVMSG #x :one",
    "@batch=ml1 :bob!b@h PRIVMSG #x :two",
    ":bob!b@h BATCH -ml1",
    ":srv BATCH +h1 chathistory #x",
    "@batch=h1;msgid=m0;time=2029-01-01T00:00:00.000Z :carol!c@h PRIVMSG #x :before",
    "@batch=h1;msgid=m2;time=2029-01-01T00:00:01.000Z :bob!b@h BATCH +ml2 draft/multiline #x",
    "@batch=ml2 :bob!b@h PRIVMSG #x :old one",
    "@batch=ml2 :bob!b@h PRIVMSG #x :old two",
    ":bob!b@h BATCH -ml2",
    ":srv BATCH -h1",
  ]) c.receive(parse(l));
  assert.deepEqual(live.map((m) => [m.command, m.params[1], m.tags.msgid]), [["PRIVMSG", "one\ntwo", "m1"]]);
  assert.equal(history.length, 1);
  assert.deepEqual(history[0].messages.map((m) => m.params[1]), ["before", "old one\nold two"]);
  assert.equal(history[0].messages[1].tags.msgid, "m2");
});

test("DOM window: at most MAX_WINDOW messages, sliding up and back down", () => {
  const s = createState();
  const c = conversation(s, "#big");
  for (let i = 0; i < 10000; i++) c.messages.push({ id: `m${i}`, time: i, from: "bob", type: "msg", text: `line ${i}`, status: "sent" });
  let v = visible(c);
  assert.equal(v.msgs.length, 200);
  assert.equal(v.msgs[199].text, "line 9999");
  let steps = 0;
  while (showOlder(c)) {
    steps++;
    v = visible(c);
    assert.ok(v.msgs.length <= MAX_WINDOW, `window ${v.msgs.length}`);
  }
  assert.equal(v.first, true, "the oldest reached");
  assert.equal(v.msgs[0].text, "line 0");
  assert.equal(v.msgs.length, MAX_WINDOW);
  assert.ok(steps > 40);
  while (showNewer(c)) assert.ok(visible(c).msgs.length <= MAX_WINDOW);
  v = visible(c);
  assert.equal(v.msgs[v.msgs.length - 1].text, "line 9999", "back at the newest");
  c.window = 5000;
  clampWindow(c);
  assert.equal(visible(c).msgs.length, MAX_WINDOW);
});

// Issue 10, accessibility: "enough contrast in both the light and dark themes". WCAG 2
// contrast of every text colour on every background it is drawn on, read from
// style.css: at least 4.5:1 (AA for normal text) in both themes.
test("contrast: every text colour on its backgrounds is at least 4.5:1, light and dark", () => {
  const css = readFileSync(new URL("../../web/style.css", import.meta.url), "utf8");
  const themes = css.split("@media (prefers-color-scheme: dark)");
  const vars = (block) => Object.fromEntries([...block.matchAll(/--([a-z-]+):\s*(#[0-9a-fA-F]{3,6})/g)].map((m) => [m[1], m[2]]));
  const lum = (hex) => {
    let h = hex.slice(1);
    if (h.length === 3) h = [...h].map((c) => c + c).join("");
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const pairs = [["text", "bg"], ["text", "panel"], ["text", "side"], ["text", "hover"], ["text", "mention"], ["muted", "bg"], ["muted", "panel"], ["muted", "side"], ["accent-text", "accent"], ["mention-text", "mention"], ["error", "bg"], ["error", "panel"], ["accent", "bg"], ["accent", "side"]];
  for (const [name, block] of [["light", themes[0]], ["dark", themes[1]]]) {
    const v = vars(block);
    for (const [fg, bg] of pairs) {
      assert.ok(v[fg] && v[bg], `${name}: --${fg} / --${bg} defined`);
      const r = ratio(v[fg], v[bg]);
      assert.ok(r >= 4.5, `${name}: --${fg} on --${bg} is ${r.toFixed(2)}:1, below 4.5:1`);
    }
  }
});

console.log(`web-unit: ${n} passed`);
