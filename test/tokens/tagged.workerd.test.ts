/**
 * Forged credentials cost nothing: tagged tokens minted by the admin API, checked at the edge
 * by the guard, the admin API and OAuth with no store call, in both TOKEN_FORMAT modes; and
 * the failure limit on a real Workers Rate Limiting binding (vitest.config.ts: TEST_LIMITER).
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FailureLimit } from "../../src/middleware/guard/failure-limit.js";
import { TokenTags } from "../../src/tokens/tagged.js";
import { adminJson, bearer, CLIENT_ID, CLIENT_SECRET, harness } from "../support/worker.js";
import { memorySnapshot } from "../support/memory.js";

const tags = new TokenTags({ secret: "tag-test-pepper" });
const tagged = () => harness({ tags, config: { tokenFormat: "tagged" } });
const anyFormat = () => harness({ tags });
const flipLast = (t: string) => t.slice(0, -1) + (t.endsWith("A") ? "B" : "A");

async function mint(h: ReturnType<typeof harness>, subject = "alice"): Promise<string> {
  const res = await h.app.request("/admin/tokens", adminJson({ id: `id-${crypto.randomUUID()}`, subject }));
  expect(res.status).toBe(201);
  const body = (await res.json()) as { token: string; subject: string };
  expect(body.subject).toBe(subject);
  return body.token;
}

describe("minted tokens", () => {
  it("are minted by POST /admin/tokens without a token, shown once, stored by hash only, and admitted", async () => {
    const h = tagged();
    const token = await mint(h);
    expect(token).toMatch(/^ets_[A-Za-z0-9_-]{48}$/);
    expect(JSON.stringify(memorySnapshot(h.memory))).not.toContain(token);
    expect((await h.app.request("/api/x", { headers: bearer(token) })).status).toBe(200);
    expect(h.origin).toHaveLength(1);
    // a lookup answers the metadata, never the token again
    const looked = await h.app.request("/admin/tokens/lookup", adminJson({ token }));
    expect(JSON.stringify(await looked.json())).not.toContain(token);
  });

  it("cannot be minted without a tag key: 400 naming TOKEN_HASH_KEY", async () => {
    const h = harness();
    const res = await h.app.request("/admin/tokens", adminJson({ id: "no-key", subject: "s" }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("TOKEN_HASH_KEY");
    expect(h.store.total()).toBe(0);
  });
});

describe("minting under hostile input", () => {
  it("never answers a 5xx, stores nothing when it refuses, and mints only usable tokens", async () => {
    const h = tagged();
    let minted = 0;
    const hostile = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }), // lone surrogates, controls
      fc.constantFrom("%00", "%2F..%2F", "a\u0000b", "\ud800", " ", "x".repeat(300)),
      fc.string({ maxLength: 20 }).map((x) => `%${x}`),
    );
    await fc.assert(
      fc.asyncProperty(
        hostile,
        hostile,
        fc.record(
          {
            status: hostile,
            keyId: hostile,
            type: hostile,
            clientId: hostile,
            issuer: hostile,
            // dates: hostile strings, numbers out of range, and real ones
            issuedAt: fc.oneof(hostile, fc.double(), fc.constant(Date.UTC(2026, 10, 27, 11))),
            expiresAt: fc.oneof(hostile, fc.double(), fc.constant(Date.UTC(2026, 10, 27, 13))),
          },
          { requiredKeys: [] },
        ),
        async (id, subject, optional) => {
          const before = memorySnapshot(h.memory).tokens.length;
          const res = await h.app.request("/admin/tokens", adminJson({ id, subject, ...optional }));
          expect(res.status).toBeLessThan(500);
          if (res.status !== 201) {
            expect(memorySnapshot(h.memory).tokens).toHaveLength(before);
            return;
          }
          const { token } = (await res.json()) as { token: string };
          minted++;
          expect(await tags.check(token)).toBe("valid");
          expect((await h.app.request("/api/x", { headers: bearer(token) })).status).toBe(200);
        },
      ),
      { numRuns: 150 },
    );
    expect(minted).toBeGreaterThan(0); // the property reached the mint, not only refusals
  });

  it("refuses a null token, a repeated token field whose last value is untagged, and the wrong method, without a 5xx or a store call", async () => {
    const h = tagged();
    for (const body of [
      '{"token":null,"id":"n","subject":"s"}',
      // JSON.parse keeps the last of a repeated field: "b", untagged, so refused at the edge
      '{"token":"a","token":"b","id":"r","subject":"s"}',
      '{"id":"n","subject":"s","token":""}',
    ]) {
      const res = await h.app.request("/admin/tokens", adminJson(body));
      expect(res.status, body).toBe(400);
    }
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await h.app.request("/admin/tokens", {
        ...adminJson({ id: "m", subject: "s" }),
        method,
        ...(method === "GET" ? { body: undefined } : {}),
      });
      expect(res.status, method).toBeGreaterThanOrEqual(400);
      expect(res.status, method).toBeLessThan(500);
    }
    expect(h.store.total()).toBe(0);
  });
});

describe("forged tokens cost no store call", () => {
  const refusedLikeUnknown = async (h: ReturnType<typeof harness>, token: string) => {
    const res = await h.app.request("/api/x", { headers: bearer(token) });
    return { status: res.status, challenge: res.headers.get("WWW-Authenticate"), body: await res.text() };
  };

  it("answers a tampered tag, a truncated token and a wrong prefix exactly as an unknown token, with TOKEN_FORMAT=tagged", async () => {
    const h = tagged();
    const good = await mint(h);
    // an unknown token with a valid tag is the one kind that still asks the store
    const unknown = await refusedLikeUnknown(h, await tags.mint());
    expect(unknown.status).toBe(401);
    const calls = h.store.total();
    for (const forged of [flipLast(good), good.slice(0, -1), `xyz_${good.slice(4)}`, "an-untagged-token"]) {
      expect(await refusedLikeUnknown(h, forged), forged).toEqual(unknown);
    }
    expect(h.store.total()).toBe(calls);
    expect(h.origin).toHaveLength(0);
  });

  it("still checks tagged tokens at the edge with TOKEN_FORMAT=any, and admits an untagged stored token", async () => {
    const h = anyFormat();
    await h.memory.store("legacy-untagged-token", { id: "legacy", subject: "s" });
    const good = await mint(h);
    const calls = h.store.total();
    expect((await h.app.request("/api/x", { headers: bearer(flipLast(good)) })).status).toBe(401);
    expect(h.store.total()).toBe(calls); // the bad tag never reached the store
    expect((await h.app.request("/api/x", { headers: bearer("legacy-untagged-token") })).status).toBe(200);
    expect((await h.app.request("/api/x", { headers: bearer(good) })).status).toBe(200);
  });

  it("refuses to store an untagged or badly tagged token where it could never be used", async () => {
    for (const [h, token] of [
      [tagged(), "an-untagged-token"],
      [anyFormat(), flipLast(await tags.mint())],
    ] as const) {
      const res = await h.app.request("/admin/tokens", adminJson({ token, id: "x", subject: "s" }));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
      expect(h.store.total()).toBe(0);
    }
  });

  it("answers forged tokens in the admin API and OAuth without a store call", async () => {
    const h = tagged();
    const forged = flipLast(await mint(h));
    const calls = h.store.total();
    for (const path of [
      "/admin/tokens/lookup",
      "/admin/tokens/status",
      "/admin/tokens/revoke",
      "/admin/tokens/delete",
    ]) {
      const res = await h.app.request(path, adminJson({ token: forged }));
      expect(res.status, path).toBe(404);
    }
    const form = (path: string) =>
      h.app.request(path, {
        method: "POST",
        headers: {
          Authorization: `Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ token: forged }).toString(),
      });
    expect(await (await form("/oauth/introspect")).json()).toEqual({ active: false });
    expect((await form("/oauth/revoke")).status).toBe(200);
    expect(h.store.total()).toBe(calls);
  });

  it("admits tokens of the previous tag key during a rotation", async () => {
    const before = new TokenTags({ secret: "pepper-before" });
    const h = harness({
      tags: new TokenTags({ secret: "pepper-after", previousSecrets: ["pepper-before"] }),
      config: { tokenFormat: "tagged" },
    });
    const old = await before.mint();
    await h.memory.store(old, { id: "old", subject: "s" });
    expect((await h.app.request("/api/x", { headers: bearer(old) })).status).toBe(200);
    const fresh = await mint(h);
    expect(await new TokenTags({ secret: "pepper-after" }).check(fresh)).toBe("valid");
  });

  it("never answers a 5xx and never calls the store for a hostile tagged-looking token", async () => {
    const h = tagged();
    const good = await mint(h);
    const calls = h.store.total();
    const looksTagged = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_-]{48}$/).map((s) => `ets_${s}`),
      fc.integer({ min: 0, max: good.length - 1 }).map((i) => good.slice(0, i) + "%" + good.slice(i + 1)),
      fc.integer({ min: 4, max: good.length - 1 }).map((i) => good.slice(0, i) + good.slice(i + 1)),
      fc.string({ unit: "binary-ascii", maxLength: 80 }).map((s) => `ets_${s}`),
    );
    await fc.assert(
      fc.asyncProperty(looksTagged, async (t) => {
        const res = await h.app.request("/api/x", {
          headers: { Authorization: `Bearer ${t}`.replace(/[\r\n\0]/g, "") },
        });
        expect(res.status).toBeLessThan(500);
        expect(res.status).not.toBe(200);
      }),
      { numRuns: 200 },
    );
    expect(h.store.total()).toBe(calls);
  });
});

describe("the failure limit (a real Rate Limiting binding, 3 failures a minute)", () => {
  const limited = () =>
    harness({ failureLimit: new FailureLimit({ limiter: env.TEST_LIMITER, clientHeader: "CF-Connecting-IP" }) });
  const from = (ip: string, token: string) => ({ headers: { ...bearer(token), "CF-Connecting-IP": ip } });

  it("answers 429 with Retry-After past the limit, before any store call, for that client only", async () => {
    const h = limited();
    await h.memory.store("live-token", { id: "live", subject: "s" });
    const attacker = `10.0.0.${Math.floor(Math.random() * 250)}-${crypto.randomUUID()}`;
    const other = `other-${crypto.randomUUID()}`;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await h.app.request("/api/x", from(attacker, `forged-${i}`))).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const calls = h.store.total();
    const refused = await h.app.request("/api/x", from(attacker, "live-token"));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("60");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("too_many_failures");
    expect(h.store.total()).toBe(calls); // refused before the store
    expect((await h.app.request("/api/x", from(other, "live-token"))).status).toBe(200);
    expect((await h.app.request("/api/x", from(other, "forged-x"))).status).toBe(401);
  });

  it("counts nothing for a request with no client header, and limits nothing without the binding", async () => {
    const h = limited();
    for (let i = 0; i < 5; i++) expect((await h.app.request("/api/x", { headers: bearer(`f-${i}`) })).status).toBe(401);
    const plain = harness();
    for (let i = 0; i < 5; i++) expect((await plain.app.request("/api/x", from("1.2.3.4", `f-${i}`))).status).toBe(401);
  });
});
