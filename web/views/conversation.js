// The open conversation: its name and topic, and its messages with date separators.
// Runs of joins and parts collapse into one line. At most MAX_WINDOW messages are in the
// DOM (state.js visible()); scrolling to the top shows older ones, then asks the server
// for more; scrolling back down shows the newer ones again.

import { h, linkify, clock, day } from "../lib/dom.js";
import { isMention, typing, parentOf, visible } from "../state.js";

export function mountConversation(root, app) {
  const title = root.querySelector("#conv-title");
  const topic = root.querySelector("#conv-topic");
  const log = root.querySelector("#messages");
  const typers = root.querySelector("#typing");
  const level = root.querySelector("#notify-level");
  level?.addEventListener("change", () => {
    const conv = app.currentConv();
    if (conv) app.setLevel(conv, level.value);
  });
  let shown = null; // key of the conversation in the DOM
  let loading = false;

  log.addEventListener("scroll", async () => {
    const conv = app.currentConv();
    if (!conv || loading) return;
    if (conv.below > 0 && log.scrollHeight - log.scrollTop - log.clientHeight < 40) return app.showNewer(conv);
    if (log.scrollTop > 40) return;
    loading = true;
    try {
      await app.loadOlder(conv);
    } finally {
      loading = false;
    }
  });

  function line(m, conv) {
    const mine = m.from && m.from.toLowerCase() === app.state.me.toLowerCase();
    const cls = ["msg", m.type, mine ? "mine" : "", m.status !== "sent" ? m.status : "",
      isMention(app.state, m) ? "mention" : "", m.reply ? "reply" : ""].filter(Boolean).join(" ");
    const time = h("time", { dateTime: new Date(m.time).toISOString(), title: new Date(m.time).toLocaleString() }, clock(m.time));
    const body = m.type === "action" ? [h("span", { class: "from" }, `* ${m.from} `), ...linkify(m.text)]
      : [h("span", { class: "from" }, m.from || "server"), " ", h("span", { class: "text" }, ...linkify(m.text))];
    const status = m.status === "pending" ? h("span", { class: "state" }, " sending…")
      : m.status === "failed" ? h("button", { class: "state retry", title: m.error || "", onclick: () => app.retry(conv, m) }, " not sent — retry") : null;
    const del = mine && m.id && m.status === "sent" && (m.type === "msg" || m.type === "action")
      ? h("button", { class: "delete", title: "Delete this message", "aria-label": "Delete this message", onclick: () => app.redact(conv, m) }, "×")
      : null;
    const canReply = m.id && m.status === "sent" && (m.type === "msg" || m.type === "action") && conv.kind !== "server";
    const re = canReply ? h("button", { class: "reply-to", title: "Reply", "aria-label": "Reply to this message", onclick: () => app.input.replyTo(conv, m) }) : null;
    const parent = m.reply ? parentOf(conv, m) : null;
    const quote = m.reply ? h("span", { class: "quote" }, parent ? `↪ ${parent.from}: ${parent.text.split("\n")[0]}` : "↪ a reply") : null;
    const el = h("div", { class: cls, dataset: { id: m.id } }, time, " ", h("span", { class: "body" }, quote, ...body), status, re, del);
    el.ref = m;
    return el;
  }

  function events(run) {
    const text = run.map((m) => `${m.from} ${m.text}`).join(", ");
    const el = h("div", { class: "msg event" }, h("time", {}, clock(run[0].time)), " ", h("span", { class: "body" }, text));
    el.ref = run[0];
    return el;
  }

  return function render() {
    const conv = app.currentConv();
    if (!conv) {
      title.textContent = "Hearth";
      topic.textContent = "";
      log.replaceChildren();
      typers.textContent = "";
      shown = null;
      return;
    }
    title.textContent = conv.kind === "server" ? "Server notices" : conv.name;
    if (level) {
      level.hidden = conv.kind === "server";
      level.value = app.level(conv);
    }
    topic.textContent = conv.topic || (conv.kind === "private" ? "Private conversation" : "");
    const switched = shown !== conv.key;
    if (switched) conv.below = 0; // a conversation opens at its newest messages
    const fromBottom = log.scrollHeight - log.scrollTop - log.clientHeight;
    // The first message line at least partly in view, to keep it in place.
    let anchor = null;
    const top = log.getBoundingClientRect().top;
    const stick = switched || (fromBottom < 60 && conv.below === 0);
    if (!stick) {
      for (const el of log.children) {
        const r = el.ref && el.getBoundingClientRect();
        if (r && r.bottom > top) {
          anchor = { ref: el.ref, dy: r.top - top };
          break;
        }
      }
    }
    const { msgs, first } = visible(conv);
    const out = [];
    if (conv.complete && first) out.push(h("p", { class: "start" }, "This is the beginning of the conversation."));
    let lastDay = "";
    let run = [];
    const flush = () => {
      if (run.length) out.push(events(run));
      run = [];
    };
    for (const m of msgs) {
      const d = day(m.time);
      if (d !== lastDay) {
        flush();
        out.push(h("div", { class: "day", role: "separator" }, h("span", {}, d)));
        lastDay = d;
      }
      if (m.type === "join" || m.type === "part") run.push(m);
      else {
        flush();
        out.push(line(m, conv));
      }
    }
    flush();
    log.replaceChildren(...out);
    const back = anchor && out.find((el) => el.ref === anchor.ref);
    if (stick) log.scrollTop = log.scrollHeight;
    else if (back) log.scrollTop += back.getBoundingClientRect().top - top - anchor.dy;
    shown = conv.key;
    const who = typing(conv);
    typers.textContent = who.length ? `${who.join(", ")} ${who.length === 1 ? "is" : "are"} typing…` : "";
  };
}
