// Chats with a running Switchboard gateway using the npm socket.io-client, as a browser embed would.
// Usage: node tests/js/chat_client.mjs --url http://127.0.0.1:PORT --tenant SLUG [--transports websocket|polling]
// Prints one JSON object on stdout; exits non-zero (still printing JSON) when any step fails.
import { io } from "socket.io-client";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const url = args.url;
const tenant = args.tenant;
const mode = args.transports || "websocket";
const result = { mode, steps: [] };

function finish(code, extra) {
  process.stdout.write(JSON.stringify({ ...result, ...extra }) + "\n");
  process.exit(code);
}

const watchdog = setTimeout(() => finish(2, { ok: false, error: "timed out" }), 20000);

try {
  const resp = await fetch(`${url}/chat/${encodeURIComponent(tenant)}/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  });
  if (!resp.ok) finish(1, { ok: false, error: `session HTTP ${resp.status}` });
  const session = await resp.json();
  result.steps.push("token");

  // "polling" starts on long-polling and upgrades to a websocket, like a browser behind a strict proxy.
  const socket = io(`${url}/chat`, {
    auth: { token: session.token },
    transports: mode === "polling" ? ["polling", "websocket"] : ["websocket"],
    reconnection: false,
  });
  // The engine's first transport (an upgrade may finish before the namespace connects).
  socket.io.on("open", () => { result.transport_at_open = socket.io.engine.transport.name; });
  const connected = new Promise((resolve, reject) => {
    socket.on("connect", resolve);
    socket.on("connect_error", (err) => reject(new Error(`connect_error: ${err.message}`)));
  });
  await connected;
  result.steps.push("connected");

  if (mode === "polling" && socket.io.engine.transport.name !== "websocket") {
    await new Promise((resolve) => socket.io.engine.once("upgrade", resolve));
    result.steps.push("upgraded");
  }
  result.transport_final = socket.io.engine.transport.name;

  const clientId = `node-${process.pid}-${Date.now()}`;
  const message = { client_id: clientId, text: `hello from node (${mode})` };
  result.ack = await socket.timeout(10000).emitWithAck("message", message);
  result.steps.push("acked");
  result.duplicate_ack = await socket.timeout(10000).emitWithAck("message", message);
  result.history = await socket.timeout(10000).emitWithAck("history", {});
  result.client_id = clientId;
  socket.disconnect();
  clearTimeout(watchdog);
  finish(0, { ok: true });
} catch (err) {
  finish(1, { ok: false, error: String(err && err.message ? err.message : err) });
}
