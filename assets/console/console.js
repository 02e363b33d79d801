// edge-token-store admin console. The page runs under a strict CSP: no inline code, no HTML strings;
// every value from the server reaches the page through textContent or createElement, and every
// value someone chose is shown isolated, with hidden characters written out (shown()).
"use strict";

const STORAGE_KEY = "ets-admin-token";
const WINDOW_MS = 10 * 60 * 1000;

const $ = (id) => document.getElementById(id);

let token = null; // also in sessionStorage, so a reload keeps the tab signed in; null behind Cloudflare Access
let session = 0; // bumped on sign-in/out: late answers to an old session are dropped
let timers = [];
let samples = [];
let subject = null;
const onYes = {}; // what each in-page confirmation runs on Yes

// A failure that needs no message: the session ended (401) or changed meanwhile.
class Handled extends Error {}

// Every API call goes through here: bearer header, JSON both ways, 401 signs out.
async function api(method, path, body) {
  const gen = session;
  // behind Cloudflare Access the browser's Access session names the person: no header to add
  const init = { method, headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init).catch(() => null);
  const data = res && (await res.json().catch(() => null));
  if (gen !== session) throw new Handled();
  if (!res) throw new Error("Could not reach the server.");
  if (res.status === 401) {
    signOut("Token not accepted.");
    throw new Handled();
  }
  const message = data?.error?.message || `Request failed (HTTP ${res.status}).`;
  if (!res.ok) throw Object.assign(new Error(message), { status: res.status });
  return data;
}

function el(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Values other people chose (subjects, ids, key ids, names, messages that quote them) are shown
// isolated from the text around them (<bdi>), with every control, format, invisible or
// separator character written out as ⟨U+XXXX⟩: a bidirectional override cannot reorder the
// line it sits in, and nothing hides. Joiners and variation selectors are written out too.
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{DI}\p{Noncharacter_Code_Point}]|(?! )\p{Zs}/gu;

function marked(value) {
  return String(value).replace(HIDDEN, (c) => `⟨U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}⟩`);
}

function shown(value) {
  const node = el("bdi", marked(value));
  node.className = "value";
  return node;
}

// Writes a message line (a string, or strings and nodes) and its data-state. Unchanged text is
// not rewritten: screen readers would announce it again on every poll.
function say(target, content, state) {
  if (typeof content !== "string" || target.textContent !== content) target.replaceChildren(...[content].flat());
  if (state) target.dataset.state = state;
  else delete target.dataset.state;
}

// Runs an action with its button disabled (a double click sends one request); failures go to `target`.
async function act(button, target, work) {
  if (button) button.disabled = true;
  try {
    await work();
  } catch (err) {
    if (!(err instanceof Handled)) say(target, [shown(err.message)], "error");
  } finally {
    if (button) button.disabled = false;
  }
}

// Local time (plus the date when not today), with the ISO string as title.
function timeEl(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso ? String(iso) : "—";
  const node = el("time");
  node.dateTime = node.title = iso;
  const today = date.toDateString() === new Date().toDateString();
  node.textContent = today ? date.toLocaleTimeString() : `${date.toLocaleDateString()} ${date.toLocaleTimeString()}`;
  return node;
}

function cell(value) {
  const td = el("td");
  if (value instanceof Node) td.append(value);
  else if (value === undefined || value === null || value === "") td.textContent = "—";
  else td.append(shown(value));
  return td;
}

// Forms never submit (form-action 'none'): everything goes through fetch.
function onSubmit(id, handler) {
  $(id).addEventListener("submit", (event) => {
    event.preventDefault();
    handler(event.target.querySelector("button[type=submit]"));
  });
}

// In-page confirmation (no window.confirm): Yes runs `work`, Cancel hides the box.
function ask(name, parts, work) {
  onYes[name] = work;
  $(`${name}-confirm-text`).replaceChildren(...parts);
  $(`${name}-confirm`).hidden = false;
  $(`${name}-confirm-no`).focus(); // the safe choice is the default one
}

for (const name of ["subject", "key", "family"]) {
  $(`${name}-confirm-no`).addEventListener("click", () => ($(`${name}-confirm`).hidden = true));
  $(`${name}-confirm-yes`).addEventListener("click", (event) =>
    act(event.currentTarget, $(`${name}-message`), async () => {
      await onYes[name]();
      $(`${name}-confirm`).hidden = true;
    }),
  );
}

// Sign-in

