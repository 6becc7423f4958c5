/* The console's escalate control: pick an escalation path (technical → engineering, …), add a note, send.
 *
 * Rendered into #escalate-card whenever console.js opens a conversation ("sb:customer"); the
 * conversation is the one in the URL (#/c/{id}). Hidden when the tenant has no paths.
 */
(function () {
  "use strict";
  const { el } = window.SwitchboardDom;  // dom.js

  let paths = null;
  let csrf = null;

  async function getJson(path) {
    const resp = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    return resp.ok ? resp.json() : null;
  }

  async function render() {
    const card = document.getElementById("escalate-card");
    const match = /^#\/c\/(\d+)/.exec(window.location.hash);
    if (!card || !match) return;
    if (paths === null) paths = ((await getJson("/console/api/escalation-paths")) || { paths: [] }).paths;
    if (csrf === null) csrf = ((await getJson("/console/api/me")) || { csrf: "" }).csrf;
    card.hidden = paths.length === 0;
    card.querySelectorAll("form").forEach((f) => f.remove());
    if (!paths.length) return;
    const select = el("select", { id: "esc-kind", class: "select select-sm" });
    for (const p of paths) select.append(el("option", { value: p.kind, text: `${p.name} (${p.response_minutes} min)` }));
    const note = el("textarea", { id: "esc-note", rows: "2", class: "select select-sm", maxlength: "2000" });
    const status = el("p", { class: "small muted", role: "status" });
    const form = el("form", { class: "cls-form" },
      el("label", { for: "esc-kind", text: "Path" }), select,
      el("label", { for: "esc-note", text: "Note for the owner" }), note,
      el("button", { type: "submit", class: "btn btn-sm", text: "Escalate" }), status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { kind: select.value };
      if (note.value.trim()) body.note = note.value.trim();
      const resp = await fetch(`/console/api/conversations/${match[1]}/escalate`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
      const data = await resp.json().catch(() => null);
      if (!resp.ok) status.textContent = data && data.error ? `${data.error.field}: ${data.error.message}` : "Failed.";
      else status.textContent = data.fired ? "Escalated; the owner was told." : "Already escalated on this path.";
    });
    card.append(form);
  }

  document.addEventListener("sb:customer", () => { render(); });
})();
