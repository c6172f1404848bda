// The message box: Enter sends (a multiline paste goes as one draft/multiline message
// when the server allows it, else one message a line), "Replying to …" above it,
// Shift+Enter adds a line, Tab completes nicks, Esc marks the conversation read.
// Commands: /join #room, /part, /msg nick text, /query nick, /me text, /topic text.

export function mountInput(form, app) {
  const box = form.elements.text;
  const bar = document.querySelector("#replying");
  let completion = null; // { prefix, start, matches, index }
  let replying = null; // { key, m }

  bar.querySelector("button").addEventListener("click", () => replyTo(null));

  function replyTo(conv, m) {
    replying = conv && m && m.id ? { key: conv.key, m } : null;
    bar.hidden = !replying;
    bar.querySelector("span").textContent = replying ? `Replying to ${m.from}: ${m.text.split("\n")[0].slice(0, 80)}` : "";
    if (replying) box.focus();
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit();
  });

  box.addEventListener("keydown", (ev) => {
    if (ev.key !== "Tab") completion = null;
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      submit();
    } else if (ev.key === "Tab" && !ev.shiftKey && !ev.ctrlKey && !ev.altKey) {
      if (complete()) ev.preventDefault();
    } else if (ev.key === "Escape") {
      if (replying) return replyTo(null);
      const conv = app.currentConv();
      if (conv) app.markRead(conv, true);
    }
  });
  let typingSent = 0;
  box.addEventListener("input", () => {
    const conv = app.currentConv();
    if (conv && conv.kind !== "server" && box.value && !box.value.startsWith("/") && Date.now() - typingSent > 3000) {
      typingSent = Date.now();
      app.client.send("TAGMSG", [conv.name], { "+typing": "active" });
    }
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight, 160)}px`;
  });

  function submit() {
    const text = box.value;
    if (!text.trim()) return;
    box.value = "";
    box.style.height = "auto";
    typingSent = 0;
    if (text.startsWith("/") && !text.startsWith("//")) return command(text.trim());
    const conv = app.currentConv();
    if (!conv || conv.kind === "server") return app.notice("Open a room or a conversation first.");
    const reply = replying && replying.key === conv.key ? replying.m.id : "";
    replyTo(null);
    app.send(conv, text.replace(/^\//, "").split(/\r?\n/), reply);
  }

  function command(text) {
    const [cmd, ...rest] = text.slice(1).split(" ");
    const arg = rest.join(" ");
    const conv = app.currentConv();
    switch (cmd.toLowerCase()) {
      case "join":
      case "j":
        return app.join(arg.trim());
      case "part":
      case "leave":
        return app.part(arg.trim() || conv?.name);
      case "msg": {
        const [nick, ...words] = rest;
        const target = app.state.conversations.get(app.query(nick));
        app.open(target.key);
        if (words.length) app.say(target, words.join(" "));
        return;
      }
      case "query":
        return app.open(app.query(arg.trim()));
      case "me":
        return conv && app.say(conv, arg, true);
      case "topic":
        return conv && app.client.send("TOPIC", [conv.name, arg]);
      case "quote":
        return app.client.raw(arg);
      default:
        return app.notice(`Unknown command /${cmd}. Try /join #room, /msg nick text, /me, /topic, /part.`);
    }
  }

  function complete() {
    const conv = app.currentConv();
    if (!conv) return false;
    const pos = box.selectionStart;
    if (!completion) {
      const start = box.value.slice(0, pos).search(/\S*$/);
      const prefix = box.value.slice(start, pos).toLowerCase();
      if (!prefix) return false;
      const names = new Set([...conv.members.values()].map((m) => m.nick));
      if (conv.kind === "private") names.add(conv.name);
      for (const m of conv.messages.slice(-100)) if (m.from) names.add(m.from);
      names.delete(app.state.me);
      const matches = [...names].filter((n) => n.toLowerCase().startsWith(prefix)).sort();
      if (!matches.length) return false;
      completion = { start, end: pos, matches, index: -1 };
    }
    completion.index = (completion.index + 1) % completion.matches.length;
    const nick = completion.matches[completion.index];
    const suffix = completion.start === 0 ? ": " : " ";
    box.value = box.value.slice(0, completion.start) + nick + suffix + box.value.slice(completion.end);
    completion.end = completion.start + nick.length + suffix.length;
    box.setSelectionRange(completion.end, completion.end);
    return true;
  }

  return { focus: () => box.focus(), replyTo };
}
