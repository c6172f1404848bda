// The search box (soju.im/search) and its results; a result opens its conversation.

import { h, linkify, clock, day } from "../lib/dom.js";

export function mountSearch(form, panel, app) {
  const input = form.elements.q;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    if (!q) return close();
    panel.hidden = false;
    panel.replaceChildren(h("p", { class: "muted" }, "Searching…"));
    try {
      show(q, await app.search(q));
    } catch (e) {
      panel.replaceChildren(h("p", { class: "error" }, `Search failed: ${e.message}`));
    }
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") close();
  });

  function close() {
    panel.hidden = true;
    panel.replaceChildren();
  }

  function show(q, results) {
    const head = h("div", { class: "panel-head" }, h("h2", {}, `Results for “${q}”`),
      h("button", { class: "close", "aria-label": "Close the search results", onclick: close }, "×"));
    const list = results.length ? h("ol", { class: "results" }, ...results.map((r) =>
      h("li", {}, h("button", { onclick: () => { close(); app.open(app.query(r.target)); } },
        h("span", { class: "where" }, `${r.target} · ${day(r.time)} ${clock(r.time)}`),
        h("span", { class: "from" }, r.from), " ", h("span", {}, ...linkify(r.text))))))
      : h("p", { class: "muted" }, "Nothing found.");
    panel.replaceChildren(head, list);
  }
}
