// A few DOM helpers: elements are built with properties, never with HTML strings.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof el[k] !== "object") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const URL_RE = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'}]/g;

/** Text with its http(s) links made clickable (no previews are fetched). */
export function linkify(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(h("a", { href: m[0], target: "_blank", rel: "noopener noreferrer" }, m[0]));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

// Intl formatters are costly to make: made once, and day names kept per calendar day
// (a render of hundreds of lines asks for each line's day).
const clockFormat = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });
const dayKey = (d) => d.getFullYear() * 10000 + d.getMonth() * 100 + d.getDate();
const days = new Map();

const fullFormat = new Intl.DateTimeFormat([], { dateStyle: "medium", timeStyle: "medium" });

export const clock = (t) => clockFormat.format(t);
export const full = (t) => fullFormat.format(t);

export function day(t) {
  const d = new Date(t);
  const k = dayKey(d);
  const now = new Date();
  if (k === dayKey(now)) return "Today";
  if (k === dayKey(new Date(now - 86400000))) return "Yesterday";
  let name = days.get(k);
  if (!name) days.set(k, (name = dayFormat.format(d)));
  return name;
}
