/*
 * Switchboard chat widget. Speaks the /chat Socket.IO protocol documented in channels/chat.py.
 *
 * Why it is shaped like this:
 * - Every message is keyed by its stored id and drawn at most once, whichever way it arrives
 *   (history, resume, a live push, the ack of our own send): reconnects must never double a bubble.
 * - The visitor's messages wait in a local queue until the server acks them; the client id makes a
 *   resend after a dropped connection idempotent, so nothing typed offline is lost or doubled.
 * - Text from people is only ever set with textContent. The one HTML we insert is the reply body the
 *   server already sanitized (formatters/chat.py); it is rebuilt node by node through a small
 *   allowlist, so even a server bug cannot smuggle in a script or an event handler.
 */
(function () {
  "use strict";

  const slug = document.body.dataset.tenant;
  const $ = (id) => document.getElementById(id);
  const ui = {
    log: $("sb-log"), empty: $("sb-empty"), status: $("sb-status"), typing: $("sb-typing"),
    typingLabel: $("sb-typing-label"), notice: $("sb-notice"), composer: $("sb-composer"),
    input: $("sb-input"), file: $("sb-file"), emailForm: $("sb-email-form"), email: $("sb-email"), emailNote: $("sb-email-note"),
  };
  const store = storage("switchboard.chat." + slug + ".");
  const AUTHORS = { customer: "You", ai: "Support assistant", agent: "Support team", system: "Support" };
  const AWAIT_REPLY_MS = 20000;

  const state = {
    token: store.get("token"),
    conversations: new Map(), // id → {lastSeq, section}
    messages: new Map(), // stored message id → element
    pending: new Map(store.getJSON("pending", []).map((p) => [p.client_id, p])), // client_id → queued send
    current: store.getJSON("conversation", null),
    historyLoaded: false,
    awaitingTimer: 0,
    typingSentAt: 0,
    typingStopTimer: 0,
    refusals: 0,
  };

  // ---------------------------------------------------------------- connection
  const socket = io("/chat", {
    autoConnect: false,
    auth: (cb) => cb({ token: state.token }),
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
  // For the host page and for tests: the socket, so a dropped connection can be provoked.
  window.switchboardChat = Object.freeze({ socket: socket });

  socket.on("connect", onConnect);
  socket.on("disconnect", (reason) => {
    setStatus("offline", "Reconnecting…");
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  socket.on("connect_error", onRefused);
  socket.on("message", (m) => {
    receive(m);
    if (m && m.direction === "out") stopAwaiting();
  });
  socket.on("typing", (t) => showTyping(!!(t && t.typing), t && AUTHORS[t.author]));
  socket.on("error", (e) => console.warn("switchboard chat:", e && e.field, e && e.message));

  async function start() {
    for (let attempt = 0; ; attempt++) {
      try {
        await renewToken();
        break;
      } catch (err) {
        setStatus("offline", "Can't reach support right now — retrying…");
        await delay(Math.min(1000 * 2 ** attempt, 15000));
      }
    }
    socket.connect();
  }

  /** A fresh token for the same visitor (the server keeps the visitor id when given the old one). */
  async function renewToken() {
    const resp = await fetch("/chat/" + encodeURIComponent(slug) + "/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(state.token ? { token: state.token } : {}),
      credentials: "omit",
    });
    if (!resp.ok) throw new Error("session: HTTP " + resp.status);
    const data = await resp.json();
    state.token = data.token;
    store.set("token", data.token);
  }

  /** The server refused the connection (socket.active is false then; the client will not retry by itself). */
  async function onRefused(err) {
    if (socket.active) return; // a transport error: socket.io retries with backoff
    state.refusals += 1;
    setStatus("offline", "Reconnecting…");
    const reason = (err && err.message) || "";
    await delay(Math.min(500 * 2 ** state.refusals, 15000));
    try {
      if (/token/.test(reason)) await renewToken();
    } catch (e) { /* the next attempt renews again */ }
    socket.connect();
  }

  async function onConnect() {
    state.refusals = 0;
    setStatus("online", "Online");
    if (!state.historyLoaded) {
      const ack = await call("history", {});
      if (ack.ok) {
        const convs = ack.conversations.slice().sort((a, b) => a.id - b.id);
        convs.forEach((c) => c.messages.forEach(receive));
        if (convs.length) setCurrent(convs[convs.length - 1].id);
        state.historyLoaded = true;
      }
    } else {
      for (const [id, conv] of state.conversations) {
        const ack = await call("resume", { conversation_id: id, last_seq: conv.lastSeq });
        if (ack.ok) ack.messages.forEach(receive);
      }
    }
    flushPending();
  }

  /** emit with an ack, resolving to the ack or to an error-shaped object on timeout. */
  function call(event, data, timeoutMs) {
    return new Promise((resolve) => {
      socket.timeout(timeoutMs || 10000).emit(event, data, (err, ack) => {
        if (err || !ack) resolve({ ok: false, error: { code: "timeout", message: "No answer from the server." } });
        else resolve(ack);
      });
    });
  }

  // ---------------------------------------------------------------- receiving
  function receive(m) {
    if (!m || typeof m.id !== "number" || typeof m.conversation_id !== "number") return;
    const conv = conversation(m.conversation_id);
    if (typeof m.seq === "number" && m.seq > conv.lastSeq) conv.lastSeq = m.seq;
    if (state.messages.has(m.id)) return; // exactly once on screen
    const item = messageElement(m);
    state.messages.set(m.id, item);
    place(conv, item, m.seq);
    if (m.conversation_id > (state.current || 0)) setCurrent(m.conversation_id);
    if (m.direction === "out") markRead(m.conversation_id, m.seq);
  }

  function conversation(id) {
    let conv = state.conversations.get(id);
    if (conv) return conv;
    const section = document.createElement("section");
    section.className = "sb-conv";
    section.dataset.conversation = String(id);
    section.setAttribute("aria-label", "Conversation " + id);
    // Conversations in id order (ids grow over time); older ones get a divider above the next.
    const later = Array.from(ui.log.querySelectorAll(".sb-conv")).find((s) => Number(s.dataset.conversation) > id);
    ui.log.insertBefore(section, later || null);
    conv = { lastSeq: 0, section: section };
    state.conversations.set(id, conv);
    ui.empty.hidden = true;
    return conv;
  }

  /** Inserts in sequence order, so a replay that overtakes a live push still reads top to bottom. */
  function place(conv, item, seq) {
    item.dataset.seq = String(seq);
    const after = Array.from(conv.section.children).find((el) => Number(el.dataset.seq) > seq);
    conv.section.insertBefore(item, after || null);
    scrollToEnd();
  }

  function messageElement(m) {
    const out = m.direction === "out";
    const item = document.createElement("article");
    item.className = "sb-msg " + (out ? "sb-msg--out" : "sb-msg--in") + " sb-msg--" + safeToken(m.author);
    item.dataset.id = String(m.id);
    if (m.kind) item.dataset.kind = safeToken(m.kind);

    const meta = document.createElement("header");
    meta.className = "sb-meta";
    const who = document.createElement("span");
    who.className = "sb-author";
    who.textContent = AUTHORS[m.author] || "Support";
    meta.appendChild(who);
    const when = timeElement(m.created_at);
    if (when) meta.appendChild(when);
    item.appendChild(meta);

    const bubble = document.createElement("div");
    bubble.className = "sb-bubble";
    bubble.setAttribute("dir", "auto");
    if (typeof m.language === "string" && /^[a-z]{2,3}$/.test(m.language)) bubble.setAttribute("lang", m.language);
    const parts = Array.isArray(m.parts) && m.parts.length ? m.parts : [{ text: m.text }];
    for (const part of parts) {
      const p = document.createElement("div");
      p.className = "sb-part";
      if (out && part && typeof part.html === "string") appendServerHtml(p, part.html);
      else p.textContent = String((part && part.text) || "");
      bubble.appendChild(p);
    }
    const files = Array.isArray(m.attachments) ? m.attachments : [];
    if (!files.length || bubble.textContent.trim() || bubble.querySelector("img")) item.appendChild(bubble);
    if (files.length) item.appendChild(filesElement(files));
    if (out && Array.isArray(m.sources) && m.sources.length) item.appendChild(sourcesElement(m.sources));
    if (out && Array.isArray(m.actions) && m.actions.length) item.appendChild(actionsElement(m));
    return item;
  }

  // Files download through fetch with the token as a header (never in a URL), then a blob link.
  function filesElement(files) {
    const list = document.createElement("ul");
    list.className = "sb-files";
    for (const f of files) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sb-file";
      button.textContent = String(f.name || "file");
      if (typeof f.id === "number") button.addEventListener("click", () => downloadFile(f));
      else button.disabled = true;
      li.appendChild(button);
      list.appendChild(li);
    }
    return list;
  }

  async function downloadFile(f) {
    const resp = await fetch("/chat/" + encodeURIComponent(slug) + "/attachments/" + f.id,
      { headers: { Authorization: "Bearer " + state.token } });
    if (!resp.ok) { notice("This file is not available."); return; }
    const url = URL.createObjectURL(await resp.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = String(f.name || "file");
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  async function uploadFiles(fileList) {
    const files = [];
    for (const file of Array.from(fileList).slice(0, 10)) {
      const form = new FormData();
      form.append("file", file, file.name);
      const resp = await fetch("/chat/" + encodeURIComponent(slug) + "/upload",
        { method: "POST", body: form, headers: { Authorization: "Bearer " + state.token } });
      const data = await resp.json().catch(() => null);
      if (resp.ok && data) files.push(data.attachment);
      else notice(file.name + ": " + ((data && data.error && data.error.message) || "not uploaded"));
    }
    if (files.length) enqueue("", files);
  }

  function sourcesElement(sources) {
    const nav = document.createElement("nav");
    nav.className = "sb-sources";
    nav.setAttribute("aria-label", "Sources");
    const title = document.createElement("span");
    title.className = "sb-sources-title";
    title.textContent = "Sources";
    nav.appendChild(title);
    const list = document.createElement("ol");
    for (const s of sources) {
      const li = document.createElement("li");
      const label = String(s.title || s.id || "Source");
      if (s.url && safeHref(s.url)) {
        const a = document.createElement("a");
        a.href = s.url;
        a.target = "_blank";
        a.rel = "noopener noreferrer nofollow";
        a.textContent = label;
        li.appendChild(a);
      } else {
        li.textContent = label;
      }
      list.appendChild(li);
    }
    nav.appendChild(list);
    return nav;
  }

  function actionsElement(m) {
    const group = document.createElement("div");
    group.className = "sb-actions";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Suggested actions");
    for (const action of m.actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sb-action";
      button.dataset.actionId = String(action.id);
      button.textContent = String(action.label || action.id);
      button.addEventListener("click", () => pressAction(group, button, m.conversation_id, String(action.id)));
      group.appendChild(button);
    }
    return group;
  }

  async function pressAction(group, button, conversationId, actionId) {
    const buttons = group.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    const ack = await call("action", { conversation_id: conversationId, action_id: actionId });
    if (ack.ok) {
      button.classList.add("sb-action--chosen");
      button.setAttribute("aria-pressed", "true");
      if (actionId === "talk_to_human") startAwaiting();
    } else {
      buttons.forEach((b) => { b.disabled = false; });
      notice(ack.error.message || "That didn't work. Please try again.");
    }
  }

  // Tags and attributes formatters/chat.py may produce; anything else is dropped (its text kept).
  const ALLOWED = {
    P: ["dir"], BR: [], STRONG: [], EM: [], CODE: [], PRE: ["dir"], A: ["href"], UL: ["dir"],
    OL: ["start", "dir"], LI: ["dir"], DIV: ["dir"], SPAN: ["dir"],
  };
  const DROP_WITH_CONTENT = new Set(["SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "OBJECT", "EMBED", "SVG", "MATH"]);

  /** Server-sanitized HTML, parsed inert (DOMParser runs nothing) and rebuilt through the allowlist. */
  function appendServerHtml(target, html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    copyAllowed(doc.body, target);
  }

  function copyAllowed(from, into) {
    for (const node of Array.from(from.childNodes)) {
      if (node.nodeType === Node.TEXT_NODE) {
        into.appendChild(document.createTextNode(node.data));
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        const tag = node.tagName.toUpperCase();
        if (DROP_WITH_CONTENT.has(tag)) continue;
        const attrs = ALLOWED[tag];
        if (!attrs) { copyAllowed(node, into); continue; }
        const copy = document.createElement(tag.toLowerCase());
        for (const name of attrs) {
          const value = node.getAttribute(name);
          if (value !== null) copy.setAttribute(name, value);
        }
        if (tag === "A") {
          if (!safeHref(copy.getAttribute("href"))) copy.removeAttribute("href");
          copy.target = "_blank";
          copy.rel = "noopener noreferrer nofollow";
        }
        copyAllowed(node, copy);
        into.appendChild(copy);
      }
    }
  }

  function safeHref(url) {
    try {
      return ["http:", "https:", "mailto:"].includes(new URL(String(url), location.href).protocol);
    } catch (e) {
      return false;
    }
  }

  function safeToken(value) {
    return String(value || "").replace(/[^a-z_]/gi, "").slice(0, 20) || "unknown";
  }

  function timeElement(iso) {
    const date = iso ? new Date(iso) : null;
    if (!date || isNaN(date.getTime())) return null;
    const t = document.createElement("time");
    t.dateTime = date.toISOString();
    t.textContent = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return t;
  }

  // ---------------------------------------------------------------- sending
  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.input.value;
    if (!text.trim()) return;
    ui.input.value = "";
    autosize();
    stopTyping();
    enqueue(text);
  });
  ui.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit();
    }
  });
  ui.input.addEventListener("input", () => { autosize(); typing(); });
  ui.input.addEventListener("blur", stopTyping);
  ui.file.addEventListener("change", () => {
    const chosen = ui.file.files;
    uploadFiles(chosen).finally(() => { ui.file.value = ""; });
  });

  function enqueue(text, files) {
    const p = { client_id: randomId(), text: text, conversation_id: state.current, files: files || [] };
    state.pending.set(p.client_id, p);
    savePending();
    drawPending(p);
    if (socket.connected) deliver(p);
  }

  function drawPending(p) {
    const item = messageElement({ id: -1, direction: "in", author: "customer", text: p.text, conversation_id: 0,
      attachments: p.files });
    item.classList.add("sb-msg--pending");
    item.removeAttribute("data-id");
    item.dataset.clientId = p.client_id;
    const status = document.createElement("span");
    status.className = "sb-sending";
    status.textContent = socket.connected ? "Sending…" : "Queued: sends when you're back online";
    item.querySelector(".sb-meta").appendChild(status);
    ui.empty.hidden = true;
    ui.log.appendChild(item); // below every conversation until the server gives it a place
    p.el = item;
    scrollToEnd();
  }

  function flushPending() {
    for (const p of state.pending.values()) {
      if (!p.el) drawPending(p); // queued before a reload
      const status = p.el.querySelector(".sb-sending");
      if (status) status.textContent = "Sending…";
      deliver(p);
    }
  }

  async function deliver(p) {
    if (p.inFlight) return;
    p.inFlight = true;
    const data = { client_id: p.client_id, text: p.text };
    if (p.files && p.files.length) data.attachment_ids = p.files.map((f) => f.id);
    if (typeof p.conversation_id === "number") data.conversation_id = p.conversation_id;
    const ack = await call("message", data);
    p.inFlight = false;
    if (ack.ok) {
      state.pending.delete(p.client_id);
      savePending();
      adopt(p, ack);
      startAwaiting();
    } else if (ack.error.code === "rate_limited") {
      setTimeout(() => { if (socket.connected) deliver(p); }, 2000);
    } else if (ack.error.code !== "timeout" && ack.error.code !== "internal") {
      state.pending.delete(p.client_id); // the server will never take this one (too long, empty…)
      savePending();
      const status = p.el.querySelector(".sb-sending");
      status.textContent = "Not sent: " + (ack.error.message || "rejected");
      p.el.classList.add("sb-msg--failed");
    } // timeout / internal: stays queued; the next connect resends it with the same client id
  }

  function adopt(p, ack) {
    setCurrent(ack.conversation_id);
    const conv = conversation(ack.conversation_id);
    if (state.messages.has(ack.message_id)) { p.el.remove(); return; } // a replay drew it already
    p.el.classList.remove("sb-msg--pending");
    p.el.dataset.id = String(ack.message_id);
    delete p.el.dataset.clientId;
    const status = p.el.querySelector(".sb-sending");
    if (status) status.remove();
    state.messages.set(ack.message_id, p.el);
    place(conv, p.el, ack.seq);
  }

  function setCurrent(id) {
    state.current = id;
    store.setJSON("conversation", id);
  }

  function savePending() {
    store.setJSON("pending", Array.from(state.pending.values(), (p) => ({
      client_id: p.client_id, text: p.text, conversation_id: p.conversation_id, files: p.files || [],
    })));
  }

  // ---------------------------------------------------------------- typing and read state
  function typing() {
    if (!socket.connected || typeof state.current !== "number") return;
    const now = Date.now();
    if (now - state.typingSentAt > 3000) {
      state.typingSentAt = now;
      socket.emit("typing", { conversation_id: state.current, typing: true });
    }
    clearTimeout(state.typingStopTimer);
    state.typingStopTimer = setTimeout(stopTyping, 4000);
  }

  function stopTyping() {
    clearTimeout(state.typingStopTimer);
    if (!state.typingSentAt || !socket.connected || typeof state.current !== "number") return;
    state.typingSentAt = 0;
    socket.emit("typing", { conversation_id: state.current, typing: false });
  }

  /** After the visitor writes, dots show until a reply arrives (or a while passes). */
  function startAwaiting() {
    clearTimeout(state.awaitingTimer);
    showTyping(true, null);
    state.awaitingTimer = setTimeout(stopAwaiting, AWAIT_REPLY_MS);
  }

  function stopAwaiting() {
    clearTimeout(state.awaitingTimer);
    showTyping(false);
  }

  function showTyping(on, who) {
    ui.typing.hidden = !on;
    ui.typingLabel.textContent = who ? who + " is typing…" : "Waiting for a reply…";
    if (on) scrollToEnd();
  }

  let readTimer = 0;
  const readUpTo = new Map();
  function markRead(conversationId, seq) {
    readUpTo.set(conversationId, Math.max(seq, readUpTo.get(conversationId) || 0));
    clearTimeout(readTimer);
    readTimer = setTimeout(flushRead, 500);
  }
  function flushRead() {
    if (document.visibilityState !== "visible" || !socket.connected) return;
    for (const [id, seq] of readUpTo) socket.emit("read", { conversation_id: id, seq: seq });
    readUpTo.clear();
  }
  document.addEventListener("visibilitychange", flushRead);

  // ---------------------------------------------------------------- email claim
  ui.emailForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = ui.email.value.trim();
    if (!ui.email.checkValidity() || !email) {
      ui.email.setAttribute("aria-invalid", "true");
      ui.emailNote.textContent = "Please enter an email address like name@example.com.";
      return;
    }
    ui.email.removeAttribute("aria-invalid");
    const ack = await call("email", { email: email });
    if (ack.ok) {
      ui.emailNote.textContent = ack.verification_sent
        ? "Check your inbox: we sent a link to confirm this address."
        : "Saved. Our team can see it; replies keep coming here in the chat.";
    } else if (ack.error.code === "no_conversation") {
      ui.emailNote.textContent = "Send us a message first, then add your email.";
    } else {
      ui.email.setAttribute("aria-invalid", "true");
      ui.emailNote.textContent = ack.error.message || "That didn't work. Please try again.";
    }
  });

  // ---------------------------------------------------------------- small things
  function setStatus(kind, text) {
    ui.status.dataset.state = kind;
    ui.status.textContent = text;
  }

  function notice(text) {
    ui.notice.textContent = text;
    ui.notice.hidden = false;
    setTimeout(() => { ui.notice.hidden = true; }, 6000);
  }

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight, 160) + "px";
  }

  function scrollToEnd() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function delay(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** crypto.randomUUID needs a secure context; getRandomValues works on plain http too. */
  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** localStorage, or memory when the browser blocks storage in third-party frames. */
  function storage(prefix) {
    const memory = new Map();
    const ls = (() => { try { return window.localStorage; } catch (e) { return null; } })();
    const get = (key) => {
      try { return ls ? ls.getItem(prefix + key) : (memory.get(key) ?? null); } catch (e) { return memory.get(key) ?? null; }
    };
    const set = (key, value) => {
      memory.set(key, value);
      try { if (ls) ls.setItem(prefix + key, value); } catch (e) { /* quota or blocked: memory only */ }
    };
    return {
      get: get,
      set: set,
      getJSON: (key, fallback) => { try { const v = get(key); return v === null ? fallback : JSON.parse(v); } catch (e) { return fallback; } },
      setJSON: (key, value) => set(key, JSON.stringify(value)),
    };
  }

  state.pending.forEach(drawPending); // typed before a reload, still unsent: show them queued
  start();
})();
