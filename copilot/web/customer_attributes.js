/* Customer attributes on the console's customer panel: everyone sees them, admins edit them.
 *
 * console.js fires "sb:customer" with the panel's data (which carries `attributes`); this file
 * renders into #cust-attributes. Values are only ever set with textContent or input values.
 */
(function () {
  "use strict";
  const { el } = window.SwitchboardDom;  // dom.js

  const LABELS = [["plan_tier", "Plan tier"], ["account_value", "Account value"],
    ["customer_since", "Customer since"], ["region", "Region"]];
  let me = null;

  async function whoami() {
    if (!me) {
      const resp = await fetch("/console/api/me", { credentials: "same-origin", headers: { Accept: "application/json" } });
      me = resp.ok ? await resp.json() : { agent: { role: "agent" }, csrf: "" };
    }
    return me;
  }

  function render(box, attrs, customerId, isAdmin) {
    box.replaceChildren();
    const dl = el("dl", { class: "cls cust-attrs" });
    for (const [key, label] of LABELS) {
      const value = attrs[key];
      dl.append(el("dt", { text: label }), el("dd", { text: value === null || value === undefined ? "—" : String(value) }));
    }
    for (const [key, value] of Object.entries(attrs.attributes || {})) {
      dl.append(el("dt", { text: key }), el("dd", { text: String(value) }));
    }
    box.append(dl);
    if (isAdmin) box.append(editor(box, attrs, customerId));
  }

  function editor(box, attrs, customerId) {
    const form = el("form", { class: "cls-form", id: "cust-attr-form", hidden: "" });
    const inputs = {};
    for (const [key, label] of LABELS) {
      const id = `cust-attr-${key}`;
      inputs[key] = el("input", { id, name: key, class: "select select-sm",
        type: key === "customer_since" ? "date" : "text",
        value: attrs[key] === null || attrs[key] === undefined ? "" : String(attrs[key]) });
      form.append(el("label", { for: id, text: label }), inputs[key]);
    }
    const extra = el("textarea", { id: "cust-attr-extra", rows: "3", class: "select select-sm" });
    extra.value = JSON.stringify(attrs.attributes || {});
    form.append(el("label", { for: "cust-attr-extra", text: "Other attributes (JSON)" }), extra);
    const error = el("p", { class: "error small", role: "alert", hidden: "" });
    form.append(error, el("button", { type: "submit", class: "btn btn-sm", text: "Save attributes" }));
    const toggle = el("button", { type: "button", class: "btn btn-sm", text: "Edit attributes" });
    toggle.addEventListener("click", () => { form.hidden = !form.hidden; });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {};
      for (const [key] of LABELS) body[key] = inputs[key].value.trim() || null;
      try {
        const given = JSON.parse(extra.value || "{}");
        const removed = Object.keys(attrs.attributes || {}).filter((k) => !(k in given));
        body.attributes = Object.assign(Object.fromEntries(removed.map((k) => [k, null])), given);
      } catch (_) {
        error.textContent = "Other attributes must be a JSON object.";
        error.hidden = false;
        return;
      }
      const who = await whoami();
      const resp = await fetch(`/console/api/admin/customers/${customerId}/attributes`, {
        method: "PATCH", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": who.csrf },
        body: JSON.stringify(body),
      });
      const data = await resp.json().catch(() => null);
      if (!resp.ok) {
        error.textContent = data && data.error ? `${data.error.field}: ${data.error.message}` : "Could not save.";
        error.hidden = false;
        return;
      }
      render(box, data, customerId, true);
    });
    return el("div", {}, toggle, form);
  }

  document.addEventListener("sb:customer", async (event) => {
    const box = document.getElementById("cust-attributes");
    const cust = event.detail;
    if (!box || !cust || !cust.attributes) return;
    const who = await whoami();
    render(box, cust.attributes, cust.id, who.agent && who.agent.role === "admin");
  });
})();
