// Classifier versions page: lists versions, retrains on demand, rolls back, edits the schedule.
(function () {
  "use strict";
  const API = "/console/api/admin/models";
  const { api } = window.SwitchboardPageApi;  // page_api.js
  const $ = (id) => document.getElementById(id);

  function flash(text) { $("flash").textContent = text; }
  const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "never");

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function render(state) {
    const body = $("versions").querySelector("tbody");
    body.replaceChildren();
    for (const v of state.versions) {
      const tr = document.createElement("tr");
      tr.dataset.version = String(v.version);
      cell(tr, `v${v.version} (${v.source === "retrain" ? "from feedback" : "from examples"})`);
      cell(tr, v.serving ? "serving" : v.went_live_at ? "served before" : "never served");
      cell(tr, v.holdout_accuracy !== null && v.holdout_accuracy !== undefined
        ? `${pct(v.holdout_accuracy)} on ${v.holdout} labels`
        : v.cv_accuracy !== null && v.cv_accuracy !== undefined ? `${pct(v.cv_accuracy)} (cross-validated on examples)` : "–");
      cell(tr, v.compared_with ? `v${v.compared_with}: ${pct(v.compared_accuracy)}` : "–");
      cell(tr, v.examples === null || v.examples === undefined ? "–" : `${v.examples} examples`);
      cell(tr, when(v.went_live_at));
      cell(tr, v.decision ? `${v.decision}: ${v.reason}` : "–");
      body.appendChild(tr);
    }
    const job = { pending: "A retrain is queued.", running: "A retrain is running.", failed: "The last retrain failed." };
    $("retrain-status").textContent = job[state.retrain_job] || "";
    $("rollback").disabled = state.versions.filter((v) => v.went_live_at).length < 2;
    $("every-days").value = state.schedule.every_days;
    $("min-new-labels").value = state.schedule.min_new_labels;
  }

  async function refresh() { render(await api(API)); }

  async function boot() {
    const me = await window.SwitchboardPageApi.me();
    if (me.agent.role !== "admin") { flash("Only admins can see classifier versions."); return; }
    await refresh();
    $("retrain").addEventListener("click", async () => {
      try {
        const state = await api(`${API}/retrain`, "POST");
        flash(state.queued ? "Retrain queued; the new version appears here when it is judged." : "A retrain is already queued.");
        render(state);
      } catch (err) { flash(err.message); }
    });
    $("rollback").addEventListener("click", async () => {
      try {
        const state = await api(`${API}/rollback`, "POST");
        render(state);
        flash(`Rolled back: v${state.serving} serves now.`);
      } catch (err) { flash(err.message); }
    });
    $("schedule").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        render(await api(`${API}/schedule`, "PATCH", {
          every_days: Number($("every-days").value), min_new_labels: Number($("min-new-labels").value) }));
        flash("Schedule saved.");
      } catch (err) { flash(err.message); }
    });
  }

  boot().catch((err) => flash(err.message));
})();
