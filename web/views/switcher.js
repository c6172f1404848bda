// Ctrl+K: a small dialog to switch conversation by typing part of its name.

import { h } from "../lib/dom.js";
import { unread } from "../state.js";

export function mountSwitcher(dialog, app) {
  const input = dialog.querySelector("input");
  const list = dialog.querySelector("ul");
  let matches = [];

  document.addEventListener("keydown", (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "k" && !document.querySelector("#app").hidden) {
      ev.preventDefault();
      input.value = "";
      update();
      dialog.showModal();
      input.focus();
    }
  });
  input.addEventListener("input", update);
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && matches[0]) {
      ev.preventDefault();
      choose(matches[0].key);
    }
  });

  function choose(key) {
    dialog.close();
    app.open(key);
  }

  function update() {
    const q = input.value.trim().toLowerCase();
    matches = [...app.state.conversations.values()]
      .filter((c) => (c.kind !== "room" || c.joined) && c.kind !== "server" && c.name.toLowerCase().includes(q))
      .sort((a, b) => unread(app.state, b).count - unread(app.state, a).count || a.name.localeCompare(b.name))
      .slice(0, 8);
    list.replaceChildren(...matches.map((c) => h("li", {}, h("button", { type: "button", onclick: () => choose(c.key) }, c.name))));
  }
}