async function signIn(candidate) {
  session++;
  token = candidate;
  try {
    const stats = await api("GET", "/admin/stats");
    sessionStorage.setItem(STORAGE_KEY, candidate);
    showApp(stats, "admin-token");
  } catch (err) {
    if (err instanceof Handled) return; // a 401: signOut said so
    token = null;
    const why = err.status ? `the server answered HTTP ${err.status}.` : "could not reach the server.";
    say($("signin-error"), `Sign-in failed: ${why}`, "error");
  }
}

// Behind Cloudflare Access, the Access session alone admits this page to the admin API; the
// Worker says whom it names (nobody, without Access), and the token form stays otherwise.
async function signInThroughAccess() {
  const res = await fetch("/admin/console/session", { cache: "no-store" }).catch(() => null);
  const actor = (await res?.json().catch(() => null))?.actor;
  if (!actor) return;
  session++;
  try {
    showApp(await api("GET", "/admin/stats"), actor);
  } catch {
    signOut();
  }
}

function showApp(stats, actor) {
  $("admin-token").value = "";
  say($("signin-error"), "");
  $("signin").hidden = true;
  $("app").hidden = $("whoami").hidden = false;
  $("signout").hidden = !token; // an Access session is ended at Access, not here
  $("whoami").replaceChildren("Signed in as ", shown(actor), token ? "" : " (Cloudflare Access)");
  renderStats(stats);
  refreshActivity();
  refreshAudit();
  // the activity and audit polls are billed (2 and 1 Redis commands): a tab in the background skips them
  const whenVisible = (fn) => () => document.hidden || fn();
  timers = [
    setInterval(whenVisible(refreshActivity), 3000),
    setInterval(whenVisible(refreshAudit), 3000),
    setInterval(refreshStats, 5000),
  ];
  $("subject-input").focus();
}

function signOut(message = "") {
  session++;
  token = subject = null;
  samples = [];
  timers.forEach(clearInterval);
  sessionStorage.removeItem(STORAGE_KEY);
  // Forget what the session showed, and every field that held a token.
  for (const form of document.forms) form.reset();
  for (const line of document.querySelectorAll(".message")) say(line, "");
  for (const list of document.querySelectorAll("#subject-tokens tbody, #activity, #audit, #stats"))
    list.replaceChildren();
  for (const box of document.querySelectorAll(".confirm, #subject-result")) box.hidden = true;
  setTokenButtons(false);
  drawChart();
  $("app").hidden = $("signout").hidden = $("whoami").hidden = true;
  $("whoami").textContent = "";
  $("signin").hidden = false;
  say($("signin-error"), message, message ? "error" : "");
  $("admin-token").focus();
}

onSubmit("signin", (button) => {
  const value = $("admin-token").value.trim();
  if (value) act(button, $("signin-error"), () => signIn(value));
});

$("signout").addEventListener("click", () => signOut());

// Subject

// `note` is the message an action leaves, kept over the list's own.
async function lookUpSubject(name, note) {
  try {
    const { tokens = [] } = await api("GET", `/admin/subjects/${encodeURIComponent(name)}/tokens`);
    subject = name;
    renderTokens(tokens);
    say($("subject-message"), note || (tokens.length ? "" : "No live tokens."), note ? "ok" : "");
  } catch (err) {
    if (!note) $("subject-result").hidden = true; // don't leave the previous subject's table
    if (!(err instanceof Handled)) say($("subject-message"), err.message, "error");
  }
}

function renderTokens(tokens) {
  $("subject-name").replaceChildren(shown(subject));
  const rows = tokens.map((t) => {
    const tr = el("tr");
    tr.dataset.id = t.id;
    const button = el("button", "Revoke");
    button.type = "button";
    button.className = "revoke";
    button.title = `Revoke token ${marked(t.id)}`;
    tr.append(
      ...[t.id, timeEl(t.issuedAt), timeEl(t.expiresAt), t.clientId, t.keyId, t.type, t.family, button].map(cell),
    );
    return tr;
  });
  const table = $("subject-tokens");
  table.tBodies[0].replaceChildren(...rows);
  table.tFoot.hidden = rows.length > 0;
  $("subject-confirm").hidden = true;
  $("subject-result").hidden = false;
}

onSubmit("subject-form", (button) => {
  const name = $("subject-input").value.trim();
  if (name) act(button, $("subject-message"), () => lookUpSubject(name));
});

