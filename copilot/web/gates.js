"use strict";
// Read-only view of /console/api/admin/gates: one row per category, with its evidence.
(async () => {
  const summary = document.getElementById("gates-summary");
  const body = document.querySelector("#gates tbody");
  const resp = await fetch("/console/api/admin/gates", { credentials: "same-origin" });
  if (!resp.ok) { summary.textContent = resp.status === 403 ? "Admins only." : "Could not load gates."; return; }
  const data = await resp.json();
  if (!data.gates.length) {
    summary.textContent = "No gates measured yet: they are computed when a retrained model is promoted.";
    return;
  }
  summary.textContent = `Model v${data.model_version}: a category answers on its own only where precision ≥ ` +
    `${Math.round(data.target * 100)} % on ${data.dev_n} held-back labels.`;
  const pct = (v) => (v === null ? "—" : `${(v * 100).toFixed(1)} %`);
  for (const g of data.gates) {
    const tr = document.createElement("tr");
    const cells = [g.category, g.threshold === null ? "off (drafts)" : "on", g.threshold === null ? "—" :
      g.threshold.toFixed(3), pct(g.precision), `${g.support} of ${g.predicted}`, g.reason];
    for (const text of cells) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); }
    body.appendChild(tr);
  }
})();
