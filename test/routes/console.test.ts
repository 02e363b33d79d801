/**
 * The admin console in a real browser: headless Chromium (the distribution's package, driven by
 * playwright-core) against `wrangler dev` with the Redis backend, through the project's
 * Upstash-compatible endpoint, under this run's key prefix. Screenshots of each main screen go
 * to test-output/console/ for a reviewer.
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { CONSOLE_CSP } from "../../src/routes/console.js";
import { directRedis } from "../support/redis.js";
import { startWranglerDev, type WranglerDev } from "../support/wrangler-dev.js";

// the page's globals as the callbacks given to page.evaluate see them (this file is typed for Node)
declare const sessionStorage: { readonly length: number; [key: string]: unknown };
declare const localStorage: { readonly length: number; [key: string]: unknown };
declare const document: { body: { innerText: string } };
declare const window: { __pwned?: number };

const ADMIN = "console-test-admin-token-0123456789";
const SHOTS = "test-output/console";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let dev: WranglerDev;
// Cloudflare Access in front of the console: its certs on the local JWKS server, an assertion signed here
const ACCESS = { team: "console-team.cloudflareaccess.com", aud: "console-aud-tag", kid: "console-access-1" };
const accessKeys = await generateKeyPair("RS256", { extractable: true });
const certsUrl = `${inject("jwksUrl")}/console-access-${Math.random().toString(36).slice(2)}`;
let browser: Browser;
let context: BrowserContext | undefined;
const run = Math.random().toString(36).slice(2, 8);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const jwk = { ...(await exportJWK(accessKeys.publicKey)), kid: ACCESS.kid, alg: "RS256" };
  await fetch(certsUrl, { method: "POST", body: JSON.stringify({ keys: [jwk] }) });
  [dev, browser] = await Promise.all([
    startWranglerDev({
      ADMIN_TOKEN: ADMIN,
      UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
      UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
      KEY_PREFIX: `${inject("runPrefix")}console:`,
      ORIGIN_URL: inject("originUrl"),
      TOKEN_HASH_KEY: "console-test-pepper",
      ACCESS_TEAM_DOMAIN: ACCESS.team,
      ACCESS_AUD: ACCESS.aud,
      ACCESS_CERTS_URL: certsUrl,
    }),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
    }),
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});
afterEach(async () => {
  await context?.close();
  context = undefined;
});

/** What Cloudflare Access would add to every request of a signed-in person. */
async function accessAssertion(email: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email, aud: [ACCESS.aud], iat: now, exp: now + 600, type: "app" })
    .setIssuer(`https://${ACCESS.team}`)
    .setProtectedHeader({ alg: "RS256", kid: ACCESS.kid })
    .sign(accessKeys.privateKey);
}

/** A fresh browser profile's tab on the console, with every dialog, page error and console error recorded. */
async function openConsole(headers?: Record<string, string>) {
  context ??= await browser.newContext({ viewport: { width: 1100, height: 900 }, extraHTTPHeaders: headers });
  const page = await context.newPage();
  const seen = { dialogs: [] as string[], errors: [] as string[], consoleErrors: [] as string[] };
  page.on("dialog", (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (e) => seen.errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") seen.consoleErrors.push(m.text());
  });
  const response = await page.goto(`${dev.url}/admin/console`);
  return { page, response, seen };
}

async function signIn(page: Page, token = ADMIN) {
  await page.fill("#admin-token", token);
  await page.press("#admin-token", "Enter");
}

/** The admin API, as a script would call it. */
async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${dev.url}/admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status, `${method} ${path}`).toBeLessThan(300);
  return res.json();
}

/** What the guard answers for a bearer token on an origin path. */
const guard = async (token: string) =>
  (await fetch(`${dev.url}/console-test/resource`, { headers: { Authorization: `Bearer ${token}` } })).status;

const raw = (label: string) => `console-${label}-${run}-${Math.random().toString(36).slice(2)}`;