$("subject-tokens").addEventListener("click", (event) => {
  const button = event.target.closest("button.revoke");
  if (!button) return;
  const id = button.closest("tr").dataset.id;
  act(button, $("subject-message"), async () => {
    await api("POST", `/admin/tokens/by-id/${encodeURIComponent(id)}/revoke`);
    refreshActivity();
    await lookUpSubject(subject, ["Revoked ", shown(id), "."]);
  });
});

$("subject-revoke-all").addEventListener("click", () => {
  const name = subject;
  ask("subject", ["Revoke every token of ", shown(name), "? Each one issued until now will be refused."], async () => {
    const { revoked } = await api("POST", `/admin/subjects/${encodeURIComponent(name)}/revoke`);
    refreshActivity();
    await lookUpSubject(name, ["Revoked all tokens of ", shown(name), ` (${revoked} reached).`]);
  });
});

// Token: the raw token lives only in #token-input; it is never written to the page.

function setTokenButtons(enabled) {
  $("token-revoke").disabled = $("token-delete").disabled = !enabled;
}

function renderInspect({ state, metadata: m = {}, revokedAt, revokedBy }) {
  const about = [
    "id ",
    shown(m.id),
    ", subject ",
    shown(m.subject),
    ...(m.family ? [", family ", shown(m.family)] : []),
  ];
  let parts = ["Unknown: no such token is stored."];
  if (state === "live") parts = ["Live — ", ...about, ", expires ", timeEl(m.expiresAt)];
  if (state === "expired") parts = ["Expired at ", timeEl(m.expiresAt), " — ", ...about];
  if (state === "revoked") {
    parts = ["Revoked", ...(revokedAt ? [" at ", timeEl(revokedAt)] : [])];
    if (revokedBy) parts.push(` (by ${revokedBy} ${revokedBy === "subject" ? "cutoff" : "revocation"})`);
    parts.push(" — ", ...about, ", expires ", timeEl(m.expiresAt));
  }
  say($("token-status"), parts, state);
}

onSubmit("token-form", (button) => {
  const value = $("token-input").value.trim();
  if (!value) return;
  setTokenButtons(false);
  act(button, $("token-status"), async () => {
    renderInspect(await api("POST", "/admin/tokens/inspect", { token: value }));
    // Enable the actions only if the field still holds the checked token.
    setTokenButtons($("token-input").value.trim() === value);
  });
});

// A check speaks for one token: editing the field asks for a new check.
$("token-input").addEventListener("input", () => setTokenButtons(false));

function tokenAction(path, done, state) {
  const value = $("token-input").value.trim();
  setTokenButtons(false);
  act(null, $("token-status"), async () => {
    await api("POST", path, { token: value }).catch((err) => {
      setTokenButtons(!(err instanceof Handled)); // still the checked token: allow a retry
      throw err;
    });
    $("token-input").value = "";
    say($("token-status"), done, state);
    refreshActivity();
  });
}

$("token-revoke").addEventListener("click", () => tokenAction("/admin/tokens/revoke", "Revoked.", "revoked"));
$("token-delete").addEventListener("click", () => tokenAction("/admin/tokens/delete", "Deleted.", "deleted"));

// Signing key

onSubmit("key-form", () => {
  const keyId = $("key-input").value.trim();
  if (!keyId) return;
  ask("key", ["Revoke signing key ", shown(keyId), "? Every token signed with it will be refused."], async () => {
    await api("POST", `/admin/keys/${encodeURIComponent(keyId)}/revoke`);
    say($("key-message"), ["Key ", shown(keyId), " revoked: every token signed with it is refused."], "ok");
    refreshActivity();
  });
});

// Family

onSubmit("family-form", () => {
  // not trimmed: a family may begin or end with a space, and the store names it exactly
  const family = $("family-input").value;
  if (!family) return;
  ask(
    "family",
    ["Revoke family ", shown(family), "? Every token of it, refresh and access, will be refused."],
    async () => {
      await api("POST", `/admin/families/${encodeURIComponent(family)}/revoke`);
      say($("family-message"), ["Family ", shown(family), " revoked: every token of it is refused."], "ok");
      refreshActivity();
    },
  );
});

// Activity

function describeChange(change) {
  if (change.type === "token") return ["token ", shown(change.fingerprint)];
  if (change.type === "subject") return ["subject ", shown(change.subject), " (all tokens)"];
  if (change.type === "key") return ["key ", shown(change.keyId)];
  if (change.type === "family") return ["family ", shown(change.family), " (all tokens)"];
  return [shown(change.type)];
}

