// The member list of the open room: a toggle in the header and a panel; a name opens
// a private conversation with that person.

import { h } from "../lib/dom.js";

const RANK = "~&@%+";

export function mountMembers(toggle, panel, app) {
  toggle.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
    render();
  });

  function render() {
    const conv = app.currentConv();
    const room = conv && conv.kind === "room";
    toggle.hidden = !room;
    if (!room) {
      panel.hidden = true;
      return;
    }
    const members = [...conv.members.values()];
    toggle.textContent = `${members.length} ${members.length === 1 ? "member" : "members"}`;
    if (panel.hidden) return;
    const rank = (m) => (m.prefix ? RANK.indexOf(m.prefix[0]) : RANK.length);
    members.sort((a, b) => rank(a) - rank(b) || a.nick.localeCompare(b.nick));
    panel.replaceChildren(h("h2", {}, `In ${conv.name}`), h("ul", {}, ...members.map((m) =>
      h("li", {}, h("button", { class: "person", onclick: () => app.open(app.query(m.nick)) },
        h("span", { class: "prefix", "aria-label": m.prefix ? "operator" : "" }, m.prefix.slice(0, 1)), m.nick)))));
  }
  return render;
}
