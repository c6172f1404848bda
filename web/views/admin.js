// The Admin page, for operators (admin accounts) only: people online with Kick, create
// an account, reset a password, purge a room. It speaks the server's `HEARTH` command
// family (docs/protocol.md) and reads the answers' `hearth.chat/admin` tags.

import { h } from "../lib/dom.js";

export function mountAdmin(entry, panel, app) {
  let open = false;
  let people = [];
  let peopleNote = null;
  let kicking = null; // nick whose Kick form is open

  const $ = (sel) => document.querySelector(sel);
  entry.addEventListener("click", () => (open ? close() : show()));

  function show() {
    open = true;
    entry.setAttribute("aria-expanded", "true");
    panel.hidden = false;
    $("#app").classList.remove("drawer-open");
    build();
    refresh();
  }

  function close() {
    open = false;
    entry.setAttribute("aria-expanded", "false");
    panel.hidden = true;
    panel.replaceChildren();
  }

  /** One line for a result: an error (FAIL) or the server's notice. */
  function result(el, r) {
    el.className = r.ok ? "result ok" : "result error";
    el.textContent = r.text;
  }

  async function refresh() {
    const r = await app.admin("WHO");
    if (!r.ok) {
      people = [];
      peopleNote = r.text;
    } else {
      people = r.lines.filter((l) => l.tags["hearth.chat/admin"] === "who").map((l) => ({
        nick: l.tags["hearth.chat/nick"],
        account: l.tags["hearth.chat/account"],
        idle: Number(l.tags["hearth.chat/idle"] || 0),
        text: l.params[1] || "",
      }));
      peopleNote = null;
    }
    renderPeople();
  }

  const list = h("ul", { class: "admin-people" });
  const peopleResult = h("p", { class: "result", role: "status" });

  function renderPeople() {
    if (peopleNote) return list.replaceChildren(h("li", { class: "error" }, peopleNote));
    list.replaceChildren(...people.map((p) => {
      const me = p.nick && p.nick.toLowerCase() === app.state.me.toLowerCase();
      const row = h("li", { dataset: { nick: p.nick } },
        h("span", { class: "who" }, h("strong", {}, p.nick),
          " ", h("span", { class: "muted" }, `${p.account && p.account !== "*" ? `account ${p.account}` : "no account"}, idle ${idle(p.idle)}`)),
        me ? null : h("button", { type: "button", class: "kick", onclick: () => { kicking = p.nick; renderPeople(); } }, "Kick"));
      if (kicking === p.nick) row.append(kickForm(p.nick));
      return row;
    }));
  }

  function kickForm(nick) {
    const reason = h("input", { name: "reason", placeholder: "Reason (shown to them)", "aria-label": `Reason for kicking ${nick}` });
    const form = h("form", { class: "inline kick-form" }, reason,
      h("button", { type: "submit", class: "danger" }, `Disconnect ${nick}`),
      h("button", { type: "button", onclick: () => { kicking = null; renderPeople(); } }, "Cancel"));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const why = reason.value.trim();
      const r = await app.admin("KICK", nick, ...(why ? [why] : []));
      kicking = null;
      result(peopleResult, r);
      await refresh();
    });
    setTimeout(() => reason.focus());
    return form;
  }

  function field(label, input) {
    return h("label", {}, h("span", {}, label), input);
  }

  function createForm() {
    const name = h("input", { name: "name", required: true, autocomplete: "off", maxLength: 30 });
    const pw = h("input", { name: "password", type: "password", required: true, minLength: 8, autocomplete: "new-password" });
    const admin = h("input", { name: "admin", type: "checkbox" });
    const out = h("p", { class: "result", role: "status" });
    const form = h("form", { class: "admin-form", id: "admin-create" }, h("h3", {}, "Create an account"),
      field("Name", name), field("Password", pw),
      h("label", { class: "check" }, admin, " Administrator"),
      h("button", { type: "submit" }, "Create account"), out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      // Only the last parameter may hold spaces (it goes as the trailing one).
      if (admin.checked && /\s|^:/.test(pw.value)) {
        return result(out, { ok: false, text: "An administrator's password cannot contain spaces here." });
      }
      const r = await app.admin("USERADD", name.value.trim(), pw.value, ...(admin.checked ? ["admin"] : []));
      result(out, r);
      if (r.ok) form.reset();
    });
    return form;
  }

  function passwdForm() {
    const name = h("input", { name: "name", required: true, autocomplete: "off", maxLength: 30 });
    const pw = h("input", { name: "password", type: "password", required: true, minLength: 8, autocomplete: "new-password" });
    const out = h("p", { class: "result", role: "status" });
    const form = h("form", { class: "admin-form", id: "admin-passwd" }, h("h3", {}, "Reset a password"),
      field("Account", name), field("New password", pw), h("button", { type: "submit" }, "Set password"), out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const r = await app.admin("PASSWD", name.value.trim(), pw.value);
      result(out, r);
      if (r.ok) form.reset();
    });
    return form;
  }

  function purgeForm() {
    const room = h("input", { name: "room", required: true, placeholder: "#room", autocomplete: "off" });
    const sure = h("input", { name: "confirm", type: "checkbox", required: true });
    const out = h("p", { class: "result", role: "status" });
    const form = h("form", { class: "admin-form", id: "admin-purge" }, h("h3", {}, "Purge a room's history"),
      field("Room", room),
      h("label", { class: "check" }, sure, " I understand: every message of this room is deleted, for everyone"),
      h("button", { type: "submit", class: "danger" }, "Purge"), out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      let name = room.value.trim();
      if (!/^[#&]/.test(name)) name = `#${name}`;
      if (!sure.checked) return result(out, { ok: false, text: "Tick the box to confirm." });
      const r = await app.admin("PURGE", name);
      result(out, r);
      if (r.ok) form.reset();
    });
    return form;
  }

  function build() {
    const head = h("div", { class: "panel-head" }, h("h2", {}, "Admin"),
      h("button", { class: "close", "aria-label": "Close the Admin page", onclick: close }, "×"));
    const online = h("section", { class: "admin-online", "aria-label": "People online" },
      h("div", { class: "row" }, h("h3", {}, "People online"),
        h("button", { type: "button", class: "refresh", onclick: refresh }, "Refresh")),
      peopleResult, list);
    panel.replaceChildren(head, online, createForm(), passwdForm(), purgeForm());
  }

  return function render() {
    entry.hidden = !app.state.oper;
    if (!app.state.oper && open) close();
  };
}

function idle(secs) {
  if (secs < 60) return `${secs} s`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min`;
  return `${Math.floor(secs / 3600)} h`;
}
