// The open conversation: its name and topic, and its messages with date separators.
// Runs of joins and parts collapse into one line. At most MAX_WINDOW messages are in the
// DOM (state.js visible()); scrolling to the top shows older ones, then asks the server
// for more; scrolling back down shows the newer ones again.

import { h, linkify, clock, day, full } from "../lib/dom.js";
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
  // Where the last render left the view. A scroll event at that position is the browser
  // reporting our own move (or its clamp when a conversation with fewer lines opens),
  // not the reader scrolling: it must not load older history. Scroll events are
  // dispatched before the next frame's render, so such an event can see new history in
  // the state while the DOM still shows the old lines.
  let settled = 0;

  log.addEventListener("scroll", async () => {
    const conv = app.currentConv();
    if (!conv || loading || log.scrollTop === settled) return;
    settled = log.scrollTop;
    if (conv.below > 0 && log.scrollHeight - log.scrollTop - log.clientHeight < 40) return app.showNewer(conv);
    if (log.scrollTop > 40) return;
    loading = true;
    try {
      await app.loadOlder(conv);
    } finally {
      loading = false;
    }
  });

  // Each message's element, kept while nothing it shows has changed, so a render only
  // builds the lines that are new.
  const built = new WeakMap(); // record -> { el, sig }

  function cachedLine(m, conv) {
    const parent = m.reply ? parentOf(conv, m) : null;
    const sig = `${m.status}\0${m.id}\0${m.text}\0${parent ? parent.text : ""}\0${app.state.me}`;
    const hit = built.get(m);
    if (hit && hit.sig === sig) return hit.el;
    const el = line(m, conv);
    built.set(m, { el, sig });
    return el;
  }

  function line(m, conv) {
    const mine = m.from && m.from.toLowerCase() === app.state.me.toLowerCase();
    const cls = ["msg", m.type, mine ? "mine" : "", m.status !== "sent" ? m.status : "",
      isMention(app.state, m) ? "mention" : "", m.reply ? "reply" : ""].filter(Boolean).join(" ");
    const time = h("time", { dateTime: new Date(m.time).toISOString(), title: full(m.time) }, clock(m.time));
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
    const sig = `${run.length}\0${run[run.length - 1].time}`;
    const hit = built.get(run[0]);
    if (hit && hit.sig === sig) return hit.el;
    const text = run.map((m) => `${m.from} ${m.text}`).join(", ");
    const el = h("div", { class: "msg event" }, h("time", {}, clock(run[0].time)), " ", h("span", { class: "body" }, text));
    el.ref = run[0];
    built.set(run[0], { el, sig });
    return el;
  }

  let days = new Map(); // day name -> its separator, for the conversation shown
  const start = h("p", { class: "start" }, "This is the beginning of the conversation.");

  /** Puts `out` in the log, moving only what changed at either end (a new line, a slide). */
  function patch(out) {
    const old = [...log.children];
    const k = old.indexOf(out[0]);
    if (k >= 0) {
      let j = 0;
      while (k + j < old.length && j < out.length && old[k + j] === out[j]) j++;
      if (k + j === old.length) { // the same lines, maybe fewer at the top, maybe more at the bottom
        for (let x = 0; x < k; x++) old[x].remove();
        log.append(...out.slice(j));
        return;
      }
    }
    const i = old.length ? out.indexOf(old[0]) : -1;
    if (i > 0) {
      let j = 0;
      while (j < old.length && i + j < out.length && old[j] === out[i + j]) j++;
      if (i + j === out.length) { // older lines above, maybe fewer at the bottom
        for (let x = j; x < old.length; x++) old[x].remove();
        log.prepend(...out.slice(0, i));
        return;
      }
    }
    log.replaceChildren(...out);
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
    if (switched) {
      conv.below = 0; // a conversation opens at its newest messages
      days = new Map();
    }
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
    if (conv.complete && first) out.push(start);
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
        if (!days.has(d)) days.set(d, h("div", { class: "day", role: "separator" }, h("span", {}, d)));
        out.push(days.get(d));
        lastDay = d;
      }
      if (m.type === "join" || m.type === "part") run.push(m);
      else {
        flush();
        out.push(cachedLine(m, conv));
      }
    }
    flush();
    patch(out);
    const back = anchor && out.find((el) => el.ref === anchor.ref);
    if (stick) log.scrollTop = log.scrollHeight;
    else if (back) log.scrollTop += back.getBoundingClientRect().top - top - anchor.dy;
    settled = log.scrollTop;
    shown = conv.key;
    const who = typing(conv);
    typers.textContent = who.length ? `${who.join(", ")} ${who.length === 1 ? "is" : "are"} typing…` : "";
  };
}
