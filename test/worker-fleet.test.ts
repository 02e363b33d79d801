/**
 * The deployed Worker as a data center runs it: three Workers in one Miniflare stand for three
 * isolates of one data center. They share one Cache API (the data-center tier), each has its own
 * memory, and all run the bundle `wrangler deploy` ships, on Redis through the project's
 * endpoint. From Node the test reads and writes that same cache, the way a hostile or broken
 * tier would: it replays old entries, drops entries, and plants forged ones.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createHasher, SharedTier, type SharedCache } from "../src/store/index.js";
import { SHARED_CACHE_NAME } from "../src/runtime.js";
import { COMPATIBILITY_DATE, startMiniflare } from "./support/miniflare.js";
import { ENDPOINT_TOKEN, startEndpoint, uniquePrefix } from "./support/redis.js";
import type { UpstashEndpoint } from "./support/upstash-endpoint.js";

const ADMIN = "fleet-admin-token-0123456789";
const PEPPER = "fleet-pepper";
const BOUND = 1000;
const ISOLATES = ["a", "b", "c"] as const;
const keyPrefix = uniquePrefix("fleet");

let dir: string;
let endpoint: UpstashEndpoint;
let mf: Miniflare;
let workers: Record<(typeof ISOLATES)[number], { fetch(url: string, init?: RequestInit): Promise<Response> }>;
/** The data-center tier as the Workers share it, opened from Node. */
let cache: SharedCache & { delete(request: Request): Promise<boolean> };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ets-fleet-"));
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", dir], {
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  endpoint = await startEndpoint();
  const bindings = {
    ADMIN_TOKEN: ADMIN,
    ORIGIN_URL: inject("originUrl"),
    UPSTASH_REDIS_REST_URL: endpoint.url,
    UPSTASH_REDIS_REST_TOKEN: ENDPOINT_TOKEN,
    KEY_PREFIX: keyPrefix,
    TOKEN_HASH_KEY: PEPPER,
    CACHE_MAX_STALENESS_MS: String(BOUND),
  };
  mf = startMiniflare({
    cf: false,
    // the Worker writes one audit line per admin write: not test output
    handleStructuredLogs: ({ level, message }) => {
      if (level === "error") process.stderr.write(`${message}\n`);
    },
    workers: ISOLATES.map((name) => ({
      name,
      scriptPath: join(dir, "worker.js"),
      modules: true,
      modulesRoot: dir,
      compatibilityDate: COMPATIBILITY_DATE,
      bindings,
    })),
  });
  await mf.ready;
  workers = Object.fromEntries(
    await Promise.all(ISOLATES.map(async (name) => [name, await mf.getWorker(name)] as const)),
  ) as unknown as typeof workers;
  cache = (await (await mf.getCaches()).open(SHARED_CACHE_NAME)) as unknown as typeof cache;
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  await endpoint?.close();
  rmSync(dir, { recursive: true, force: true });
});

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
const admin = (name: keyof typeof workers, path: string, body: unknown) =>
  workers[name].fetch(`https://edge.test${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
const guarded = async (name: keyof typeof workers, token: string) =>
  (await workers[name].fetch(`https://edge.test/fleet/${name}`, bearer(token))).status;
const stats = async (name: keyof typeof workers) =>
  (
    (await (await workers[name].fetch("https://edge.test/admin/stats", bearer(ADMIN))).json()) as {
      cache: Record<string, number>;
    }
  ).cache;

/** The URL and newest body of a token's shared verdict, found the way the Worker names it. */
async function sharedEntry(token: string): Promise<{ url: string; body: string | undefined }> {
  const hash = await createHasher(PEPPER)(token);
  let url = "";
  const recording: SharedCache = {
    match: (request) => {
      url = request.url;
      return cache.match(request);
    },
    put: async () => {},
  };
  // a wait far over the default: on a loaded machine, deriving the key alone may take longer
  const tier = new SharedTier({
    cache: recording,
    secret: PEPPER,
    scope: `${endpoint.url}\0${keyPrefix}`,
    timeoutMs: 10_000,
  });
  await tier.verdict(hash);
  const res = await cache.match(new Request(url));
  return { url, body: res === undefined ? undefined : await res.text() };
}

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the Worker across the isolates of one data center", () => {
  it("shares a verdict: a token one isolate checked is live at the others with no store round trip", async () => {
    const token = `fleet-${crypto.randomUUID()}`;
    expect((await admin("a", "/admin/keys/feed-begins/revoke", {})).status).toBeLessThan(300); // the feed begins
    expect((await admin("a", "/admin/tokens", { token, id: `shared-${keyPrefix}`, subject: "s" })).status).toBe(201);
    expect(await guarded("a", token)).toBe(200);
    expect(
      (
        await until(
          () => sharedEntry(token),
          (e) => e.body !== undefined,
        )
      ).body,
    ).toBeDefined();
    endpoint.resetStats();
    for (const name of ["b", "c"] as const) expect(await guarded(name, token), name).toBe(200);
    expect(endpoint.stats.requests).toBe(0);
    for (const name of ["b", "c"] as const) expect((await stats(name)).sharedHits, name).toBeGreaterThanOrEqual(1);
  });

  it("refuses a revocation through one isolate at every other within the bound, while the tier replays and drops", async () => {
    const token = `fleet-${crypto.randomUUID()}`;
    expect((await admin("a", "/admin/tokens", { token, id: `revoked-${keyPrefix}`, subject: "s" })).status).toBe(201);
    for (const name of ISOLATES) expect(await guarded(name, token)).toBe(200);
    const live = await until(
      () => sharedEntry(token),
      (e) => e.body !== undefined,
    );
    const refusedBefore = (await Promise.all(ISOLATES.map(stats))).reduce(
      (n, s) => n + s.sharedStale! + s.sharedRejected!,
      0,
    );
    expect((await admin("a", "/admin/tokens/revoke", { token })).status).toBe(200);
    const acknowledged = Date.now();
    // a hostile tier: the live verdict put back again and again, the shared feed read dropped
    const feedUrl = live.url.replace(/\/v\/[0-9a-f]{64}$/, "/feed");
    const replaying = (async () => {
      while (Date.now() < acknowledged + BOUND + 300) {
        await cache.put(new Request(live.url), new Response(live.body, { headers: { "Cache-Control": "max-age=60" } }));
        await cache.delete(new Request(feedUrl));
        for (const name of ISOLATES) await guarded(name, token); // the isolates stay busy meanwhile
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await replaying;
    // one bound and a round trip after the revocation was acknowledged, every isolate refuses it
    for (const name of ISOLATES) expect(await guarded(name, token), name).toBe(401);
    // and the replayed live entry was met, and refused, along the way
    const refusedAfter = (await Promise.all(ISOLATES.map(stats))).reduce(
      (n, s) => n + s.sharedStale! + s.sharedRejected!,
      0,
    );
    expect(refusedAfter).toBeGreaterThan(refusedBefore);
  });

  it("refuses a family at every isolate within the bound once a rotated token is used again at another", async () => {
    const family = `grant-${crypto.randomUUID()}`;
    const minted = await admin("a", "/admin/tokens", {
      id: `r1-${family}`,
      subject: "s",
      family,
      type: "refresh_token",
    });
    expect(minted.status).toBe(201);
    const r1 = ((await minted.json()) as { token: string }).token;
    const access = `fleet-${crypto.randomUUID()}`;
    expect(
      (await admin("a", "/admin/tokens", { token: access, id: `a1-${family}`, subject: "s", family })).status,
    ).toBe(201);
    const rotated = await admin("a", "/admin/tokens/rotate", { token: r1 });
    expect(rotated.status).toBe(201);
    const r2 = ((await rotated.json()) as { token: string }).token;
    // every isolate holds both as live verdicts
    for (const name of ISOLATES) for (const t of [r2, access]) expect(await guarded(name, t), name).toBe(200);
    const reuse = await admin("c", "/admin/tokens/rotate", { token: r1 });
    expect(reuse.status).toBe(409);
    expect(((await reuse.json()) as { error: { code: string } }).error.code).toBe("token_reused");
    const acknowledged = Date.now();
    while (Date.now() < acknowledged + BOUND + 300) {
      for (const name of ISOLATES) await guarded(name, access); // busy isolates, as in production
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const name of ISOLATES) for (const t of [r2, access]) expect(await guarded(name, t), name).toBe(401);
  });

  it("keeps a revoked or unknown token refused whatever is planted at its URL: moved, forged or garbled", async () => {
    const [live, revoked, unknown] = [1, 2, 3].map(() => `fleet-${crypto.randomUUID()}`) as [string, string, string];
    for (const t of [live, revoked])
      expect((await admin("a", "/admin/tokens", { token: t, id: `${t.slice(6, 18)}`, subject: "s" })).status).toBe(201);
    expect((await admin("a", "/admin/tokens/revoke", { token: revoked })).status).toBe(200);
    for (const t of [live, revoked, unknown]) await guarded("a", t);
    const liveEntry = await until(
      () => sharedEntry(live),
      (e) => e.body !== undefined,
    );
    const rejectedBefore = (await Promise.all(ISOLATES.map(stats))).reduce((n, s) => n + s.sharedRejected!, 0);
    // an entry is 64 hex digits of HMAC, then the JSON it signs
    const payload = liveEntry.body!.slice(64);
    expect(payload).toMatch(/^\{/);
    const attacks = {
      moved: liveEntry.body!, // the live token's own entry, signature and all
      forged: "0".repeat(64) + payload, // a live verdict under a well-formed signature nobody made
      garbled: "garbage",
    };
    // each isolate consults the tier once per token (then holds its own verdict): one attack each
    const plan = [
      [revoked, attacks.moved, "b"],
      [revoked, attacks.forged, "c"],
      [unknown, attacks.moved, "c"],
      [unknown, attacks.garbled, "b"],
    ] as const;
    for (const [target, body, name] of plan) {
      const { url } = await sharedEntry(target);
      await cache.put(new Request(url), new Response(body, { headers: { "Cache-Control": "max-age=60" } }));
      expect(await guarded(name, target), name).toBe(401);
    }
    const rejectedAfter = (await Promise.all(ISOLATES.map(stats))).reduce((n, s) => n + s.sharedRejected!, 0);
    expect(rejectedAfter - rejectedBefore).toBe(plan.length);
  });
});
