// Unit tests of the web client's pure modules (lib/irc.js, state.js) in plain Node.

import assert from "node:assert/strict";
import { parse, format, fold } from "../../web/lib/irc.js";
import { createState, apply, applyHistory, unread, conversation } from "../../web/state.js";

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

console.log(`web-unit: ${n} passed`);
