// The open conversation: its name and topic, and its messages with date separators.
// Runs of joins and parts collapse into one line. Only the last `conv.window` messages
// are in the DOM; scrolling to the top shows more, then asks the server for older ones.

import { h, linkify, clock, day } from "../lib/dom.js";
import { isMention, typing } from "../state.js";

export function mountConversation(root, app) {
  const title = root.querySelector("#conv-title");
  const topic = root.querySelector("#conv-topic");
  const log = root.querySelector("#messages");
  const typers = root.querySelector("#typing");
  let shown = null; // key of the conversation in the DOM
  let loading = false;

  log.addEventListener("scroll", async () => {
    if (log.scrollTop > 40 || loading) return;
    const conv = app.currentConv();
    if (!conv) return;
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
      isMention(app.state, m) ? "mention" : ""].filter(Boolean).join(" ");
    const time = h("time", { dateTime: new Date(m.time).toISOString(), title: new Date(m.time).toLocaleString() }, clock(m.time));
    const body = m.type === "action" ? [h("span", { class: "from" }, `* ${m.from} `), ...linkify(m.text)]
      : [h("span", { class: "from" }, m.from || "server"), " ", h("span", { class: "text" }, ...linkify(m.text))];
    const status = m.status === "pending" ? h("span", { class: "state" }, " sending…")
      : m.status === "failed" ? h("button", { class: "state retry", title: m.error || "", onclick: () => app.retry(conv, m) }, " not sent — retry") : null;
    const del = mine && m.id && m.status === "sent" && (m.type === "msg" || m.type === "action")
      ? h("button", { class: "delete", title: "Delete this message", "aria-label": "Delete this message", onclick: () => app.redact(conv, m) }, "×")
      : null;
    return h("div", { class: cls, dataset: { id: m.id } }, time, " ", h("span", { class: "body" }, ...body), status, del);
  }

  function events(run) {
    const text = run.map((m) => `${m.from} ${m.text}`).join(", ");
    return h("div", { class: "msg event" }, h("time", {}, clock(run[0].time)), " ", h("span", { class: "body" }, text));
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
    topic.textContent = conv.topic || (conv.kind === "private" ? "Private conversation" : "");
    const switched = shown !== conv.key;
    const fromBottom = log.scrollHeight - log.scrollTop - log.clientHeight;
    const keep = log.scrollHeight - log.scrollTop;
    const msgs = conv.messages.slice(-conv.window);
    const out = [];
    if (conv.complete && msgs.length === conv.messages.length) out.push(h("p", { class: "start" }, "This is the beginning of the conversation."));
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
    if (switched || fromBottom < 60) log.scrollTop = log.scrollHeight;
    else if (log.scrollTop < 60) log.scrollTop = log.scrollHeight - keep; // older ones were added above
    shown = conv.key;
    const who = typing(conv);
    typers.textContent = who.length ? `${who.join(", ")} ${who.length === 1 ? "is" : "are"} typing…` : "";
  };
}
