// The sidebar: rooms, then private conversations, then people online. A drawer on
// narrow screens.

import { h } from "../lib/dom.js";
import { unread } from "../state.js";
import { fold } from "../lib/irc.js";

export function mountSidebar(root, app) {
  const rooms = root.querySelector("#rooms");
  const privates = root.querySelector("#privates");
  const people = root.querySelector("#people");
  const me = root.querySelector("#me");
  root.querySelector("#logout").addEventListener("click", () => app.logout());
  root.querySelector("#notify").addEventListener("click", () => app.enableNotifications());

  function item(conv) {
    const state = app.state;
    const { count, mentions } = unread(state, conv);
    const req = state.requests.get(conv.key);
    const current = state.current === conv.key;
    return h("li", {},
      h("button", {
        class: `conv${current ? " current" : ""}${count ? " unread" : ""}`,
        "aria-current": current ? "page" : false,
        dataset: { key: conv.key },
        onclick: () => app.open(conv.key),
      },
      h("span", { class: "name" }, conv.kind === "server" ? "Server notices" : conv.name),
      req ? h("span", { class: "badge request", title: req.dir === "in" ? "wants to chat" : "waiting" }, req.dir === "in" ? "new" : "…") : null,
      count ? h("span", { class: `badge${mentions ? " mention" : ""}`, "aria-label": `${count} unread` }, String(count)) : null));
  }

  return function render() {
    const state = app.state;
    const all = [...state.conversations.values()];
    const byName = (a, b) => a.name.localeCompare(b.name);
    rooms.replaceChildren(...all.filter((c) => c.kind === "room" && c.joined).sort(byName).map(item));
    const priv = all.filter((c) => c.kind === "private" || (c.kind === "server" && c.messages.length));
    priv.sort((a, b) => (b.messages.at(-1)?.time || 0) - (a.messages.at(-1)?.time || 0));
    privates.replaceChildren(...priv.map(item));
    const names = [...state.online.values()].filter((n) => fold(n) !== fold(state.me)).sort((a, b) => a.localeCompare(b));
    people.replaceChildren(...names.map((n) =>
      h("li", {}, h("button", { class: "person", title: `Write to ${n}`, onclick: () => app.open(app.query(n)) },
        h("span", { class: "dot", "aria-hidden": "true" }), n))));
    me.textContent = state.me;
  };
}
