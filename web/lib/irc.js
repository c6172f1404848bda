// IRC lines with IRCv3 tags: parse and serialise. Pure: no DOM, no sockets.

const TAG_UNESCAPE = { ":": ";", s: " ", "\\": "\\", r: "\r", n: "\n" };

function unescapeTag(v) {
  return v.replace(/\\(.?)/g, (_, c) => (c in TAG_UNESCAPE ? TAG_UNESCAPE[c] : c));
}

function escapeTag(v) {
  return String(v).replace(/[\\; \r\n]/g, (c) => ({ "\\": "\\\\", ";": "\\:", " ": "\\s", "\r": "\\r", "\n": "\\n" })[c]);
}

/** Parses one line (no CR/LF) into { tags, prefix, nick, command, params }. */
export function parse(line) {
  const msg = { tags: {}, prefix: "", nick: "", command: "", params: [] };
  let i = 0;
  const word = () => {
    const end = line.indexOf(" ", i);
    const w = end < 0 ? line.slice(i) : line.slice(i, end);
    i = end < 0 ? line.length : end + 1;
    while (line[i] === " ") i++;
    return w;
  };
  if (line[0] === "@") {
    for (const kv of word().slice(1).split(";")) {
      if (!kv) continue;
      const eq = kv.indexOf("=");
      if (eq < 0) msg.tags[kv] = "";
      else msg.tags[kv.slice(0, eq)] = unescapeTag(kv.slice(eq + 1));
    }
  }
  if (line[i] === ":") {
    msg.prefix = word().slice(1);
    msg.nick = msg.prefix.split("!")[0].split("@")[0];
  }
  msg.command = word().toUpperCase();
  while (i < line.length) {
    if (line[i] === ":") {
      msg.params.push(line.slice(i + 1));
      break;
    }
    msg.params.push(word());
  }
  return msg;
}

/** Serialises a command; the last parameter is made trailing when it needs to be. */
export function format(command, params = [], tags = {}) {
  let out = "";
  const t = Object.entries(tags).map(([k, v]) => (v === "" || v === true ? k : `${k}=${escapeTag(v)}`));
  if (t.length) out += `@${t.join(";")} `;
  out += command;
  params.forEach((p, n) => {
    p = String(p);
    const last = n === params.length - 1;
    out += last && (p === "" || p.includes(" ") || p[0] === ":") ? ` :${p}` : ` ${p}`;
  });
  return out;
}

/** rfc1459 casemapping, Hearth's default. */
export function fold(name) {
  return name.toLowerCase().replace(/[[\]\\~]/g, (c) => ({ "[": "{", "]": "}", "\\": "|", "~": "^" })[c]);
}

export const isChannel = (name) => /^[#&]/.test(name);

/** CTCP ACTION ("/me") text, or null. */
export function action(text) {
  const m = /^\x01ACTION ?(.*?)\x01?$/.exec(text);
  return m ? m[1] : null;
}

/** The ISO 8601 timestamp CHATHISTORY and MARKREAD use. */
export const stamp = (date) => new Date(date).toISOString();

/** Base64 of a UTF-8 string (SASL PLAIN). */
export function base64(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
