/**
 * The console's files and the routes it added, inside workerd: the Worker as deployed (exports.default,
 * with the ASSETS binding wrangler.toml declares), and hostile input to every new route.
 */
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONSOLE_CSP } from "../../src/routes/console.js";
import { ADMIN, adminJson, bearer, harness, unreachableStore } from "../support/worker.js";

type Body = { error: { code: string; message: string } };

/** Strings a hostile client puts in a path or a query: controls, %-sequences, dots, slashes, long ones. */
const hostile = fc.oneof(
  fc.string({ unit: "binary", maxLength: 16 }),
  fc.constantFrom(
    "",
    ".",
    "..",
    "../openapi.json",
    "%2e%2e%2fopenapi.json",
    "%2E%2E/openapi.json",
    "..%2fopenapi.json",
    "openapi.json",
    "index.html",
    "console.js%00",
    "console.js/",
    "CONSOLE.JS",
    "%",
    "%zz",
    "%00",
    "\ud800",
    "a\r\nX: y",
    "x".repeat(5000),
  ),
);

/**
 * Percent-encodes a string as a client can send it: UTF-8, and a lone surrogate as the three
 * bytes it would take (encodeURIComponent throws on one, a hostile client does not care).
 */
function encodeHostile(s: string): string {
  let out = "";
  for (const ch of s) {
    const u = ch.charCodeAt(0);
    if (ch.length === 1 && u >= 0xd800 && u <= 0xdfff)
      out += [0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join("");
    else out += encodeURIComponent(ch);
  }
  return out;
}

/** "." and ".." are dot segments: the URL parser resolves them before the Worker sees a path. */
const segment = hostile.filter((s) => s !== "." && s !== "..");

describe("the console's files, from the Worker as deployed", () => {
  it("serves the page and its two files with the CSP, no framing and no referrer, to anyone", async () => {
    for (const path of [
      "/admin/console",
      "/admin/console/",
      "/admin/console/console.js",
      "/admin/console/console.css",
    ]) {
      const res = await exports.default.fetch(`https://worker.test${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("Content-Security-Policy"), path).toBe(CONSOLE_CSP);
      expect(res.headers.get("X-Frame-Options"), path).toBe("DENY");
      expect(res.headers.get("Referrer-Policy"), path).toBe("no-referrer");
      expect(res.headers.get("X-Content-Type-Options"), path).toBe("nosniff");
      expect((await res.text()).length, path).toBeGreaterThan(100);
    }
    const page = await (await exports.default.fetch("https://worker.test/admin/console")).text();
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script for the CSP to allow
    expect(page).not.toMatch(/\son[a-z]+=/i); // no inline event handler
  });

  it("cannot be framed by any origin: each console file's CSP holds one frame-ancestors directive, and it is 'none'", async () => {
    // written out here, not taken from CONSOLE_CSP: browsers ignore X-Frame-Options when the CSP names frame-ancestors
    for (const path of ["/admin/console", "/admin/console/console.js", "/admin/console/console.css"]) {
      const res = await exports.default.fetch(`https://worker.test${path}`);
      expect(res.status, path).toBe(200);
      const policies = res.headers.get("Content-Security-Policy")!.split(",");
      expect(policies, path).toHaveLength(1);
      const directives = policies[0]!
        .split(";")
        .map((d) => d.trim().split(/\s+/))
        .filter((d) => d[0] !== "");
      const framing = directives.filter(([name]) => name!.toLowerCase() === "frame-ancestors");
      expect(framing, path).toEqual([["frame-ancestors", "'none'"]]);
      expect(res.headers.get("X-Frame-Options"), path).toBe("DENY");
    }
  });

  it("hands nothing else of the assets directory out: the OpenAPI document only to the admin, on its own route", async () => {
    for (const path of ["/openapi.json", "/console/index.html", "/console/console.js", "/admin/console/openapi.json"]) {
      const res = await exports.default.fetch(`https://worker.test${path}`);
      expect([401, 404], path).toContain(res.status);
      expect(((await res.json()) as Body).error.code.length, path).toBeGreaterThan(0);
    }
    const doc = await exports.default.fetch("https://worker.test/admin/openapi.json", {
      headers: bearer(env.ADMIN_TOKEN!),
    });
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe("3.1.0");
  });

  it("answers any other console path with a JSON 404 and never a 5xx (fast-check)", async () => {
    const h = harness({ assets: env.ASSETS });
    await fc.assert(
      fc.asyncProperty(segment, async (name) => {
        const res = await h.app.request(`/admin/console/${encodeHostile(name)}`);
        const served = ["console.js", "console.css", "index.html", ""].includes(name); // "": the page
        expect(res.status, name.slice(0, 40)).toBe(served ? 200 : 404);
        if (!served) expect(((await res.json()) as Body).error.code).toBe("not_found");
      }),
      { numRuns: 150 },
    );
    expect(h.store.total()).toBe(0);
    // a dot segment leaves the console: "/admin/console/.." is the admin API, which wants the token
    expect((await h.app.request("/admin/console/..")).status).toBe(401);
  });

  it("says the console is not deployed when there is no ASSETS binding", async () => {
    const res = await harness().app.request("/admin/console");
    expect(res.status).toBe(404);
    expect(((await res.json()) as Body).error.message).toContain("ASSETS");
  });
});

describe("the routes the console uses", () => {
  it("inspect answers every state, and a forged or unknown token is unknown without an error", async () => {
    const h = harness();
    await h.store.store("insp-live", { id: "insp-1", subject: "insp" });
    await h.store.store("insp-revoked", { id: "insp-2", subject: "insp" });
    await h.store.revoke("insp-revoked");
    const states = [];
    for (const token of ["insp-live", "insp-revoked", "insp-unknown"]) {
      const res = await h.app.request("/admin/tokens/inspect", adminJson({ token }));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { state: string; revokedAt?: string; revokedBy?: string };
      expect(JSON.stringify(body)).not.toContain(token);
      states.push([body.state, body.revokedBy, body.revokedAt]);
    }
    expect(states).toEqual([
      ["live", undefined, undefined],
      ["revoked", "token", new Date(h.clock.t).toISOString()],
      ["unknown", undefined, undefined],
    ]);
  });

  it("revokes by id, refuses the token at once, and answers 404 for an id nobody holds", async () => {
    const h = harness();
    await h.store.store("by-id-token", { id: "by-id-1", subject: "s" });
    expect((await h.app.request("/p", { headers: bearer("by-id-token") })).status).toBe(200);
    const res = await h.app.request("/admin/tokens/by-id/by-id-1/revoke", { method: "POST", headers: bearer(ADMIN) });
    expect(await res.json()).toEqual({ revoked: true });
    expect((await h.app.request("/p", { headers: bearer("by-id-token") })).status).toBe(401);
    const none = await h.app.request("/admin/tokens/by-id/nobody/revoke", { method: "POST", headers: bearer(ADMIN) });
    expect(none.status).toBe(404);
    const down = harness({ store: unreachableStore() });
    const outage = await down.app.request("/admin/tokens/by-id/x/revoke", { method: "POST", headers: bearer(ADMIN) });
    expect(outage.status).toBe(503);
  });

  it("revokes by id exactly the token a hostile id names, and answers 400 or 404 otherwise, never a 5xx (fast-check)", async () => {
    const h = harness();
    await h.store.store("by-id-kept", { id: "kept", subject: "s" });
    let n = 0;
    const held = new Set<string>(); // ids a stored token holds, so a revoke must reach it
    await fc.assert(
      fc.asyncProperty(segment, fc.boolean(), async (id, store) => {
        const token = `by-id-hostile-${++n}`;
        if (
          store &&
          (await h.store.store(token, { id, subject: "s" }).then(
            () => true,
            () => false,
          ))
        )
          held.add(id);
        const res = await h.app.request(`/admin/tokens/by-id/${encodeHostile(id)}/revoke`, {
          method: "POST",
          headers: bearer(ADMIN),
        });
        if (held.has(id)) {
          expect(res.status, id.slice(0, 40)).toBe(200);
          expect(await h.store.getById(id).catch((e: { err?: { code: string } }) => e.err?.code)).toBe("token_revoked");
        } else expect([400, 404], id.slice(0, 40)).toContain(res.status);
      }),
      { numRuns: 150 },
    );
    expect(held.size).toBeGreaterThan(5); // the property did reach stored tokens
    expect(await h.store.isRevoked("by-id-kept")).toBe(false);
  });

  it("takes raw %-sequences in the new paths and queries as a client sends them: a 4xx or the decoded value, never a 5xx", async () => {
    const h = harness({ assets: env.ASSETS });
    const admin = { headers: bearer(ADMIN) };
    const cases: [string, RequestInit, number][] = [
      ["/admin/console/%2e%2e/openapi.json", {}, 401], // resolves to /admin/openapi.json: the admin's
      ["/admin/console/%zz", {}, 404],
      ["/admin/console/%00", {}, 404],
      ["/admin/console/console%2Ejs", {}, 200],
      ["/admin/activity?limit=%35", admin, 200], // "5"
      ["/admin/activity?limit=%", admin, 400],
      ["/admin/activity?limit=%00", admin, 400],
      ["/admin/audit?limit=%zz", admin, 400],
      ["/admin/audit?since=%ED%A0%80", admin, 400],
      ["/admin/audit?before=%31-%30", admin, 200], // "1-0"
      ["/admin/tokens/by-id/%zz/revoke", { ...admin, method: "POST" }, 404],
      ["/admin/tokens/by-id/%ED%A0%80/revoke", { ...admin, method: "POST" }, 404], // kept as sent: no such id
    ];
    for (const [path, init, status] of cases) {
      const res = await h.app.request(path, init);
      expect(res.status, path).toBe(status);
    }
  });

  it("answers the wrong method on every new route with a 4xx and no store call", async () => {
    const h = harness({ assets: env.ASSETS });
    const admin = bearer(ADMIN);
    for (const [method, path] of [
      ["GET", "/admin/tokens/inspect"],
      ["PUT", "/admin/tokens/inspect"],
      ["GET", "/admin/tokens/by-id/x/revoke"],
      ["DELETE", "/admin/tokens/by-id/x/revoke"],
      ["POST", "/admin/activity"],
      ["POST", "/admin/audit"],
      ["POST", "/admin/console"],
      ["PUT", "/admin/console/console.js"],
      ["POST", "/admin/console/session"],
    ]) {
      const res = await h.app.request(path!, { method, headers: admin });
      expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
    }
    expect(h.store.total()).toBe(0);
  });

  it("lists activity newest first, by fingerprint, and refuses any limit but one whole number from 1 to 1000", async () => {
    const h = harness();
    await h.store.store("act-token", { id: "act-1", subject: "act" });
    await h.store.revoke("act-token");
    h.clock.t += 1_000;
    await h.store.revokeSubject("act-subject");
    const res = await h.app.request("/admin/activity?limit=5", { headers: bearer(ADMIN) });
    const { changes } = (await res.json()) as { changes: Record<string, unknown>[] };
    expect(changes.map((c) => [c.type, c.subject ?? c.fingerprint, c.at])).toEqual([
      ["subject", "act-subject", new Date(h.clock.t).toISOString()],
      ["token", expect.stringMatching(/^[0-9a-f]{12}$/), new Date(h.clock.t - 1_000).toISOString()],
    ]);
    expect(JSON.stringify(changes)).not.toContain("act-token");
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostile.filter((s) => !/^[0-9]{1,4}$/.test(s) || Number(s) < 1 || Number(s) > 1000),
          fc.constantFrom("0", "1001", "-1", "1.5", "1e2", " 5", "5 ", "0x10", "99999"),
        ),
        fc.boolean(),
        async (limit, repeat) => {
          const query = `limit=${encodeHostile(limit)}${repeat ? "&limit=5" : ""}`;
          const bad = await h.app.request(`/admin/activity?${query}`, { headers: bearer(ADMIN) });
          expect(bad.status, query.slice(0, 40)).toBe(400);
          expect(((await bad.json()) as Body).error.code).toBe("invalid_request");
        },
      ),
      { numRuns: 150 },
    );
    const repeated = await h.app.request("/admin/activity?limit=5&limit=5", { headers: bearer(ADMIN) });
    expect(repeated.status).toBe(400);
  });
});
