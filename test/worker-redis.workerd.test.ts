/**
 * End to end on the Redis backend: the Worker inside workerd, @upstash/redis over fetch, the
 * project's Upstash-compatible endpoint and a real redis-server, all on loopback.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import worker from "../src/worker.js";
import type { SeenRequest } from "./support/echo-origin.js";

const upstash = inject("upstashUrl");
const upstashAuth = { Authorization: `Bearer ${inject("upstashToken")}` };
const redisEnv = {
  ...env,
  UPSTASH_REDIS_REST_URL: upstash,
  UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
  KEY_PREFIX: `${inject("runPrefix")}worker:`,
  STORE_TIMEOUT_MS: "10000", // generous: a loaded machine must not turn a slow answer into a 503
};

const call = (path: string, init: RequestInit = {}, bindings = redisEnv) =>
  worker.fetch(
    new Request(`https://edge.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>,
    bindings,
    createExecutionContext(),
  );
const admin = (path: string, body: unknown, bindings = redisEnv) =>
  call(
    path,
    {
      method: "POST",
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    },
    bindings,
  );
const seenAt = async (path: string): Promise<unknown[]> =>
  (await fetch(`${inject("originUrl")}/__seen?path=${encodeURIComponent(path)}`)).json();
/** Requests the Upstash endpoint received while `fn` ran. */
async function upstashRequests(fn: () => Promise<unknown>): Promise<number> {
  await fetch(`${upstash}/__stats/reset`, { method: "POST", headers: upstashAuth });
  await fn();
  return ((await (await fetch(`${upstash}/__stats`, { headers: upstashAuth })).json()) as { requests: number })
    .requests;
}

