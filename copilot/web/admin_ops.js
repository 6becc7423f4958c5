/* Admin view, operations cards: customer-attribute CSV import, teams, escalation paths.
 *
 * console.js fires "sb:admin" whenever the Admin view opens; this file then (re)loads its cards from
 * /console/api/admin, so what is shown is what the server stored. Names, slugs, templates and the
 * import report are data: they are only ever set with textContent or form values.
 */
(function () {
  "use strict";
  const { el } = window.SwitchboardDom;  // dom.js

  const A = "/console/api/admin";
  const { api, upload, me } = window.SwitchboardPageApi;  // page_api.js
  const $ = (id) => document.getElementById(id);
  const known = { agents: [], teams: [] };
  let signedIn = null;  // me() once: it holds the CSRF token the writes below need
  let wired = false;

  function say(id, text, kind) {
    const node = $(id);
    node.textContent = text;
    node.dataset.kind = kind || "info";
    node.hidden = !text;
  }

  /* The server names the field at fault; saying it lets the admin find the input (or the CSV column). */
  function problem(err) { return err.field ? `${err.field}: ${err.message}` : err.message; }

  function csv(text) { return text.split(",").map((x) => x.trim().toLowerCase()).filter(Boolean); }

  function agentName(id) {
    const a = known.agents.find((x) => x.id === id);
    return a ? a.name : `agent #${id}`;
  }

  function removeButton(label, path, statusId, done) {
    const button = el("button", { type: "button", class: "btn btn-sm btn-ghost", text: "Remove", "aria-label": label });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api(path, "DELETE");
        say(statusId, "Removed.");
        await done();
      } catch (err) {
        say(statusId, `Not removed: ${problem(err)}`, "error");
        button.disabled = false;
      }
    });
    return button;
  }

  // ---------------------------------------------------------------- CSV import
  async function importCsv(ev) {
    ev.preventDefault();
    const file = $("adm-import-file").files[0];
    if (!file) return;
    $("adm-import-submit").disabled = true;
    say("adm-import-summary", `Importing ${file.name}…`);
    $("adm-import-result").hidden = false;
    $("adm-import-errors").hidden = true;
    try {
      await signedIn;
      // Spreadsheets label CSVs all sorts of ways (or not at all); the endpoint wants text/csv.
      showReport(await upload(`${A}/customers/import`, file, "text/csv"));
    } catch (err) {
      say("adm-import-summary", `Nothing imported — the file as a whole was refused: ${problem(err)}`, "error");
    } finally {
      $("adm-import-submit").disabled = false;
    }
  }

  function showReport(r) {
    const rows = (n) => `${n} row${n === 1 ? "" : "s"}`;
    let text = `Imported ${r.imported} of ${rows(r.rows)} (${r.created} new, ${r.updated} updated).`;
    if (r.failed) text += ` ${rows(r.failed)} not imported: fix the lines below and import them again.`;
    if (r.errors_truncated) text += " Only the first problems are listed.";
    say("adm-import-summary", text, r.failed ? "warn" : "ok");
    const body = $("adm-import-errors-body");
    body.replaceChildren(...r.errors.map((e) => el("tr", { "data-line": e.line },
      el("td", { text: String(e.line) }), el("td", {}, el("code", { text: e.field })), el("td", { text: e.message }))));
    $("adm-import-errors").hidden = r.errors.length === 0;
  }

  // ---------------------------------------------------------------- teams
  function teamRow(t) {
    return el("tr", { "data-team-id": t.id },
      el("td", {}, el("span", { text: t.name }), " ", el("code", { class: "muted small", text: t.slug })),
      el("td", { text: t.lead_id ? agentName(t.lead_id) : "—" }),
      el("td", { text: t.member_ids.map(agentName).join(", ") || "—" }),
      el("td", { text: t.skills.join(", ") || "—" }),
      el("td", {}, removeButton(`Remove team ${t.name}`, `${A}/teams/${t.id}`, "adm-team-status", loadAll)));
  }

  /* Re-rendered on every load, keeping what the admin already picked in a half-filled form. */
  function renderPeople() {
    const lead = $("adm-team-lead");
    const chosenLead = lead.value;
    const checked = new Set([...$("adm-team-members").querySelectorAll("input:checked")].map((c) => c.value));
    lead.replaceChildren(el("option", { value: "", text: "— no lead —" }),
      ...known.agents.map((a) => el("option", { value: a.id, text: `${a.name} (${a.role})` })));
    if ([...lead.options].some((o) => o.value === chosenLead)) lead.value = chosenLead;
    $("adm-team-members").replaceChildren(...known.agents.map((a) => {
      const id = `adm-team-member-${a.id}`;
      return el("li", {}, el("input", { type: "checkbox", id, value: a.id, checked: checked.has(String(a.id)) }),
        el("label", { for: id, text: a.name }));
    }));
  }

  async function createTeam(ev) {
    ev.preventDefault();
    const members = [...$("adm-team-members").querySelectorAll("input:checked")].map((c) => Number(c.value));
    const body = { slug: $("adm-team-slug").value.trim().toLowerCase(), name: $("adm-team-name").value.trim(),
      member_ids: members, skills: csv($("adm-team-skills").value) };
    if ($("adm-team-lead").value) body.lead_id = Number($("adm-team-lead").value);
    $("adm-team-submit").disabled = true;
    try {
      await signedIn;
      const { team } = await api(`${A}/teams`, "POST", body);
      $("adm-team-form").reset();
      await loadAll();
      say("adm-team-status", `Created team ${team.name}.`, "ok");
    } catch (err) {
      say("adm-team-status", `Team not created: ${problem(err)}`, "error");
    } finally {
      $("adm-team-submit").disabled = false;
    }
  }

  // ---------------------------------------------------------------- escalation paths
  function ownerLabel(owner) {
    if (owner.team_id) {
      const t = known.teams.find((x) => x.id === owner.team_id);
      return `Team: ${t ? t.name : `#${owner.team_id}`}`;
    }
    return `Agent: ${agentName(owner.agent_id)}`;
  }

  function pathRow(p) {
    return el("tr", { "data-path-id": p.id },
      el("td", {}, el("code", { text: p.kind })), el("td", { text: p.name }), el("td", { text: ownerLabel(p.owner) }),
      el("td", { text: String(p.response_minutes) }), el("td", { class: "path-template small", text: p.template }),
      el("td", {}, removeButton(`Remove escalation path ${p.name}`, `${A}/escalation-paths/${p.id}`,
        "adm-path-status", loadAll)));
  }

  function renderOwners() {
    const select = $("adm-path-owner");
    const before = select.value;
    const groups = [el("option", { value: "", text: "Choose a team or an agent" })];
    if (known.teams.length) {
      groups.push(el("optgroup", { label: "Teams" },
        ...known.teams.map((t) => el("option", { value: `team:${t.id}`, text: t.name }))));
    }
    groups.push(el("optgroup", { label: "Agents" },
      ...known.agents.map((a) => el("option", { value: `agent:${a.id}`, text: a.name }))));
    select.replaceChildren(...groups);
    if ([...select.options].some((o) => o.value === before)) select.value = before;
  }

  async function createPath(ev) {
    ev.preventDefault();
    const [kind, id] = $("adm-path-owner").value.split(":");
    const body = { kind: $("adm-path-kind").value.trim().toLowerCase(), name: $("adm-path-name").value.trim(),
      owner: kind === "team" ? { team_id: Number(id) } : { agent_id: Number(id) },
      response_minutes: Number($("adm-path-minutes").value), template: $("adm-path-template").value };
    $("adm-path-submit").disabled = true;
    try {
      await signedIn;
      const { path } = await api(`${A}/escalation-paths`, "POST", body);
      $("adm-path-form").reset();
      await loadAll();
      say("adm-path-status", `Created escalation path ${path.name}.`, "ok");
    } catch (err) {
      say("adm-path-status", `Path not created: ${problem(err)}`, "error");
    } finally {
      $("adm-path-submit").disabled = false;
    }
  }

  // ---------------------------------------------------------------- loading
  async function loadAll() {
    try {
      const [agents, teams, paths] = await Promise.all([api(`${A}/agents`), api(`${A}/teams`),
        api(`${A}/escalation-paths`)]);
      known.agents = agents.agents;
      known.teams = teams.teams;
      $("adm-teams-body").replaceChildren(...known.teams.map(teamRow));
      $("adm-teams-empty").hidden = known.teams.length > 0;
      $("adm-teams").hidden = known.teams.length === 0;
      $("adm-paths-body").replaceChildren(...paths.paths.map(pathRow));
      $("adm-paths-empty").hidden = paths.paths.length > 0;
      $("adm-paths").hidden = paths.paths.length === 0;
      $("adm-path-placeholders").textContent =
        `Placeholders: ${paths.placeholders.map((p) => `{${p}}`).join(" ")}`;
      renderPeople();
      renderOwners();
    } catch (err) {
      say("adm-team-status", `Could not load teams and escalation paths: ${problem(err)}`, "error");
    }
  }

  document.addEventListener("sb:admin", () => {
    if (!wired) {
      wired = true;
      signedIn = me().catch(() => null);  // a failed write then says why (no CSRF token)
      $("adm-import-form").addEventListener("submit", importCsv);
      $("adm-team-form").addEventListener("submit", createTeam);
      $("adm-path-form").addEventListener("submit", createPath);
    }
    loadAll();
  });
})();