describe("the admin console in Chromium, against wrangler dev on Redis", { timeout: 30_000 }, () => {
  it("serves the page with a strict CSP, no framing and no referrer", async () => {
    const { page, response, seen } = await openConsole();
    const headers = response!.headers();
    expect(headers["content-security-policy"]).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self';");
    expect(CONSOLE_CSP).toContain("connect-src 'self';");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["referrer-policy"]).toBe("no-referrer");
    // the script and style load under that policy: the sign-in form works, nothing was blocked
    await expect.poll(() => page.isVisible("#signin")).toBe(true);
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.errors).toEqual([]);
  });

  it("lets no file of the assets directory shadow a path of the origin", async () => {
    const token = raw("shadow");
    await api("POST", "/tokens", { token, id: raw("shadow-id"), subject: raw("shadow-subject") });
    const files = readdirSync("assets", { recursive: true, withFileTypes: true })
      .filter((f) => f.isFile())
      .map((f) => `${f.parentPath}/${f.name}`.replace(/^assets\//, ""));
    expect(files).toContain("console/index.html");
    for (const file of files) {
      const content = readFileSync(`assets/${file}`, "utf8");
      // at the file's own path the guard answers first: 401 without a token, the origin with one
      expect((await fetch(`${dev.url}/${file}`)).status, file).toBe(401);
      const res = await fetch(`${dev.url}/${file}`, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status, file).toBe(200);
      const body = await res.text();
      expect(body, file).not.toBe(content);
      expect(JSON.parse(body).url, file).toContain(`/${file}`); // the echo origin saw the request
    }
  });

  it("refuses a wrong admin token with a plain message, then signs in with the right one", async () => {
    const { page, seen } = await openConsole();
    await signIn(page, "not-the-admin-token-at-all");
    await expect.poll(() => page.textContent("#signin-error")).toContain("Token not accepted.");
    expect(await page.isVisible("#app")).toBe(false);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.screenshot({ path: `${SHOTS}/1-sign-in-refused.png` });
    await signIn(page);
    await expect.poll(() => page.isVisible("#app")).toBe(true);
    expect(await page.isVisible("#signin")).toBe(false);
    // kept for this tab only: no cookie, nothing in localStorage
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([ADMIN]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await context!.cookies()).toEqual([]);
    expect(seen.dialogs).toEqual([]);
  });

  it("asks for the token again once the tab is closed, keeps it across a reload, and forgets it on sign-out", async () => {
    const first = await openConsole();
    await signIn(first.page);
    await expect.poll(() => first.page.isVisible("#app")).toBe(true);
    await first.page.reload();
    await expect.poll(() => first.page.isVisible("#app")).toBe(true); // same tab: same session
    await first.page.close();
    const second = await openConsole(); // a new tab, same browser profile
    await expect.poll(() => second.page.isVisible("#signin")).toBe(true);
    expect(await second.page.isVisible("#app")).toBe(false);
    await signIn(second.page);
    await expect.poll(() => second.page.isVisible("#app")).toBe(true);
    await second.page.click("#signout");
    await expect.poll(() => second.page.isVisible("#signin")).toBe(true);
    expect(await second.page.evaluate(() => sessionStorage.length)).toBe(0);
    await second.page.reload();
    await expect.poll(() => second.page.isVisible("#signin")).toBe(true);
  });

  it("finds a subject's tokens, revokes one (the guard refuses it at once), then all, and the activity shows it", async () => {
    const subject = raw("subject");
    const tokens = [raw("t"), raw("t"), raw("t")];
    for (const [i, token] of tokens.entries())
      await api("POST", "/tokens", { token, id: `${subject}-${i}`, subject, clientId: "app-1", keyId: "k-1" });
    // the guard admits all three, and its verdict cache now holds them as live
    for (const token of tokens) expect(await guard(token)).toBe(200);

    const { page, seen } = await openConsole();
    await signIn(page);
    await page.fill("#subject-input", subject);
    await page.press("#subject-input", "Enter");
    const rows = page.locator("#subject-tokens tbody tr[data-id]");
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.nth(0).textContent()).toContain("app-1");
    expect(await rows.nth(0).textContent()).toContain("k-1");
    await page.screenshot({ path: `${SHOTS}/2-subject.png`, fullPage: true });

    await page.click(`#subject-tokens tr[data-id="${subject}-1"] button.revoke`);
    await expect.poll(() => rows.count()).toBe(2); // re-read: the revoked row is gone
    expect(await page.locator(`#subject-tokens tr[data-id="${subject}-1"]`).count()).toBe(0);
    expect(await Promise.all(tokens.map(guard))).toEqual([200, 401, 200]);

    await page.click("#subject-revoke-all");
    await expect.poll(() => page.isVisible("#subject-confirm")).toBe(true);
    expect(await guard(tokens[0]!)).toBe(200); // nothing happens before the confirmation
    await page.click("#subject-confirm-yes");
    await expect.poll(() => page.textContent("#subject-message")).toContain("Revoked all");
    await expect.poll(() => rows.count()).toBe(0);
    expect(await Promise.all(tokens.map(guard))).toEqual([401, 401, 401]);
    const cutoff = page.locator("#activity li[data-type=subject]", { hasText: subject });
    await expect.poll(() => cutoff.count(), { timeout: 8_000 }).toBeGreaterThan(0);
    expect(await page.locator("#activity li[data-type=token]").count()).toBeGreaterThan(0); // the one revoked by id
    // the audit trail beside it names who did it
    const audited = page.locator("#audit li[data-action=revokeSubject]", { hasText: subject });
    await expect.poll(() => audited.count(), { timeout: 8_000 }).toBe(1);
    expect(await audited.textContent()).toContain("admin-token");
    expect(await page.locator("#audit li[data-action=revokeById]", { hasText: `${subject}-1` }).count()).toBe(1);
    await page.screenshot({ path: `${SHOTS}/3-activity.png`, fullPage: true });
    expect(seen.dialogs).toEqual([]);
    expect(seen.errors).toEqual([]);
  });

  it("checks a pasted token, revokes it without ever writing it into the page, and clears the box", async () => {
    const token = raw("pasted");
    await api("POST", "/tokens", { token, id: raw("pasted-id"), subject: raw("pasted-subject") });
    const { page } = await openConsole();
    await signIn(page);
    await page.fill("#token-input", token);
    await page.press("#token-input", "Enter");
    await expect.poll(() => page.getAttribute("#token-status", "data-state")).toBe("live");
    await page.click("#token-revoke");
    await expect.poll(() => page.getAttribute("#token-status", "data-state")).toBe("revoked");
    expect(await page.inputValue("#token-input")).toBe("");
    expect(await guard(token)).toBe(401);
    await page.fill("#token-input", token);
    await page.press("#token-input", "Enter");
    await expect.poll(() => page.textContent("#token-status")).toMatch(/revoked at/i);
    await page.screenshot({ path: `${SHOTS}/4-token.png`, fullPage: true });
    await page.fill("#token-input", "");
    // the raw token is nowhere in the document, nor in any attribute
    expect(await page.content()).not.toContain(token);
    expect(await page.evaluate(() => document.body.innerText)).not.toContain(token);
    // nor in the tab's storage: only the admin token is kept there
    expect(
      await page.evaluate(() => JSON.stringify([Object.values(sessionStorage), Object.values(localStorage)])),
    ).toBe(JSON.stringify([[ADMIN], []]));
  });

  it("revokes a signing key behind a confirmation", async () => {
    const keyId = raw("key");
    const token = raw("keyed");
    await api("POST", "/tokens", { token, id: raw("keyed-id"), subject: raw("keyed-subject"), keyId });
    expect(await guard(token)).toBe(200);
    const { page } = await openConsole();
    await signIn(page);
    await page.fill("#key-input", keyId);
    await page.press("#key-input", "Enter");
    await expect.poll(() => page.isVisible("#key-confirm")).toBe(true);
    expect(await guard(token)).toBe(200);
    await page.click("#key-confirm-yes");
    await expect.poll(() => page.textContent("#key-message")).toContain(keyId);
    expect(await guard(token)).toBe(401);
    await expect
      .poll(() => page.locator("#activity li[data-type=key]", { hasText: keyId }).count(), { timeout: 8_000 })
      .toBe(1);
    await expect.poll(() => page.locator("#stats dt").count()).toBeGreaterThan(0);
    await page.screenshot({ path: `${SHOTS}/5-key-and-isolate.png`, fullPage: true });
  });

  it("shows a token's family, and revokes the family behind a confirmation that Cancel leaves alone", async () => {
    const family = raw("family");
    const [refresh, access] = [raw("fam-refresh"), raw("fam-access")];
    const subject = raw("fam-subject");
    await api("POST", "/tokens", { token: refresh, id: raw("fr-id"), subject, family, type: "refresh_token" });
    await api("POST", "/tokens", { token: access, id: raw("fa-id"), subject, family });
    const { page } = await openConsole();
    await signIn(page);
    await page.fill("#token-input", access);
    await page.press("#token-input", "Enter");
    await expect.poll(() => page.textContent("#token-status")).toContain(family);
    await page.fill("#family-input", family);
    await page.press("#family-input", "Enter");
    await expect.poll(() => page.isVisible("#family-confirm")).toBe(true);
    await page.click("#family-confirm-no");
    await expect.poll(() => page.isVisible("#family-confirm")).toBe(false);
    expect(await guard(access)).toBe(200);
    await page.press("#family-input", "Enter");
    await page.click("#family-confirm-yes");
    await expect.poll(() => page.textContent("#family-message")).toContain(family);
    expect(await guard(access)).toBe(401);
    expect(await guard(refresh)).toBe(401);
    await page.fill("#token-input", access);
    await page.press("#token-input", "Enter");
    await expect.poll(() => page.textContent("#token-status")).toMatch(/by family revocation/);
    await expect
      .poll(() => page.locator("#activity li[data-type=family]", { hasText: family }).count(), { timeout: 8_000 })
      .toBe(1);
  });

  it("shows a subject holding HTML and script as text: no element is made, no script runs, no dialog opens", async () => {
    const subject = `<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2;alert(2)</script>${run}`;
    const token = raw("hostile");
    await api("POST", "/tokens", { token, id: raw("hostile-id"), subject });
    const { page, seen } = await openConsole();
    await signIn(page);
    await page.fill("#subject-input", subject);
    await page.press("#subject-input", "Enter");
    await expect.poll(() => page.locator("#subject-tokens tbody tr[data-id]").count()).toBe(1);
    expect(await page.textContent("#subject-name")).toBe(subject);
    await page.click("#subject-revoke-all");
    expect(await page.textContent("#subject-confirm")).toContain(subject);
    await page.click("#subject-confirm-yes");
    await expect
      .poll(() => page.locator("#activity li[data-type=subject]", { hasText: subject }).count(), { timeout: 8_000 })
      .toBe(1);
    await page.screenshot({ path: `${SHOTS}/6-hostile-subject.png`, fullPage: true });
    expect(await page.locator("#app img, #app script").count()).toBe(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    expect(seen.dialogs).toEqual([]);
    expect(seen.errors).toEqual([]);
    expect(seen.consoleErrors).toEqual([]); // not even a CSP violation: nothing tried to run
  });

  it("shows a stored value holding a bidi override isolated, the override written out: the line's ok still reads ok", async () => {
    // straight into the backend, as a value stored before the identifier rule (or by other code) would be
    const subject = `mallory-${run}\u202Eevil`;
    const redis = directRedis();
    try {
      const entry = {
        at: Date.now(),
        actor: "admin-token",
        action: "revokeSubject",
        target: { subject },
        result: "ok",
      };
      await redis.xadd(`${inject("runPrefix")}console:a`, "*", "r", JSON.stringify(entry));
    } finally {
      redis.disconnect();
    }
    // and the same value offered through the admin API is refused, naming the code point
    const refused = await fetch(`${dev.url}/admin/tokens`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ token: raw("bidi"), id: raw("bidi-id"), subject }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("U+202E");
    const { page, seen } = await openConsole();
    await signIn(page);
    const line = page.locator("#audit li[data-action=revokeSubject]", { hasText: `mallory-${run}` });
    await expect.poll(() => line.count(), { timeout: 8_000 }).toBe(1);
    const text = (await line.textContent())!;
    expect(text).toContain(`mallory-${run}⟨U+202E⟩evil`); // the marker is visible
    expect(text).not.toContain("\u202E"); // and the override itself is not in the page
    expect(text.endsWith(": ok")).toBe(true);
    // laid out left to right: the "o" of "ok" stands left of its "k", as a reader sees it
    const [o, k] = await line.evaluate((li) => {
      const walker = li.ownerDocument.createTreeWalker(li, 4 /* NodeFilter.SHOW_TEXT */);
      let last: Text | undefined;
      while (walker.nextNode()) last = walker.currentNode as Text;
      const at = (i: number) => {
        const range = li.ownerDocument.createRange();
        range.setStart(last!, i);
        range.setEnd(last!, i + 1);
        return range.getBoundingClientRect().left;
      };
      const n = (last as unknown as { data: string }).data.length;
      return [at(n - 2), at(n - 1)];
    });
    expect(o).toBeLessThan(k);
    expect(await line.locator("bdi").count()).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: `${SHOTS}/7-bidi-override.png`, fullPage: true });
    expect(seen.errors).toEqual([]);
  });

  it("signs in through Cloudflare Access without a token, and the audit trail names the person", async () => {
    const email = `dana-${run}@example.com`;
    const keyId = raw("access-key");
    const { page, seen } = await openConsole({ "Cf-Access-Jwt-Assertion": await accessAssertion(email) });
    await expect.poll(() => page.isVisible("#app")).toBe(true); // no sign-in form: Access already says who
    expect(await page.textContent("#whoami")).toContain(email);
    expect(await page.isVisible("#signout")).toBe(false); // an Access session ends at Access
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.fill("#key-input", keyId);
    await page.press("#key-input", "Enter");
    await page.click("#key-confirm-yes");
    await expect.poll(() => page.textContent("#key-message")).toContain(keyId);
    const record = page.locator("#audit li[data-action=revokeKey]", { hasText: keyId });
    await expect.poll(() => record.count(), { timeout: 8_000 }).toBe(1);
    expect(await record.textContent()).toContain(email);
    await page.screenshot({ path: `${SHOTS}/7-access-and-audit.png`, fullPage: true });
    expect(seen.dialogs).toEqual([]);
    expect(seen.errors).toEqual([]);
  });
});
