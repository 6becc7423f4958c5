/* Switchboard agent console.
 *
 * Plain JS over the console JSON API (/console/api) and the /copilot Socket.IO namespace.
 * Customer-provided text (messages, names, subjects) is only ever set with textContent:
 * this file never assigns innerHTML.
 */
(function () {
  "use strict";
  const { el } = window.SwitchboardDom;  // dom.js

  const API = "/console/api";
  const VIEWS = [
    ["mine", "Mine"], ["unassigned", "Unassigned"], ["ai", "AI"],
    ["escalated", "Escalated"], ["breaching", "Breaching soon"], ["all", "All"],
  ];
  const CHANNEL_LABELS = { chat: "Chat", email: "Email", slack: "Slack", webform: "Form", api: "API" };
  const STATUS_LABELS = {
    new: "New", ai_active: "AI active", waiting_customer: "Waiting on customer", pending_agent: "Needs an agent",
    assigned: "Assigned", resolved: "Resolved", closed: "Closed",
  };
  const OPEN = new Set(["new", "ai_active", "waiting_customer", "pending_agent", "assigned"]);

  const state = {
    me: null, csrf: "", categories: [], agents: new Map(),
    view: localStorage.getItem("sb.view") || "mine",
    queue: [], counts: {},
    current: null,        // conversation detail
    currentId: null,
    suggestion: null,     // {requestId, id, streaming, text, sources: [], chunks}
    socket: null,
  };

  // ---------------------------------------------------------------- small DOM helpers
  const $ = (id) => document.getElementById(id);

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  function channelBadge(channel) {
    return el("span", { class: `badge ch ch-${channel || "api"}`, text: CHANNEL_LABELS[channel] || channel || "?" });
  }

  function urgencyBadge(urgency) {
    if (!urgency) return null;
    return el("span", { class: `badge urg urg-${urgency}`, text: urgency });
  }

  function pct(x) { return typeof x === "number" ? `${Math.round(x * 100)}%` : "—"; }

  function ago(iso) {
    if (!iso) return "";
    const secs = (Date.now() - new Date(iso).getTime()) / 1000;
    if (secs < 60) return "just now";
    if (secs < 3600) return `${Math.floor(secs / 60)}m ago`;
    if (secs < 86400) return `${Math.floor(secs / 3600)}h ago`;
    return new Date(iso).toLocaleDateString();
  }

  function clock(iso) {
    const d = new Date(iso);
    const sameDay = d.toDateString() === new Date().toDateString();
    return sameDay ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function slaLabel(item) {
    const dues = [item.sla_first_response_due, item.sla_resolution_due].filter(Boolean).map((d) => new Date(d));
    if (!dues.length) return null;
    const due = new Date(Math.min(...dues));
    const mins = Math.round((due.getTime() - Date.now()) / 60000);
    const text = mins < 0 ? `SLA overdue ${fmtMins(-mins)}` : `SLA due in ${fmtMins(mins)}`;
    const level = mins < 0 ? "over" : mins < 30 ? "soon" : "ok";
    return el("span", { class: `sla sla-${level}`, title: `Due ${due.toLocaleString()}`, text });
  }

  function fmtMins(m) {
    if (m < 60) return `${m}m`;
    if (m < 1440) return `${Math.floor(m / 60)}h ${m % 60}m`;
    return `${Math.floor(m / 1440)}d`;
  }

  // ---------------------------------------------------------------- HTTP
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  async function api(path, { method = "GET", body } = {}) {
    const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = state.csrf;
      opts.body = JSON.stringify(body || {});
    }
    const resp = await fetch(path, opts);
    if (resp.status === 401) {
      window.location.assign("/console/login");
      throw new ApiError(401, null);
    }
    let data = null;
    try { data = await resp.json(); } catch (_) { data = null; }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  function flash(message, kind = "info") {
    const node = $("flash");
    node.textContent = message;
    node.dataset.kind = kind;
    node.hidden = false;
    clearTimeout(flash.timer);
    flash.timer = setTimeout(() => { node.hidden = true; }, kind === "error" ? 8000 : 4000);
  }

  // ---------------------------------------------------------------- queue
  function renderTabs() {
    const tabs = $("queue-tabs");
    clear(tabs);
    for (const [key, label] of VIEWS) {
      const selected = key === state.view;
      const count = state.counts[key];
      tabs.append(el("button", {
        type: "button", role: "tab", id: `tab-${key}`, class: "tab", "aria-selected": selected ? "true" : "false",
        "aria-controls": "queue-list", tabindex: selected ? "0" : "-1", "data-view": key,
        onclick: () => selectView(key),
        onkeydown: (ev) => tabKeys(ev, key),
      }, label, count !== undefined ? el("span", { class: "tab-count", text: String(count) }) : null));
    }
  }

  function tabKeys(ev, key) {
    const idx = VIEWS.findIndex(([k]) => k === key);
    let next = null;
    if (ev.key === "ArrowRight") next = VIEWS[(idx + 1) % VIEWS.length][0];
    if (ev.key === "ArrowLeft") next = VIEWS[(idx + VIEWS.length - 1) % VIEWS.length][0];
    if (next) { ev.preventDefault(); selectView(next); $(`tab-${next}`).focus(); }
  }

  function selectView(key) {
    state.view = key;
    localStorage.setItem("sb.view", key);
    renderTabs();
    refreshQueue();
  }

  let queueSeq = 0;
  async function refreshQueue() {
    const mine = ++queueSeq;
    try {
      const results = await Promise.all(VIEWS.map(([key]) => api(`${API}/queue?view=${key}`)));
      if (mine !== queueSeq) return; // a newer refresh started meanwhile
      VIEWS.forEach(([key], i) => { state.counts[key] = results[i].items.length; });
      state.queue = results[VIEWS.findIndex(([k]) => k === state.view)].items;
      renderTabs();
      renderQueue();
    } catch (err) {
      if (err.status !== 401) console.warn("queue refresh failed", err);
    }
  }
  const refreshQueueSoon = debounce(refreshQueue, 200);

  function renderQueue() {
    const list = $("queue-list");
    clear(list);
    $("queue-empty").hidden = state.queue.length > 0;
    for (const item of state.queue) {
      const current = item.id === state.currentId;
      const unread = item.unread > 0 && !current;
      const link = el("a", {
        href: `#/c/${item.id}`, class: `q-item${current ? " current" : ""}${unread ? " unread" : ""}`,
        "aria-current": current ? "true" : null, "data-id": item.id,
      },
      el("span", { class: "q-top" },
        el("span", { class: "q-customer", text: queueCustomer(item) }),
        el("span", { class: "q-time", text: ago(item.updated_at) })),
      el("span", { class: "q-subject", text: item.subject || firstLine(item.preview) || "(no subject)" }),
      item.subject && item.preview ? el("span", { class: "q-preview", text: item.preview }) : null,
      el("span", { class: "q-tags" },
        channelBadge(item.last_channel), urgencyBadge(item.urgency),
        el("span", { class: `badge st st-${item.status}`, text: STATUS_LABELS[item.status] || item.status }),
        slaLabel(item),
        unread ? el("span", { class: "unread-count", "aria-label": `${item.unread} unread`, text: String(item.unread) })
          : null));
      list.append(el("li", {}, link));
    }
  }

  function firstLine(text) { return (text || "").split("\n")[0].slice(0, 90); }

  // ---------------------------------------------------------------- routing
  function route() {
    const hash = window.location.hash || "#/";
    const conv = hash.match(/^#\/c\/(\d{1,18})$/);
    $("nav-dashboards").setAttribute("aria-current", hash === "#/dashboards" ? "page" : "false");
    $("nav-admin").setAttribute("aria-current", hash === "#/admin" ? "page" : "false");
    $("nav-inbox").setAttribute("aria-current", hash === "#/dashboards" || hash === "#/admin" ? "false" : "page");
    if (hash === "#/dashboards") return showDashboards();
    if (hash === "#/admin" && isAdmin()) return showAdmin();
    if (conv) return openConversation(Number(conv[1]));
    if (/^#\/c\//.test(hash)) return showPane("not-found");
    state.currentId = null;
    showPane("empty-state");
    renderQueue();
  }

  function showPane(id) {
    for (const pane of ["empty-state", "not-found", "dashboards", "admin", "conversation"]) $(pane).hidden = pane !== id;
    $("context").hidden = id !== "conversation";
    document.body.classList.toggle("with-context", id === "conversation");
  }

  async function showDashboards() {
    state.currentId = null;
    showPane("dashboards");
    renderQueue();
    const list = $("dash-list");
    clear(list);
    try {
      const data = await api(`${API}/dashboards`);
      for (const d of data.dashboards) {
        list.append(el("li", { class: "dash" },
          el("h2", { class: "dash-title", text: d.title }),
          el("p", { class: "muted small" }, `${d.panels} panels · uid `, el("code", { text: d.uid }),
            " · file ", el("code", { text: d.file })),
          el("p", { class: "small", text: `In Grafana: Dashboards → search “${d.title}”, or open /d/${d.uid}.` })));
      }
      if (!data.dashboards.length) list.append(el("li", { class: "muted", text: "No dashboard files found." }));
    } catch (err) {
      list.append(el("li", { class: "error", text: `Could not list dashboards: ${err.message}` }));
    }
  }

  // ---------------------------------------------------------------- conversation
  async function openConversation(id, { keepDraft = false } = {}) {
    const switching = id !== state.currentId;
    state.currentId = id;
    let detail;
    try {
      detail = await api(`${API}/conversations/${id}`);
    } catch (err) {
      if (state.currentId !== id) return;
      state.current = null;
      if (err.status === 404) { showPane("not-found"); renderQueue(); return; }
      flash(`Could not load the conversation: ${err.message}`, "error");
      return;
    }
    if (state.currentId !== id) return; // the agent moved on meanwhile
    state.current = detail;
    if (switching && !keepDraft) resetComposer();
    showPane("conversation");
    renderConversation(detail, switching);
    renderQueue();
    loadHandoff(id);
    if (switching) refreshQueueSoon(); // the unread count just dropped
  }
  const reloadCurrentSoon = debounce(() => { if (state.currentId) openConversation(state.currentId); }, 250);

  function agentName(id) {
    if (id === null || id === undefined) return null;
    if (state.me && id === state.me.id) return "You";
    const a = state.agents.get(id);
    return a ? a.name : `Agent #${id}`;
  }

  function customerLabel(cust) {
    if (cust.name) return cust.name;
    const email = cust.identities.find((i) => i.kind === "email" && i.links);
    return email ? email.value : "Anonymous visitor";
  }

  function queueCustomer(item) {
    if (item.customer) return item.customer;
    return item.last_channel === "chat" ? "Chat visitor" : "Unnamed customer";
  }

  function renderConversation(detail, switching) {
    const c = detail.conversation;
    const customerName = customerLabel(detail.customer);
    $("conv-subject").textContent = c.subject || firstLine(lastInbound(detail)) || `Conversation #${c.id}`;
    $("conv-customer").textContent = customerName;
    const ch = $("conv-channel");
    clear(ch);
    ch.append(channelBadge(c.channel));
    const st = $("conv-status");
    st.textContent = STATUS_LABELS[c.status] || c.status;
    st.className = `badge st st-${c.status}`;
    $("conv-assignee").textContent = c.assignee_id ? `Assigned to ${agentName(c.assignee_id)}` : "Unassigned";
    const inc = $("conv-incident");  // part of an incident: answer everyone at once on the insights page
    inc.hidden = !detail.incident;
    if (detail.incident) {
      inc.textContent = `${detail.incident.customers} customers report this`;
      inc.href = `/console/insights#incident-${detail.incident.id}`;
    }

    const mineNow = c.assignee_id === (state.me && state.me.id);
    const open = OPEN.has(c.status);
    $("act-takeover").disabled = !open || mineNow;
    $("act-handback").disabled = !open || !c.assignee_id;
    $("act-resolve").disabled = !open;
    $("act-reopen").disabled = open;
    $("act-assign").disabled = !open;
    fillAssign(c.assignee_id);

    renderTimeline(detail, switching);
    watchDeliveries(detail);
    renderCustomer(detail.customer);
    renderClassification(detail.classification, c);
    fillChannels(detail);
  }

  // Outbox deliveries change no conversation (no socket event): re-check while any reply is still pending.
  let deliveryTimer = null;
  function watchDeliveries(detail) {
    clearTimeout(deliveryTimer);
    const pending = detail.timeline.some((m) => m.direction === "out" && m.delivery === "pending");
    if (!pending) return;
    const id = detail.conversation.id;
    deliveryTimer = setTimeout(() => { if (state.currentId === id) openConversation(id); }, 2000);
  }

  function lastInbound(detail) {
    const msgs = detail.timeline.filter((m) => m.direction === "in");
    return msgs.length ? msgs[msgs.length - 1].text : "";
  }

  function authorLabel(m, detail) {
    if (m.author_kind === "customer") return detail.customer.name || "Customer";
    if (m.author_kind === "ai") return "AI assistant";
    if (m.author_kind === "agent") return agentName(m.author_id) || "Agent";
    return "System";
  }

  function renderTimeline(detail, switching) {
    const list = $("timeline");
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    clear(list);
    for (const m of detail.timeline) list.append(timelineItem(m, detail));
    if (!detail.timeline.length) list.append(el("li", { class: "muted center-note", text: "No messages yet." }));
    if (switching || nearBottom) list.scrollTop = list.scrollHeight;
  }

  function timelineItem(m, detail) {
    const isNote = m.direction === "internal" && m.reply_kind !== "suggestion";
    const isDraft = m.reply_kind === "suggestion";
    const side = m.direction === "in" ? "in" : isNote || isDraft ? "aside" : "out";
    const cls = ["msg", `msg-${side}`, `by-${m.author_kind}`];
    if (isNote) cls.push("msg-note");
    if (isDraft) cls.push("msg-draft");
    const head = el("div", { class: "msg-head" },
      el("span", { class: "msg-author", text: authorLabel(m, detail) }),
      m.author_kind === "ai" ? el("span", { class: "badge ai", text: "AI" }) : null,
      channelBadge(m.channel),
      m.reply_kind && !isDraft && m.reply_kind !== "answer" ? el("span", { class: "badge kind", text: m.reply_kind }) : null,
      el("time", { class: "msg-time", datetime: m.created_at, title: new Date(m.created_at).toLocaleString(),
        text: clock(m.created_at) }));
    const item = el("li", { class: cls.join(" "), "data-seq": m.seq, "data-direction": m.direction }, head);
    if (isNote) item.append(el("p", { class: "note-label", text: "Internal note — never sent" }));
    if (isDraft) item.append(el("p", { class: "note-label", text: "AI draft for an agent — not sent" }));
    if (m.subject && m.direction === "in" && m.channel === "email") {
      item.append(el("p", { class: "msg-subject", text: `Subject: ${m.subject}` }));
    }
    item.append(el("div", { class: "msg-text", text: m.deleted_at ? "(deleted by the customer)" : m.text }));
    if (m.edited_at) item.append(el("p", { class: "muted small", text: "edited" }));
    const sources = Array.isArray(m.sources) ? m.sources : [];
    if (sources.length && m.direction !== "in") {
      item.append(el("p", { class: "msg-sources small" }, "Sources: ",
        ...sources.map((s, i) => el("span", { class: "src-chip", text: `${i + 1}. ${s.title || s.id}` }))));
    }
    if (window.SwitchboardAttachments) item.append(window.SwitchboardAttachments.list(m) || "");
    if (m.direction === "out" && m.delivery) {
      const label = { sent: "Delivered", pending: "Sending…", failed: "Failed" }[m.delivery] || m.delivery;
      item.append(el("p", { class: `delivery delivery-${m.delivery}` }, label,
        m.delivery === "failed" && m.delivery_error ? el("span", { class: "delivery-error", text: `: ${m.delivery_error}` })
          : null));
    }
    if (isDraft) {
      item.append(el("button", { type: "button", class: "btn btn-sm", text: "Use this draft",
        onclick: () => { setMode("reply"); $("editor").value = m.text; onEditorInput(); $("editor").focus(); } }));
    }
    return item;
  }

  async function loadHandoff(id) {
    const box = $("handoff");
    try {
      const data = await api(`${API}/conversations/${id}/handoff`);
      if (state.currentId !== id) return;
      const h = data.handoff;
      box.hidden = !h;
      if (!h) return;
      const dl = $("handoff-fields");
      clear(dl);
      const row = (term, value) => { if (value) dl.append(el("dt", { text: term }), el("dd", { text: value })); };
      row("Why escalated", h.reason);
      row("Customer reported", h.reported);
      row("Already tried", (h.tried || []).join(" · ") || "nothing yet");
      row("Likely cause", h.likely_cause);
      if (h.sources && h.sources.length) row("Sources", h.sources.map((s) => s.title || s.id).join(" · "));
      $("handoff-text").textContent = h.summary || "";
      $("handoff-full").hidden = !h.summary;
    } catch (err) {
      box.hidden = true;
    }
  }

  // ---------------------------------------------------------------- customer + context panels
  function renderCustomer(cust) {
    $("cust-name").textContent = customerLabel(cust);
    document.dispatchEvent(new CustomEvent("sb:customer", { detail: cust }));  // customer_attributes.js
    const ids = $("identities");
    clear(ids);
    for (const i of cust.identities) {
      let trust, label;
      if (i.links && i.verified) { trust = "verified"; label = "Verified link"; }
      else if (i.links) { trust = "linked"; label = "Linked (not verified)"; }
      else { trust = "claim"; label = "Unverified claim"; }
      ids.append(el("li", { class: `ident ident-${trust}` },
        el("span", { class: "ident-kind", text: identityKind(i.kind) }),
        el("span", { class: "ident-value", text: i.value }),
        el("span", { class: `trust trust-${trust}`, text: label }),
        el("span", { class: "muted small", text: `via ${i.source.replace(/_/g, " ")} · ${ago(i.created_at)}` })));
    }
    if (!cust.identities.length) ids.append(el("li", { class: "muted small", text: "No identities." }));
    const merges = $("merges");
    clear(merges);
    for (const mg of cust.merges) {
      merges.append(el("li", { class: "small" },
        `#${mg.source_customer_id} → #${mg.target_customer_id} by ${mg.claim_source.replace(/_/g, " ")}`,
        el("span", { class: "muted", text: ` (${mg.reason}; ${mg.actor}, ${ago(mg.created_at)})` }),
        mg.undone_at ? el("span", { class: "badge", text: "undone" }) : null));
    }
    if (!cust.merges.length) merges.append(el("li", { class: "muted small", text: "None." }));
    const past = $("past");
    clear(past);
    for (const p of cust.past_conversations) {
      past.append(el("li", {},
        el("a", { href: `#/c/${p.id}`, class: "past-link", text: p.subject || `Conversation #${p.id}` }),
        el("span", { class: "past-meta" }, channelBadge(p.last_channel),
          el("span", { class: `badge st st-${p.status}`, text: STATUS_LABELS[p.status] || p.status }),
          p.category ? el("span", { class: "muted small", text: p.category }) : null,
          el("span", { class: "muted small", text: ago(p.created_at) }))));
    }
    if (!cust.past_conversations.length) past.append(el("li", { class: "muted small", text: "None." }));
  }

  function identityKind(kind) {
    return { email: "Email", slack_user: "Slack", chat_visitor: "Chat visitor", external: "External" }[kind] || kind;
  }

  function renderClassification(cls, conv) {
    const dl = $("cls");
    clear(dl);
    const row = (term, value, conf) => dl.append(el("dt", { text: term }),
      el("dd", {}, el("span", { text: value || "—" }),
        conf !== undefined && conf !== null ? confBar(conf) : null));
    row("Category", conv.category || (cls && cls.category), cls && cls.category_confidence);
    row("Urgency", conv.urgency || (cls && cls.urgency), cls && cls.urgency_confidence);
    row("Sentiment", conv.sentiment || (cls && cls.sentiment), cls && cls.sentiment_confidence);
    if (cls && cls.language) row("Language", cls.language, cls.language_confidence);
    const cat = $("cls-category");
    clear(cat);
    const current = conv.category || (cls && cls.category) || "";
    const cats = state.categories.includes(current) || !current ? state.categories : [current, ...state.categories];
    for (const c of cats) cat.append(el("option", { value: c, text: c.replace(/_/g, " "), selected: c === current }));
    $("cls-urgency").value = conv.urgency || (cls && cls.urgency) || "medium";
    $("cls-save").disabled = !cls;
    $("cls-form").title = cls ? "" : "No classification yet";
  }

  function confBar(conf) {
    return el("span", { class: "conf", title: `confidence ${pct(conf)}` },
      el("span", { class: "conf-track" }, el("span", { class: `conf-fill w${Math.round(conf * 10)}` })),
      el("span", { class: "conf-num", text: pct(conf) }));
  }

  function fillAssign(assignee) {
    const sel = $("assign-select");
    const prev = sel.value;
    clear(sel);
    for (const a of state.agents.values()) {
      const label = `${a.name}${a.id === state.me.id ? " (you)" : ""}${a.available ? "" : " — away"}`;
      sel.append(el("option", { value: a.id, text: label }));
    }
    sel.value = prev || String(assignee || state.me.id);
  }

  function fillChannels(detail) {
    const sel = $("reply-channel");
    const prev = sel.value;
    const chans = new Set([detail.conversation.channel]);
    for (const m of detail.timeline) if (m.direction === "in" && m.channel !== "api") chans.add(m.channel);
    clear(sel);
    for (const c of chans) sel.append(el("option", { value: c, text: CHANNEL_LABELS[c] || c }));
    sel.value = chans.has(prev) ? prev : detail.conversation.channel;
  }

  // ---------------------------------------------------------------- composer
  function mode() { return $("mode-note").checked ? "note" : "reply"; }

  function setMode(m) {
    $(m === "note" ? "mode-note" : "mode-reply").checked = true;
    onModeChange();
  }

  function onModeChange() {
    const note = mode() === "note";
    $("send").hidden = note;
    $("send-note").hidden = !note;
    $("editor").classList.toggle("editor-note", note);
    $("editor").placeholder = note ? "Internal note for your team — never sent to the customer"
      : "Write a reply, or press “Suggest reply”…";
    $("reply-channel").disabled = note;
    updatePreview();
  }

  function resetComposer() {
    if (state.suggestion && state.suggestion.streaming) cancelSuggestion();
    state.suggestion = null;
    $("editor").value = "";
    setMode("reply");
    renderSuggestionState();
    renderSources([]);
  }

  function onEditorInput() { updatePreviewSoon(); }

  // -------- suggestions (streamed over the socket)
  function suggest() {
    if (!state.currentId || !state.socket) return;
    if (state.suggestion && state.suggestion.streaming) cancelSuggestion();
    const cid = state.currentId;
    setMode("reply");
    $("editor").value = "";
    state.suggestion = { requestId: null, id: null, streaming: true, text: "", sources: [], cid, error: null, chunks: 0 };
    $("suggest-status").dataset.chunks = "0";
    renderSources([]);
    renderSuggestionState();
    const pending = state.suggestion;
    state.socket.timeout(30000).emit("suggest", { conversation_id: cid }, (err, ack) => {
      if (state.suggestion !== pending) return;
      if (err || !ack || !ack.ok) {
        pending.streaming = false;
        pending.error = err ? "the suggestion service did not answer" : (ack && ack.error && ack.error.message) || "failed";
        renderSuggestionState();
        return;
      }
      pending.requestId = ack.request_id;
      // chunks that raced ahead of the ack were parked by request id
      const early = parked.get(ack.request_id) || [];
      parked.delete(ack.request_id);
      early.forEach(onSuggestion);
    });
  }

  const parked = new Map();
  function onSuggestion(ev) {
    const s = state.suggestion;
    if (!s || !s.streaming) return;
    if (s.requestId === null) {
      if (ev.conversation_id === s.cid) {
        if (!parked.has(ev.request_id)) parked.set(ev.request_id, []);
        parked.get(ev.request_id).push(ev);
      }
      return;
    }
    if (ev.request_id !== s.requestId) return;
    if (!ev.done) {
      const editor = $("editor");
      s.chunks = (s.chunks || 0) + 1;
      $("suggest-status").dataset.chunks = String(s.chunks); // how many streamed pieces arrived (tests read it)
      s.text += ev.text;
      editor.value += ev.text;
      editor.scrollTop = editor.scrollHeight;
      if (ev.source && !s.sources.some((x) => x.id === ev.source.id)) {
        s.sources.push(ev.source);
        renderSources(s.sources);
      }
      renderSuggestionState();
      updatePreviewSoon();
      return;
    }
    s.streaming = false;
    if (ev.cancelled) s.cancelled = true;
    else if (ev.error) s.error = ev.error;
    else {
      s.id = ev.suggestion_id;
      s.sources = ev.sources || s.sources;
      renderSources(s.sources);
      if (!s.text.trim()) s.error = "no draft this time: nothing relevant in the knowledge base";
    }
    renderSuggestionState();
    updatePreview();
  }

  function cancelSuggestion() {
    const s = state.suggestion;
    if (!s || !s.streaming) return;
    if (s.requestId && state.socket) state.socket.emit("cancel", { request_id: s.requestId });
    s.streaming = false;
    s.cancelled = true;
    renderSuggestionState();
  }

  async function discardSuggestion() {
    const s = state.suggestion;
    if (!s) return;
    if (s.streaming) cancelSuggestion();
    if (s.id) {
      try { await api(`${API}/suggestions/${s.id}/discard`, { method: "POST" }); } catch (err) {
        if (err.status !== 404) flash(`Could not discard: ${err.message}`, "error");
      }
    }
    state.suggestion = null;
    $("editor").value = "";
    renderSuggestionState();
    renderSources([]);
    updatePreview();
    flash("Suggestion discarded.");
  }

  function sourceSummary(sources) {
    const kb = sources.filter((x) => x.kind !== "conversation");
    const conv = sources.filter((x) => x.kind === "conversation");
    const parts = [];
    if (kb.length === 1) parts.push(`KB article “${kb[0].title || kb[0].id}”`);
    else if (kb.length > 1) parts.push(`${kb.length} KB articles (“${kb[0].title || kb[0].id}”, …)`);
    if (conv.length) parts.push(`${conv.length} similar resolved conversation${conv.length > 1 ? "s" : ""}`);
    return parts.length ? `Based on ${parts.join(" and ")}` : "No sources";
  }

  function renderSuggestionState() {
    const s = state.suggestion;
    const box = $("suggest-status");
    clear(box);
    box.className = "suggest-status";
    $("suggest").textContent = s && !s.streaming ? "Regenerate" : "Suggest reply";
    $("suggest").disabled = Boolean(s && s.streaming);
    $("suggest-cancel").hidden = !(s && s.streaming);
    $("suggest-discard").hidden = !(s && !s.streaming && (s.id || s.text));
    if (!s) return;
    box.classList.add("active");
    if (s.streaming) {
      box.append(el("span", { class: "spinner", "aria-hidden": "true" }),
        el("span", { text: s.sources.length ? `Writing… ${sourceSummary(s.sources)}` : "Writing a suggestion…" }));
    } else if (s.error) {
      box.classList.add("warn");
      box.append(el("span", { text: `No suggestion: ${s.error}` }));
    } else if (s.cancelled) {
      box.append(el("span", { text: "Stopped. Edit the partial draft, regenerate or discard it." }));
    } else {
      box.classList.add("done");
      box.append(el("span", { class: "badge ai", text: "AI draft" }),
        el("span", { id: "suggest-sources-line", text: `${sourceSummary(s.sources)}. Review and edit before sending.` }));
    }
  }

  function renderSources(sources) {
    const kb = sources.filter((x) => x.kind !== "conversation");
    const conv = sources.filter((x) => x.kind === "conversation");
    $("src-empty").hidden = sources.length > 0;
    $("kb-title").hidden = !kb.length;
    $("conv-src-title").hidden = !conv.length;
    const fill = (list, items) => {
      clear(list);
      for (const s of items) {
        const convId = s.kind === "conversation" ? String(s.id).replace(/^conversation:/, "") : null;
        const title = convId && /^\d+$/.test(convId)
          ? el("a", { href: `#/c/${convId}`, class: "src-title", text: s.title || s.id })
          : el("span", { class: "src-title", text: s.title || s.id });
        list.append(el("li", { class: "source" }, el("span", { class: "src-head" }, title,
          typeof s.score === "number" ? el("span", { class: "score", text: s.score.toFixed(2) }) : null),
          s.snippet ? el("span", { class: "src-snippet", text: s.snippet }) : null));
      }
    };
    fill($("kb-sources"), kb);
    fill($("conv-sources"), conv);
  }

  // -------- preview
  let previewSeq = 0;
  async function updatePreview() {
    const box = $("preview");
    const text = $("editor").value;
    const channel = $("reply-channel").value;
    $("pv-channel").textContent = channel ? `on ${CHANNEL_LABELS[channel] || channel}` : "";
    const mine = ++previewSeq;
    if (mode() === "note") {
      clear(box);
      box.append(el("p", { class: "muted small", text: "Internal notes are only seen by your team." }));
      return;
    }
    if (!state.currentId || !text.trim()) {
      clear(box);
      box.append(el("p", { class: "muted small", text: "Type a reply to see how it will look to the customer." }));
      return;
    }
    const qs = new URLSearchParams({ text, channel });
    let data;
    try { data = await api(`${API}/conversations/${state.currentId}/preview?${qs}`); } catch (err) { return; }
    if (mine !== previewSeq) return;
    clear(box);
    box.append(renderPayload(data.channel, data.payload));
  }
  const updatePreviewSoon = debounce(updatePreview, 250);

  function renderPayload(channel, payload) {
    if (!payload) return el("p", { class: "muted small", text: "No preview for this channel." });
    if (channel === "email") {
      return el("div", { class: "pv-email" },
        el("div", { class: "pv-email-head" }, el("span", { class: "muted", text: "Subject" }),
          el("strong", { class: "pv-subject", text: payload.subject || "" })),
        el("pre", { class: "pv-email-body", text: payload.text || "" }));
    }
    if (channel === "slack") {
      const wrap = el("div", { class: "pv-slack" },
        el("div", { class: "pv-slack-who" }, el("span", { class: "pv-avatar", "aria-hidden": "true", text: "S" }),
          el("strong", { text: "Support" }), el("span", { class: "badge", text: "APP" })));
      for (const block of payload.blocks || []) {
        if (block.type === "section" && block.text) wrap.append(el("div", { class: "pv-slack-section", text: block.text.text }));
        else if (block.type === "context") {
          wrap.append(el("div", { class: "pv-slack-context",
            text: (block.elements || []).map((e) => e.text || "").join("  ") }));
        } else if (block.type === "actions") {
          wrap.append(el("div", { class: "pv-slack-actions" }, ...(block.elements || []).map((e) =>
            el("span", { class: "pv-slack-button", text: (e.text && e.text.text) || e.action_id }))));
        } else if (block.type === "divider") wrap.append(el("hr"));
      }
      return wrap;
    }
    if (channel === "chat") {
      const wrap = el("div", { class: "pv-chat" });
      for (const part of payload.parts || [{ text: payload.text }]) {
        wrap.append(el("div", { class: "pv-bubble", text: part.text }));
      }
      if (payload.sources && payload.sources.length) {
        wrap.append(el("div", { class: "pv-chat-sources small" }, "Sources: ",
          ...payload.sources.map((s) => el("span", { class: "src-chip", text: `${s.n}. ${s.title}` }))));
      }
      return wrap;
    }
    if (channel === "webform") {
      const json = payload.json || {};
      return el("div", { class: "pv-form" }, el("p", { class: "muted small", text: "Shown on the form's status page and by email:" }),
        el("pre", { class: "pv-email-body", text: json.text || "" }));
    }
    return el("pre", { class: "pv-email-body", text: JSON.stringify(payload, null, 2) });
  }

  // -------- sending
  async function send() {
    const cid = state.currentId;
    const text = $("editor").value;
    if (!cid || !text.trim()) { $("editor").focus(); return; }
    const body = { text, channel: $("reply-channel").value || undefined };
    const s = state.suggestion;
    if (s && s.id && !s.streaming) body.suggestion_id = s.id;
    const files = window.SwitchboardAttachments ? window.SwitchboardAttachments.pendingIds(cid) : [];
    if (files.length) body.attachment_ids = files;
    $("send").disabled = true;
    try {
      const res = await api(`${API}/conversations/${cid}/reply`, { method: "POST", body });
      state.suggestion = null;
      $("editor").value = "";
      if (window.SwitchboardAttachments) window.SwitchboardAttachments.sent(cid);
      renderSuggestionState();
      renderSources([]);
      updatePreview();
      flash(res.suggestion ? `Sent (suggestion ${res.suggestion}).` : "Sent.");
      await openConversation(cid, { keepDraft: true });
    } catch (err) {
      flash(`Not sent: ${err.message}`, "error");
    } finally {
      $("send").disabled = false;
    }
  }

  async function addNote() {
    const cid = state.currentId;
    const text = $("editor").value;
    if (!cid || !text.trim()) { $("editor").focus(); return; }
    $("send-note").disabled = true;
    try {
      await api(`${API}/conversations/${cid}/note`, { method: "POST", body: { text } });
      $("editor").value = "";
      flash("Internal note added.");
      await openConversation(cid, { keepDraft: true });
    } catch (err) {
      flash(`Note not saved: ${err.message}`, "error");
    } finally {
      $("send-note").disabled = false;
    }
  }

  async function act(action, body, done) {
    const cid = state.currentId;
    if (!cid) return;
    try {
      await api(`${API}/conversations/${cid}/${action}`, { method: "POST", body });
      flash(done);
      await openConversation(cid, { keepDraft: true });
      refreshQueueSoon();
    } catch (err) {
      flash(`${err.message}`, "error");
    }
  }

  async function saveClassification(ev) {
    ev.preventDefault();
    const cid = state.currentId;
    if (!cid) return;
    try {
      const res = await api(`${API}/conversations/${cid}/classification`, {
        method: "POST", body: { category: $("cls-category").value, urgency: $("cls-urgency").value },
      });
      flash(`Correction recorded (${Object.entries(res.changed).map(([k, v]) => `${k}: ${v}`).join(", ")}).`);
      await openConversation(cid, { keepDraft: true });
    } catch (err) {
      flash(`Correction not saved: ${err.message}`, "error");
    }
  }

  // ---------------------------------------------------------------- admin (agents, settings, SLA)
  // The server checks the role on every call; hiding the view from others only keeps the UI honest.
  const ADMIN_API = `${API}/admin`;
  const ROLES = ["agent", "lead", "admin"];
  const URGENCIES = ["critical", "high", "medium", "low"];
  const THRESHOLDS = ["auto_resolve", "suggest", "retrieval_min"];

  function isAdmin() { return Boolean(state.me && state.me.role === "admin"); }

  function adminFlash(message, kind = "info") {
    const node = $("admin-flash");
    node.textContent = message;
    node.dataset.kind = kind;
    node.hidden = false;
    clearTimeout(adminFlash.timer);
    adminFlash.timer = setTimeout(() => { node.hidden = true; }, kind === "error" ? 10000 : 5000);
  }

  function adminError(prefix, err) {
    const field = err.body && err.body.error && err.body.error.field;
    adminFlash(`${prefix}: ${err.message}${field ? ` (${field})` : ""}`, "error");
  }

  function csv(text) { return text.split(",").map((x) => x.trim()).filter(Boolean); }

  function options(values, selected) {
    return values.map((v) => el("option", { value: v, text: v, selected: v === selected }));
  }

  async function showAdmin() {
    state.currentId = null;
    showPane("admin");
    renderQueue();
    document.dispatchEvent(new CustomEvent("sb:admin"));  // admin_ops.js: import, teams, paths
    await Promise.all([loadAdminAgents(), loadAdminSettings(), loadAdminSla()]);
  }

  async function loadAdminAgents() {
    const body = $("adm-agents-body");
    try {
      const data = await api(`${ADMIN_API}/agents`);
      clear(body);
      for (const a of data.agents) body.append(agentRow(a));
    } catch (err) { adminError("Could not load agents", err); }
  }

  function agentRow(a) {
    const who = a.name;
    const role = el("select", { class: "select select-sm", "aria-label": `Role of ${who}` }, ...options(ROLES, a.role));
    const skills = el("input", { type: "text", class: "admin-input", value: a.skills.join(", "),
      "aria-label": `Skills of ${who}` });
    const load = el("input", { type: "number", class: "admin-input admin-num", min: 0, max: 100, value: a.max_load,
      "aria-label": `Max load of ${who}` });
    const avail = el("input", { type: "checkbox", checked: a.available, "aria-label": `${who} is available` });
    const save = el("button", { type: "button", class: "btn btn-sm", text: "Save", "aria-label": `Save ${who}` });
    const row = el("tr", { "data-agent-id": a.id },
      el("td", { text: a.name }), el("td", { class: "muted", text: a.email }), el("td", {}, role),
      el("td", {}, skills), el("td", {}, load), el("td", {}, avail), el("td", {}, save));
    save.addEventListener("click", async () => {
      const changes = {};
      if (role.value !== a.role) changes.role = role.value;
      const newSkills = csv(skills.value.toLowerCase());
      if (newSkills.join(",") !== a.skills.join(",")) changes.skills = newSkills;
      if (Number(load.value) !== a.max_load) changes.max_load = Number(load.value);
      if (avail.checked !== a.available) changes.available = avail.checked;
      if (!Object.keys(changes).length) { adminFlash(`No changes for ${who}.`); return; }
      save.disabled = true;
      try {
        const res = await api(`${ADMIN_API}/agents/${a.id}`, { method: "PATCH", body: changes });
        row.replaceWith(agentRow(res.agent));
        state.agents.set(res.agent.id, res.agent);
        const moved = res.requeued.length ? ` ${res.requeued.length} conversation(s) went back to the queue.` : "";
        adminFlash(`Saved ${res.agent.name}.${moved}`);
      } catch (err) {
        adminError(`Not saved (${who})`, err);
        save.disabled = false;
      }
    });
    return row;
  }

  async function createAgent(ev) {
    ev.preventDefault();
    const body = {
      email: $("adm-new-email").value.trim(), name: $("adm-new-name").value.trim(), role: $("adm-new-role").value,
      skills: csv($("adm-new-skills").value.toLowerCase()), max_load: Number($("adm-new-load").value),
      password: $("adm-new-password").value,
    };
    $("adm-new-submit").disabled = true;
    try {
      const res = await api(`${ADMIN_API}/agents`, { method: "POST", body });
      $("adm-agents-body").append(agentRow(res.agent));
      state.agents.set(res.agent.id, res.agent);
      $("adm-agent-form").reset();
      adminFlash(`Created ${res.agent.name}; they can sign in with the initial password.`);
    } catch (err) {
      adminError("Agent not created", err);
    } finally {
      $("adm-new-submit").disabled = false;
    }
  }

  function ruleItem(rule, i) {
    const id = `adm-rule-${i}-${Math.random().toString(36).slice(2, 8)}`;
    const item = el("li", { class: "admin-rule" },
      el("label", { for: `${id}-name`, text: "Name" }),
      el("input", { id: `${id}-name`, type: "text", class: "admin-input", "data-k": "name", value: rule.name || "",
        maxlength: 80 }),
      el("label", { for: `${id}-pattern`, text: "Pattern (regular expression)" }),
      el("input", { id: `${id}-pattern`, type: "text", class: "admin-input", "data-k": "pattern",
        value: rule.pattern || "", maxlength: 200 }),
      el("label", { for: `${id}-action`, text: "Action" }),
      el("select", { id: `${id}-action`, class: "select select-sm", "data-k": "action" },
        ...options(["handoff", "critical"], rule.action || "handoff")));
    item.append(el("button", { type: "button", class: "btn btn-sm btn-ghost", text: "Remove",
      "aria-label": `Remove safety rule ${rule.name || i + 1}`, onclick: () => item.remove() }));
    return item;
  }

  async function loadAdminSettings() {
    try {
      const { settings } = await api(`${ADMIN_API}/settings`);
      $("adm-categories").value = settings.categories.join(", ");
      for (const k of THRESHOLDS) $(`adm-th-${k}`).value = settings.thresholds[k] ?? "";
      $("adm-reopen").value = settings.reopen_window_hours;
      const rules = $("adm-rules");
      clear(rules);
      settings.safety_rules.forEach((r, i) => rules.append(ruleItem(r, i)));
    } catch (err) { adminError("Could not load settings", err); }
  }

  async function saveSettings(ev) {
    ev.preventDefault();
    const thresholds = {};
    for (const k of THRESHOLDS) {
      const raw = $(`adm-th-${k}`).value;
      if (raw !== "") thresholds[k] = Number(raw);
    }
    const rules = [...$("adm-rules").children].map((li) => {
      const get = (k) => li.querySelector(`[data-k="${k}"]`).value;
      return { name: get("name"), pattern: get("pattern"), action: get("action") };
    });
    const body = { categories: csv($("adm-categories").value.toLowerCase()), thresholds,
      reopen_window_hours: Number($("adm-reopen").value), safety_rules: rules };
    try {
      const res = await api(`${ADMIN_API}/settings`, { method: "PATCH", body });
      state.categories = res.settings.categories;
      await loadAdminSettings();
      adminFlash("Settings saved.");
    } catch (err) { adminError("Settings not saved", err); }
  }

  function slaRow(p) {
    const label = () => `${urgency.value} × ${tier.value || "standard"}`;
    const urgency = el("select", { class: "select select-sm", "data-k": "urgency", "aria-label": "SLA urgency" },
      ...options(URGENCIES, p.urgency));
    const tier = el("input", { type: "text", class: "admin-input", "data-k": "tier", value: p.tier || "standard",
      "aria-label": "SLA tier" });
    const first = el("input", { type: "number", class: "admin-input admin-num", min: 1, "data-k": "first",
      value: p.first_response_minutes || "", "aria-label": "SLA first response minutes" });
    const resolution = el("input", { type: "number", class: "admin-input admin-num", min: 1, "data-k": "resolution",
      value: p.resolution_minutes || "", "aria-label": "SLA resolution minutes" });
    const bh = el("input", { type: "checkbox", "data-k": "business_hours", checked: Boolean(p.business_hours),
      "aria-label": "SLA counts business hours only" });
    const row = el("tr", {}, el("td", {}, urgency), el("td", {}, tier), el("td", {}, first),
      el("td", {}, resolution), el("td", {}, bh));
    row.append(el("td", {}, el("button", { type: "button", class: "btn btn-sm btn-ghost", text: "Remove",
      "aria-label": `Remove policy ${label()}`, onclick: () => row.remove() })));
    return row;
  }

  async function loadAdminSla() {
    try {
      const data = await api(`${ADMIN_API}/sla-policies`);
      const body = $("adm-sla-body");
      clear(body);
      for (const p of data.policies) body.append(slaRow(p));
    } catch (err) { adminError("Could not load SLA policies", err); }
  }

  async function saveSla(ev) {
    ev.preventDefault();
    const policies = [...$("adm-sla-body").children].map((tr) => {
      const get = (k) => tr.querySelector(`[data-k="${k}"]`);
      return { urgency: get("urgency").value, tier: get("tier").value.trim() || "standard",
        first_response_minutes: Number(get("first").value), resolution_minutes: Number(get("resolution").value),
        business_hours: get("business_hours").checked };
    });
    try {
      const data = await api(`${ADMIN_API}/sla-policies`, { method: "PUT", body: { policies } });
      const body = $("adm-sla-body");
      clear(body);
      for (const p of data.policies) body.append(slaRow(p));
      adminFlash("SLA policies saved.");
    } catch (err) { adminError("SLA policies not saved", err); }
  }

  function wireAdmin() {
    $("nav-admin").hidden = !isAdmin();
    if (!isAdmin()) return;
    $("adm-agent-form").addEventListener("submit", createAgent);
    $("adm-settings-form").addEventListener("submit", saveSettings);
    $("adm-rule-add").addEventListener("click", () => {
      const rules = $("adm-rules");
      const item = ruleItem({}, rules.children.length);
      rules.append(item);
      item.querySelector("input").focus();
    });
    $("adm-sla-form").addEventListener("submit", saveSla);
    $("adm-sla-add").addEventListener("click", () => {
      const row = slaRow({ urgency: "medium", tier: "standard" });
      $("adm-sla-body").append(row);
      row.querySelector("select").focus();
    });
  }

  // ---------------------------------------------------------------- socket
  function connectSocket() {
    if (typeof io !== "function") {
      setLive("off", "Live updates unavailable");
      return;
    }
    const socket = io("/copilot", { withCredentials: true });
    state.socket = socket;
    socket.on("connect", () => { setLive("on", "Live"); refreshQueueSoon(); });
    socket.on("disconnect", () => setLive("off", "Reconnecting…"));
    socket.on("connect_error", () => setLive("off", "Offline — retrying"));
    socket.on("conversation", (ev) => {
      refreshQueueSoon();
      if (ev && ev.id === state.currentId) reloadCurrentSoon();
    });
    socket.on("suggestion", onSuggestion);
  }

  function setLive(stateName, label) {
    const node = $("live");
    node.dataset.state = stateName;
    node.textContent = label;
  }

  // ---------------------------------------------------------------- keyboard
  function onKey(ev) {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName);
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && ev.target.id === "editor") {
      ev.preventDefault();
      if (mode() === "note") addNote(); else send();
      return;
    }
    if (ev.key === "Escape" && state.suggestion && state.suggestion.streaming) { cancelSuggestion(); return; }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "j" || ev.key === "k") {
      const ids = state.queue.map((i) => i.id);
      if (!ids.length) return;
      const at = ids.indexOf(state.currentId);
      const next = ev.key === "j" ? Math.min(at + 1, ids.length - 1) : Math.max(at - 1, 0);
      window.location.hash = `#/c/${ids[at === -1 ? 0 : next]}`;
    } else if (ev.key === "r" && state.currentId) {
      ev.preventDefault();
      $("editor").focus();
    }
  }

  // ---------------------------------------------------------------- boot
  async function boot() {
    let me;
    try { me = await api(`${API}/me`); } catch (err) { return; }
    state.me = me.agent;
    state.csrf = me.csrf;
    state.categories = me.categories || [];
    $("tenant-name").textContent = me.agent.tenant;
    $("me-name").textContent = me.agent.name;
    try {
      const list = await api(`${API}/agents`);
      for (const a of list.agents) state.agents.set(a.id, a);
    } catch (err) { state.agents.set(me.agent.id, { id: me.agent.id, name: me.agent.name, available: true }); }

    if (!VIEWS.some(([k]) => k === state.view)) state.view = "mine";
    renderTabs();
    $("logout").addEventListener("click", logout);
    $("suggest").addEventListener("click", suggest);
    $("suggest-cancel").addEventListener("click", cancelSuggestion);
    $("suggest-discard").addEventListener("click", discardSuggestion);
    $("send").addEventListener("click", send);
    if (window.SwitchboardAttachments) window.SwitchboardAttachments.bind(() => ({ cid: state.currentId, csrf: state.csrf }));
    $("send-note").addEventListener("click", addNote);
    $("editor").addEventListener("input", onEditorInput);
    $("reply-channel").addEventListener("change", updatePreview);
    $("mode-reply").addEventListener("change", onModeChange);
    $("mode-note").addEventListener("change", onModeChange);
    $("act-takeover").addEventListener("click", () => act("takeover", {}, "You took over the conversation."));
    $("act-handback").addEventListener("click", () => act("handback", {}, "Handed back to the AI."));
    $("act-resolve").addEventListener("click", () => act("resolve", {}, "Resolved."));
    $("act-reopen").addEventListener("click", () => act("reopen", {}, "Reopened and assigned to you."));
    $("act-assign").addEventListener("click", () => {
      const id = Number($("assign-select").value);
      act("assign", { agent_id: id }, `Assigned to ${agentName(id)}.`);
    });
    $("cls-form").addEventListener("submit", saveClassification);
    wireAdmin();
    document.addEventListener("keydown", onKey);
    window.addEventListener("hashchange", route);
    setInterval(renderQueue, 60000); // SLA countdowns
    connectSocket();
    await refreshQueue();
    route();
  }

  async function logout() {
    try { await api("/console/logout", { method: "POST" }); } catch (err) { /* the session is gone either way */ }
    window.location.assign("/console/login");
  }

  boot();
})();
