// Incidents and KB gaps page: answer an incident's customers at once; turn a gap topic into a KB draft.
(function () {
  "use strict";
  const { api } = window.SwitchboardPageApi;  // page_api.js
  const $ = (id) => document.getElementById(id);

  function flash(text, kind) {
    const el = $("flash");
    el.textContent = text;
    el.hidden = !text;
    if (kind) el.dataset.kind = kind; else delete el.dataset.kind;
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function list(items) {
    const ul = el("ul", { class: "insight-points" });
    for (const text of items) ul.appendChild(el("li", {}, text));
    return ul;
  }

  async function incidentItem(inc) {
    const li = el("li", { class: "insight", id: `incident-${inc.id}`, "data-status": inc.status });
    li.appendChild(el("h3", {}, inc.title));
    li.appendChild(el("p", { class: "insight-meta" },
      `${inc.customers} customers report this · ${inc.status} · since ${new Date(inc.created_at).toLocaleString()}`));
    const detail = await api(`/console/api/incidents/${inc.id}`);
    const convs = el("ul", { class: "insight-points" });
    for (const c of detail.conversations) {
      const item = el("li");
      item.appendChild(el("a", { href: `/console#/c/${c.id}` }, `#${c.id}`));
      item.append(` ${c.channel} · ${c.customer || "customer"} · ${c.status}`);
      convs.appendChild(item);
    }
    li.appendChild(convs);
    if (inc.status === "open") {
      const form = el("form", { class: "admin-form", "aria-label": `Answer incident ${inc.id}` });
      const label = el("label", { for: `answer-${inc.id}` }, "One answer for everyone (each on their own channel)");
      const box = el("textarea", { id: `answer-${inc.id}`, rows: "3", maxlength: "20000", required: "" });
      const send = el("button", { type: "submit", class: "btn btn-primary" }, "Answer all");
      const close = el("button", { type: "button", class: "btn" }, "Mark resolved");
      form.append(label, box, send, close);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        send.disabled = true;
        try {
          const out = await api(`/console/api/incidents/${inc.id}/reply`, "POST", { text: box.value });
          flash(`Answer sent to ${out.sent.length} conversations` +
            (out.skipped.length ? ` (${out.skipped.length} already closed, skipped)` : "") + ".");
          await refresh();
        } catch (err) { flash(err.message, "error"); } finally { send.disabled = false; }
      });
      close.addEventListener("click", async () => {
        try { await api(`/console/api/incidents/${inc.id}/resolve`, "POST"); flash("Incident resolved."); await refresh(); }
        catch (err) { flash(err.message, "error"); }
      });
      li.appendChild(form);
    }
    return li;
  }

  function gapItem(t) {
    const li = el("li", { class: "insight", "data-topic": t.key });
    li.appendChild(el("h3", {}, t.title));
    const arrow = { up: "↑", down: "↓", flat: "→" }[t.trend];
    li.appendChild(el("p", { class: "insight-meta" },
      `${t.volume} conversations · ${t.this_week} this week, ${t.last_week} last week ${arrow}`));
    li.appendChild(el("h4", {}, "Example questions"));
    li.appendChild(list(t.examples));
    li.appendChild(el("h4", {}, "Draft outline (from agents' answers)"));
    li.appendChild(t.outline.length ? list(t.outline) : el("p", { class: "muted" }, "No agent answers yet."));
    const state = el("p", { class: "insight-meta draft-state" },
      t.draft_status ? `KB article ${t.draft_key}: ${t.draft_status}` : "");
    const draft = el("button", { type: "button", class: "btn btn-primary" }, t.draft_status ? "Refresh draft" : "Create KB draft");
    const publish = el("button", { type: "button", class: "btn" }, "Publish");
    draft.hidden = t.draft_status === "published";
    publish.hidden = t.draft_status !== "draft";
    draft.addEventListener("click", async () => {
      draft.disabled = true;
      try {
        const out = await api(`/console/api/admin/gaps/${encodeURIComponent(t.key)}/draft`, "POST");
        state.textContent = `KB article ${out.article.key}: draft`;
        publish.hidden = false;
        flash(`Draft ${out.article.key} saved; it is not used for answers until published.`);
      } catch (err) { flash(err.message, "error"); } finally { draft.disabled = false; }
    });
    publish.addEventListener("click", async () => {
      try {
        await api("/console/api/admin/kb-drafts/publish", "POST", { key: t.draft_key });
        state.textContent = `KB article ${t.draft_key}: published`;
        publish.hidden = true;
        draft.hidden = true;
        flash(`Published ${t.draft_key}: the AI may answer from it now.`);
      } catch (err) { flash(err.message, "error"); }
    });
    li.append(state, draft, publish);
    return li;
  }

  async function refresh() {
    const incidents = (await api("/console/api/incidents")).incidents;
    const items = await Promise.all(incidents.map(incidentItem));
    $("incidents").replaceChildren(...items);
    $("inc-empty").hidden = incidents.length > 0;
  }

  async function refreshGaps() {
    const topics = (await api("/console/api/admin/gaps")).topics;
    $("gaps").replaceChildren(...topics.map(gapItem));
    $("gaps-empty").hidden = topics.length > 0;
  }

  async function boot() {
    const me = await window.SwitchboardPageApi.me();
    await refresh();
    if (me.agent.role === "admin") {
      $("gaps-card").hidden = false;
      await refreshGaps();
    }
    document.body.dataset.ready = "1";
  }

  boot().catch((err) => flash(err.message, "error"));
})();
