// Chat requests in the open private conversation: Accept / Decline for one that came
// in, "waiting for bob to accept" for one that went out.

import { h } from "../lib/dom.js";

export function mountRequests(root, app) {
  return function render() {
    const conv = app.currentConv();
    const req = conv && app.state.requests.get(conv.key);
    if (!req) {
      root.replaceChildren();
      root.hidden = true;
      return;
    }
    root.hidden = false;
    if (req.dir === "in") {
      root.replaceChildren(h("div", { class: "request", role: "group", "aria-label": "Chat request" },
        h("p", {}, `${req.peer} wants to chat with you.`),
        h("button", { class: "accept", onclick: () => app.answer(req.peer, true) }, "Accept"),
        h("button", { class: "decline", onclick: () => app.answer(req.peer, false) }, "Decline")));
    } else {
      root.replaceChildren(h("div", { class: "request waiting" },
        h("p", {}, `Waiting for ${req.peer} to accept.`),
        h("button", { class: "decline", onclick: () => app.answer(req.peer, false) }, "Withdraw")));
    }
  };
}