describe("the Worker on the Redis backend", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("with the cache off: stores, admits, revokes and refuses a token, one Redis round trip per guarded request", async () => {
    const off = { ...redisEnv, CACHE_MAX_STALENESS_MS: "0" };
    const token = `redis-e2e-${crypto.randomUUID()}`;
    expect((await admin("/admin/tokens", { token, id: `id-${token}`, subject: "carol" }, off)).status).toBe(201);
    const path = `/redis-${crypto.randomUUID()}`;
    await call("/warm-up", { headers: { Authorization: `Bearer ${token}` } }, off); // loads the GET script once

    for (let i = 0; i < 3; i++) {
      let res!: Response;
      expect(
        await upstashRequests(
          async () => (res = await call(path, { headers: { Authorization: `Bearer ${token}` } }, off)),
        ),
      ).toBe(1);
      expect(res.status).toBe(200);
      expect(((await res.json()) as SeenRequest).headers["x-token-subject"]).toBe("carol");
    }

    expect((await admin("/admin/tokens/revoke", { token }, off)).status).toBe(200);
    let denied!: Response;
    expect(
      await upstashRequests(
        async () => (denied = await call(path, { headers: { Authorization: `Bearer ${token}` } }, off)),
      ),
    ).toBe(1);
    expect(denied.status).toBe(401);
    expect(await seenAt(path)).toHaveLength(3);
    expect(
      await (await call("/admin/stats", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }, off)).json(),
    ).toEqual({ scope: "isolate", cache: null });
  });

  it("with the cache on (the default): one round trip for the first request, none for the next, and a revocation here is refused at once", async () => {
    const token = `redis-cache-${crypto.randomUUID()}`;
    expect((await admin("/admin/tokens", { token, id: `id-${token}`, subject: "erin" })).status).toBe(201);
    const path = `/cached-${crypto.randomUUID()}`;
    await call("/warm-up", { headers: { Authorization: `Bearer never-${token}` } }); // loads the LOOKUP script once

    const statuses: number[] = [];
    const requests = await upstashRequests(async () => {
      for (let i = 0; i < 5; i++)
        statuses.push((await call(path, { headers: { Authorization: `Bearer ${token}` } })).status);
    });
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    // one miss, then hits; a background sync may start past half the bound on a slow machine
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThanOrEqual(2);

    expect((await admin("/admin/tokens/revoke", { token })).status).toBe(200);
    expect((await call(path, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
    expect(await seenAt(path)).toHaveLength(5);
    const stats = (await (
      await call("/admin/stats", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } })
    ).json()) as { scope: string; cache: Record<string, number> };
    expect(stats.scope).toBe("isolate");
    expect(stats.cache).toMatchObject({ maxStalenessMs: 1000, maxEntries: 10_000 });
    expect(stats.cache.hits).toBeGreaterThanOrEqual(4);
    for (const k of [
      ...["checked", "misses", "syncs", "syncFailures", "resets", "lastSyncAgeMs", "size"],
      ...["sharedHits", "sharedMisses", "sharedStale", "sharedRejected", "sharedFeedReads", "sharedFailures"],
    ])
      expect(typeof stats.cache[k], k).toBe("number");
  });

  it("introspects through OAuth and lists a subject's tokens from Redis", async () => {
    const token = `redis-oauth-${crypto.randomUUID()}`;
    const subject = `dave-${crypto.randomUUID()}`;
    await admin("/admin/tokens", { token, id: `id-${token}`, subject });
    const res = await call("/oauth/introspect", {
      method: "POST",
      headers: {
        Authorization: `Basic ${btoa("client-a:client-a-secret-0123456789")}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(await res.json()).toMatchObject({ active: true, sub: subject, jti: `id-${token}` });
    const list = await call(`/admin/subjects/${subject}/tokens`, {
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });
    expect(((await list.json()) as { tokens: { id: string }[] }).tokens.map((t) => t.id)).toEqual([`id-${token}`]);
  });

  it("cleans up expired tokens from Redis on the cron", async () => {
    const logs = vi.spyOn(console, "log").mockImplementation(() => {});
    vi.useFakeTimers({ toFake: ["Date"] });
    const token = `redis-cron-${crypto.randomUUID()}`;
    await admin("/admin/tokens", { token, id: `id-${token}`, subject: "cron", expiresAt: Date.now() + 1000 });
    vi.setSystemTime(Date.now() + 5000);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/15 * * * *" }), redisEnv, ctx);
    await waitOnExecutionContext(ctx);
    const line = logs.mock.calls
      .map((c) => JSON.parse(String(c[0])) as { event: string; removed: number })
      .find((l) => l.event === "cleanup");
    expect(line?.removed).toBeGreaterThanOrEqual(1);
    expect((await admin("/admin/tokens/lookup", { token })).status).toBe(404);
  });
});

describe("JWTs on the Redis backend", () => {
  it("checks a JWT in exactly one round trip with the cache off, and in none on a cache hit", async () => {
    const { exportJWK, generateKeyPair, SignJWT } = await import("jose");
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "e2e", alg: "ES256" }] });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sub: `e2e-${crypto.randomUUID()}`, jti: "e2e" })
      .setProtectedHeader({ alg: "ES256", kid: "e2e" })
      .setIssuedAt(now - 5)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    const forged = `${token.slice(0, -6)}AAAAAA`;
    const headers = { Authorization: `Bearer ${token}` };
    for (const cache of ["0", "1000"]) {
      const bindings = { ...redisEnv, JWT_JWKS: jwks, CACHE_MAX_STALENESS_MS: cache };
      await call("/warm", { headers }, bindings); // loads the script; with the cache on, caches the verdict
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        let res!: Response;
        counts.push(await upstashRequests(async () => (res = await call(`/jwt-${cache}`, { headers }, bindings))));
        expect(res.status).toBe(200);
      }
      // cache off: one each; cache on: hits (a background sync could start past half the bound on a slow machine)
      if (cache === "0") expect(counts).toEqual([1, 1, 1]);
      else expect(counts.reduce((a, b) => a + b)).toBeLessThanOrEqual(1);
      let denied!: Response;
      expect(
        await upstashRequests(
          async () =>
            (denied = await call("/jwt-forged", { headers: { Authorization: `Bearer ${forged}` } }, bindings)),
        ),
      ).toBe(0);
      expect(denied.status).toBe(401);
    }
  });
});

describe("rotating TOKEN_HASH_KEY on the Redis backend", () => {
  it("keeps a token stored under the old pepper live and revocable, in one round trip per request", async () => {
    const token = `rotate-${crypto.randomUUID()}`;
    const prefix = `${inject("runPrefix")}rotate-${crypto.randomUUID()}:`;
    const before = { ...redisEnv, KEY_PREFIX: prefix, TOKEN_HASH_KEY: "pepper-one", CACHE_MAX_STALENESS_MS: "0" };
    expect((await admin("/admin/tokens", { token, id: `id-${token}`, subject: "rotating" }, before)).status).toBe(201);
    const during = { ...before, TOKEN_HASH_KEY: "pepper-two", TOKEN_HASH_KEY_PREVIOUS: "pepper-one" };
    await call("/warm", { headers: { Authorization: "Bearer not-stored" } }, during); // loads the scripts
    let res!: Response;
    expect(
      await upstashRequests(
        async () => (res = await call("/rotated", { headers: { Authorization: `Bearer ${token}` } }, during)),
      ),
    ).toBe(1);
    expect(res.status).toBe(200);
    const after = { ...during, TOKEN_HASH_KEY_PREVIOUS: "" };
    expect((await call("/moved", { headers: { Authorization: `Bearer ${token}` } }, after)).status).toBe(200); // moved by its first use
    expect((await admin("/admin/tokens/revoke", { token }, after)).status).toBe(200);
    expect((await call("/revoked", { headers: { Authorization: `Bearer ${token}` } }, after)).status).toBe(401);
  });
});
