/* The console's JSON API as the standalone pages (models, digest, incidents, admin extras) call it.
 *
 * One copy so every page sends the session's CSRF token on writes, goes to the sign-in page when the
 * session is gone, and shows the server's own error message instead of a bare status code.
 * Load it before the page's script: it defines window.SwitchboardPageApi and nothing else.
 */
(function () {
  "use strict";

  let csrf = "";

  /* Keeps the status and the field the server named, so a form can point at the culprit. */
  class ApiError extends Error {
    constructor(status, data) {
      super((data && data.error && data.error.message) || `HTTP ${status}`);
      this.status = status;
      this.field = (data && data.error && data.error.field) || "";
      this.data = data;
    }
  }

  async function request(path, method, body, contentType) {
    const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      opts.headers["Content-Type"] = contentType;
      opts.headers["X-CSRF-Token"] = csrf;
      opts.body = body;
    }
    const resp = await fetch(path, opts);
    if (resp.status === 401) { window.location.assign("/console/login"); throw new Error("sign in first"); }
    const data = await resp.json().catch(() => null);
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  /* JSON in, JSON out; writes carry the CSRF token that me() fetched. */
  function api(path, method = "GET", body) {
    return request(path, method, method === "GET" ? undefined : JSON.stringify(body || {}), "application/json");
  }

  /* A file sent as the request body itself (the endpoint reads the raw bytes, not a form). */
  function upload(path, file, contentType) {
    return request(path, "POST", file, contentType);
  }

  /* Who is signed in; also remembers the session's CSRF token for later writes. */
  async function me() {
    const who = await api("/console/api/me");
    csrf = who.csrf;
    return who;
  }

  window.SwitchboardPageApi = { api, upload, me, ApiError };
})();