function refreshActivity() {
  return act(null, $("activity-message"), async () => {
    const { changes = [] } = await api("GET", "/admin/activity?limit=50");
    say($("activity-message"), "");
    const items = changes.map((change) => {
      const li = el("li");
      li.dataset.type = change.type;
      li.append(timeEl(change.at), " ", ...describeChange(change));
      return li;
    });
    $("activity").replaceChildren(...(items.length ? items : [el("li", "No revocations yet.")]));
  });
}

// Audit trail

function describeTarget(target = {}) {
  const parts = [];
  for (const [field, label] of [
    ["fingerprint", "token"],
    ["id", "id"],
    ["subject", "subject"],
    ["keyId", "key"],
  ]) {
    if (target[field]) parts.push(parts.length ? ", " : "", `${label} `, shown(target[field]));
  }
  return parts.length ? parts : ["all expired tokens"];
}

function refreshAudit() {
  return act(null, $("audit-message"), async () => {
    const { records = [] } = await api("GET", "/admin/audit?limit=50");
    say($("audit-message"), "");
    const items = records.map((r) => {
      const li = el("li");
      li.dataset.action = r.action;
      li.dataset.result = r.result;
      const actor = el("strong");
      actor.append(shown(r.actor));
      li.append(
        timeEl(r.at),
        " ",
        actor,
        " ",
        shown(r.action),
        " ",
        ...describeTarget(r.target),
        ": ",
        shown(r.result),
      );
      return li;
    });
    $("audit").replaceChildren(...(items.length ? items : [el("li", "Nothing recorded yet.")]));
  });
}

// This isolate

function refreshStats() {
  return act(null, $("stats-message"), async () => renderStats(await api("GET", "/admin/stats")));
}

function renderStats(data) {
  const cache = data?.cache;
  const rows = [];
  for (const [name, value] of Object.entries(cache || {})) {
    if (typeof value === "number") rows.push(el("dt", name), el("dd", value.toLocaleString()));
  }
  $("stats").replaceChildren(...rows);
  say($("stats-message"), cache ? "" : "No verdict cache on this backend (memory store).");
  if (typeof cache?.checked === "number" && typeof cache.hits === "number") {
    const now = Date.now();
    samples.push({ t: now, checked: cache.checked, hits: cache.hits });
    // Keep one sample before the window: the first point in it is a difference to that one.
    while (samples.length > 2 && samples[1].t < now - WINDOW_MS) samples.shift();
  }
  drawChart();
}

// Hit ratio between consecutive samples; a gap where there were no lookups or the counters
// went backwards (another isolate answered, or its cache was reset).
function drawChart() {
  const canvas = $("stats-chart");
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  const now = Date.now();
  const x = (t) => 44 + ((t - now + WINDOW_MS) / WINDOW_MS) * (w - 52);
  const y = (ratio) => h - 8 - ratio * (h - 24);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = ctx.strokeStyle = getComputedStyle(canvas).color; // set in the CSS
  for (const r of [0, 0.5, 1]) {
    ctx.fillText(`${r * 100} %`, 4, y(r) + 4);
    ctx.globalAlpha = 0.3;
    ctx.fillRect(44, y(r), w - 52, 1);
    ctx.globalAlpha = 1;
  }
  ctx.lineWidth = 2;
  ctx.beginPath();
  let label = "No data yet";
  let pen = false;
  for (let i = 1; i < samples.length; i++) {
    const checked = samples[i].checked - samples[i - 1].checked;
    const hits = samples[i].hits - samples[i - 1].hits;
    const ok = checked > 0 && hits >= 0 && hits <= checked;
    label = ok ? `Hit ratio ${((hits / checked) * 100).toFixed(1)} %` : "No lookups since the last sample";
    if (ok && samples[i].t >= now - WINDOW_MS) {
      const [px, py] = [x(samples[i].t), y(hits / checked)];
      if (pen) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      ctx.fillRect(px - 2, py - 2, 4, 4); // a lone point between gaps still shows
    }
    pen = ok;
  }
  ctx.stroke();
  ctx.fillText(label, w - 8 - ctx.measureText(label).width, 11);
  canvas.setAttribute("aria-label", `Cache hit ratio, last 10 minutes: ${label}.`);
}

// Start: a token saved in this tab is checked again before the app shows.
drawChart();
const saved = sessionStorage.getItem(STORAGE_KEY);
if (saved) {
  say($("signin-error"), "Checking the saved token…");
  signIn(saved);
} else {
  signInThroughAccess();
}
