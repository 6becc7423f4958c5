// Agent performance page: each agent's figures against the team on their own category/urgency mix.
(function () {
  "use strict";
  const API = "/console/api/agents/performance";
  // label, how to show a value, and whether a lower value is the better one
  const METRICS = [
    ["first_response_seconds", "First response time", "duration", true],
    ["handle_seconds", "Handle time", "duration", true],
    ["resolution_rate", "Resolution rate", "percent", false],
    ["csat", "CSAT (1–5)", "score", false],
    ["reopen_rate", "Reopen rate", "percent", true],
    ["suggestion_adoption", "Suggestion adoption", "percent", false],
  ];
  const $ = (id) => document.getElementById(id);
  const flash = (text) => { $("flash").textContent = text; $("flash").hidden = !text; };
  function el(tag, text) { const n = document.createElement(tag); if (text !== undefined) n.textContent = text; return n; }

  function duration(s) {
    const v = Math.abs(s);
    if (v < 60) return `${Math.round(v)} s`;
    if (v < 3600) return `${Math.floor(v / 60)} min ${Math.round(v % 60)} s`;
    return `${Math.floor(v / 3600)} h ${Math.round((v % 3600) / 60)} min`;
  }
  function show(v, kind, signed) {
    if (v === null || v === undefined) return "–";
    const sign = signed ? (v > 0 ? "+" : v < 0 ? "−" : "±") : "";
    if (kind === "duration") return sign + duration(v);
    if (kind === "percent") return `${sign}${Math.round(Math.abs(v) * 1000) / 10}${signed ? " pts" : "%"}`;
    return sign + Math.abs(v).toFixed(2);
  }
  function verdict(delta, lowerBetter) {
    if (delta === null || delta === undefined || Math.abs(delta) < 1e-9) return "as expected";
    return (delta < 0) === lowerBetter ? "better than expected" : "worse than expected";
  }

  function agentSection(a) {
    const section = el("section");
    section.className = "agent-perf";
    section.setAttribute("aria-label", a.name);
    const mix = Object.entries(a.mix).map(([cell, n]) => `${cell} × ${n}`).join(", ") || "no conversations";
    section.append(el("h2", `${a.name} (${a.role})`), el("p", `Queue mix: ${mix}`));
    const table = el("table");
    table.className = "admin-table";
    const head = el("tr");
    for (const h of ["Metric", "Actual", "Expected on this mix", "Difference", "Team overall", "Observations"]) {
      const th = el("th", h); th.scope = "col"; head.append(th);
    }
    const thead = el("thead"); thead.append(head);
    const tbody = el("tbody");
    for (const [key, label, kind, lowerBetter] of METRICS) {
      const m = a.metrics[key];
      if (!m) continue;
      const tr = el("tr");
      tr.dataset.metric = key;
      const th = el("th", label); th.scope = "row";
      tr.append(th, el("td", show(m.actual, kind)), el("td", show(m.expected, kind)),
        el("td", `${show(m.delta, kind, true)} (${verdict(m.delta, lowerBetter)})`), el("td", show(m.team, kind)),
        el("td", String(m.count)));
      tbody.append(tr);
    }
    table.append(thead, tbody);
    section.append(table);
    return section;
  }

  async function load() {
    const resp = await fetch(`${API}?days=${encodeURIComponent($("days").value)}`,
      { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (resp.status === 401) { window.location.assign("/console/login"); return; }
    const data = await resp.json().catch(() => null);
    if (!resp.ok) throw new Error((data && data.error && data.error.message) || `HTTP ${resp.status}`);
    $("agents").replaceChildren(...data.agents.map(agentSection));
    flash(data.agents.length ? "" : "No agent worked a conversation in this window.");
  }

  $("days").addEventListener("change", () => load().catch((err) => flash(err.message)));
  load().catch((err) => flash(err.message));
})();
