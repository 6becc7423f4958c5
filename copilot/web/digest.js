// Weekly digest page: the latest (or a chosen) stored digest, its charts, and "make one now".
(function () {
  "use strict";
  const API = "/console/api/admin/digests";
  const CHARTS = { volume: "Conversations per week", categories: "Categories: this week vs last week",
    rates: "Auto-resolution and suggestion adoption", csat: "CSAT average per week" };
  const { api } = window.SwitchboardPageApi;  // page_api.js
  const $ = (id) => document.getElementById(id);

  const flash = (text) => { $("flash").textContent = text; };
  const pct = (v) => (v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`);
  const change = (v) => (v === null || v === undefined ? "new" : `${v >= 0 ? "+" : ""}${Math.round(v * 100)}%`);
  const score = (v) => (v === null || v === undefined ? "–" : v.toFixed(2));
  function el(tag, text) { const n = document.createElement(tag); if (text !== undefined) n.textContent = text; return n; }

  // A gap topic as the insights page clusters it: its most typical question, volume and trend.
  // Digests stored before topics were clustered hold {topic, conversations, examples}: shown as they were.
  function gapItem(g) {
    if (g.title === undefined) {
      const li = el("li", `${g.topic}: ${g.conversations} handed off`);
      if (g.examples.length) { const ul = el("ul"); ul.append(...g.examples.map((q) => el("li", q))); li.append(ul); }
      return li;
    }
    const li = el("li");
    li.dataset.topic = g.key;
    const trend = TRENDS[g.trend] || g.trend;
    li.append(el("strong", g.title), el("span", `: ${g.volume} questions in two weeks `
      + `(${g.this_week} this week, ${g.last_week} the week before, ${trend})`));
    const more = g.examples.slice(1);
    if (more.length) { const ul = el("ul"); ul.append(...more.map((q) => el("li", q))); li.append(ul); }
    return li;
  }

  function render(d) {
    const f = d.figures;
    $("digest-title").textContent = `Weekly digest: ${f.period.start.slice(0, 10)} to ${f.period.end.slice(0, 10)}`;
    const rows = [
      ["Conversations", `${f.volume.this_week} (last week ${f.volume.last_week}, ${change(f.volume.change)})`],
      ["Auto-resolved", `${pct(f.auto_resolution.this_week)} (last week ${pct(f.auto_resolution.last_week)})`],
      ["CSAT average", `${score(f.csat.this_week)} from ${f.csat.answers} answers (last week ${score(f.csat.last_week)})`],
      ["Suggestions adopted", `${pct(f.adoption.this_week)} of ${f.adoption.decided} decided (last week ${pct(f.adoption.last_week)})`],
    ];
    const body = $("headline").querySelector("tbody");
    body.replaceChildren(...rows.map(([k, v]) => { const tr = el("tr"); tr.append(el("th", k), el("td", v)); return tr; }));
    $("charts").replaceChildren(...Object.keys(CHARTS).filter((n) => d.charts[n]).map((n) => {
      const fig = el("figure");
      const img = el("img");
      img.src = d.charts[n];
      img.alt = CHARTS[n];
      img.dataset.chart = n;
      img.width = 600;
      fig.append(img);
      return fig;
    }));
    $("emerging").replaceChildren(...(f.emerging.length ? f.emerging.map((e) =>
      el("li", `${e.category}: ${e.this_week} (last week ${e.last_week})`)) : [el("li", "None this week.")]));
    $("gaps").replaceChildren(...(f.kb_gaps.length ? f.kb_gaps.map(gapItem)
      : [el("li", f.weeks[f.weeks.length - 1].handed_off ? "No question the knowledge base missed came up twice."
        : "No handoffs this week.")]));
  }

  async function load(selectId) {
    const { digests } = await api(API);
    const select = $("digest-list");
    select.replaceChildren(...digests.map((d) => {
      const o = el("option", `${d.period_end.slice(0, 10)} (${d.trigger === "schedule" ? "weekly" : "on demand"})`);
      o.value = String(d.id);
      return o;
    }));
    if (!digests.length) { flash("No digest yet: the weekly one is made on schedule, or make one now."); return digests; }
    const chosen = digests.find((d) => d.id === selectId) || digests[0];
    select.value = String(chosen.id);
    render(chosen);
    return digests;
  }

  async function boot() {
    const me = await window.SwitchboardPageApi.me();
    if (!["lead", "admin"].includes(me.agent.role)) { flash("The digest is for leads and admins."); return; }
    await load();
    $("digest-list").addEventListener("change", async () => render(await api(`${API}/${$("digest-list").value}`)));
    $("make-now").addEventListener("click", async () => {
      const before = (await api(API)).digests.map((d) => d.id);
      await api(API, "POST", { email: $("also-email").checked });
      flash("Making the digest…");
      const deadline = Date.now() + 60000;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        const { digests } = await api(API);
        const fresh = digests.find((d) => !before.includes(d.id));
        if (fresh) { await load(fresh.id); flash("Digest ready."); return; }
      }
      flash("The digest is taking long; reload the page in a minute.");
    });
  }

  boot().catch((err) => flash(err.message));
})();
