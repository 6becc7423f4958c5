// Attachments in the console: files on timeline messages (image thumbnails, the rest as downloads)
// and files the agent adds to a reply. console.js calls SwitchboardAttachments.list(m) and .pendingIds().
(() => {
  "use strict";
  const { el } = window.SwitchboardDom;  // dom.js
  const API = "/console/api";
  const pending = [];  // [{id, name, size, cid}] uploaded by this agent, sent with the next reply in cid
  let current = () => ({ cid: null, csrf: "" });  // console.js hands in its state

  function size(n) {
    return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : n >= 1024 ? `${Math.round(n / 1024)} KB` : `${n} B`;
  }

  // Served by /console/api/attachments/{id}: only real images inline, everything else downloads.
  function list(m) {
    const files = Array.isArray(m.attachments) ? m.attachments : [];
    if (!files.length) return null;
    const box = el("ul", { class: "msg-files" });
    for (const f of files) {
      const label = `${f.name} (${size(f.size || 0)})`;
      if (f.rejected || !f.id) {
        box.append(el("li", { class: "file file-rejected muted small", text: `${label}: ${f.rejected || "not kept"}` }));
        continue;
      }
      const href = `${API}/attachments/${encodeURIComponent(f.id)}`;
      const link = el("a", { href, class: "file-link", rel: "noopener", target: "_blank" });
      if (f.inline) link.append(el("img", { src: href, alt: f.name, class: "file-thumb", loading: "lazy" }));
      else link.setAttribute("download", f.name);
      link.append(el("span", { class: "small", text: label }));
      box.append(el("li", { class: "file" }, link));
    }
    return box;
  }

  function renderPending() {
    const box = document.getElementById("reply-files");
    if (!box) return;
    const { cid } = current();
    box.replaceChildren(...pending.filter((f) => f.cid === cid).map((f) => el("li", { class: "file small" },
      `${f.name} (${size(f.size)}) `,
      el("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Remove", "aria-label": `Remove ${f.name}`,
        onclick: () => { pending.splice(pending.indexOf(f), 1); renderPending(); } }))));
  }

  async function upload(input) {
    const { cid, csrf } = current();
    const status = document.getElementById("reply-files-status");
    status.textContent = "";
    if (!cid) return;
    for (const file of input.files) {
      const form = new FormData();
      form.append("file", file, file.name);
      const resp = await fetch(`${API}/conversations/${encodeURIComponent(cid)}/attachments`,
        { method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRF-Token": csrf || "" } });
      const data = await resp.json().catch(() => null);
      if (resp.ok) pending.push({ id: data.attachment.id, name: data.attachment.name, size: data.attachment.size, cid });
      else status.textContent = `${file.name}: ${(data && data.error && data.error.message) || resp.status}`;
    }
    input.value = "";
    renderPending();
  }

  window.SwitchboardAttachments = {
    list,
    bind(getState) {
      current = getState;
      const input = document.getElementById("reply-file");
      if (input) input.addEventListener("change", () => upload(input));
    },
    pendingIds: (cid) => pending.filter((f) => f.cid === cid).map((f) => f.id),
    sent(cid) {
      for (let i = pending.length - 1; i >= 0; i -= 1) if (pending[i].cid === cid) pending.splice(i, 1);
      renderPending();
    },
    render: renderPending,
  };
})();
