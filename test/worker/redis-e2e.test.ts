/**
 * End to end on the Redis backend: the Worker inside workerd, @upstash/redis over fetch, the
 * project's Upstash-compatible endpoint and a real redis-server, all on loopback.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import worker from "../../src/worker.js";
import type { SeenRequest } from "../support/echo-origin.js";

const upstash = inject("upstashUrl");
const upstashAuth = { Authorization: `Bearer ${inject("upstashToken")}` };
const redisEnv = {
  ...env,
  UPSTASH_REDIS_REST_URL: upstash,
  UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
  KEY_PREFIX: `${inject("runPrefix")}worker:`,
  STORE_TIMEOUT_MS: "10000", // generous: a loaded machine must not turn a slow answer into a 503
};

const call = (path: string, init: RequestInit = {}) =>
  worker.fetch(new Request(`https://edge.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>, redisEnv, createExecutionContext());
const admin = (path: string, body: unknown) =>
  call(path, { method: "POST", headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
/** Requests the Upstash endpoint received while `fn` ran. */
async function upstashRequests(fn: () => Promise<unknown>): Promise<number> {
  await fetch(`${upstash}/__stats/reset`, { method: "POST", headers: upstashAuth });
  await fn();
  return ((await (await fetch(`${upstash}/__stats`, { headers: upstashAuth })).json()) as { requests: number }).requests;
}

describe("the Worker on the Redis backend", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("stores, admits, revokes and refuses a token, with one Redis round trip per guarded request", async () => {
    const token = `redis-e2e-${crypto.randomUUID()}`;
    expect((await admin("/admin/tokens", { token, id: `id-${token}`, subject: "carol" })).status).toBe(201);
    const path = `/redis-${crypto.randomUUID()}`;
    await call("/warm-up", { headers: { Authorization: `Bearer ${token}` } }); // loads the GET script once

    let res!: Response;
    expect(await upstashRequests(async () => (res = await call(path, { headers: { Authorization: `Bearer ${token}` } })))).toBe(1);
    expect(res.status).toBe(200);
    expect(((await res.json()) as SeenRequest).headers["x-token-subject"]).toBe("carol");

    expect((await admin("/admin/tokens/revoke", { token })).status).toBe(200);
    let denied!: Response;
    expect(await upstashRequests(async () => (denied = await call(path, { headers: { Authorization: `Bearer ${token}` } })))).toBe(1);
    expect(denied.status).toBe(401);
    const seen = (await (await fetch(`${inject("originUrl")}/__seen?path=${encodeURIComponent(path)}`)).json()) as unknown[];
    expect(seen).toHaveLength(1);
  });

  it("introspects through OAuth and lists a subject's tokens from Redis", async () => {
    const token = `redis-oauth-${crypto.randomUUID()}`;
    const subject = `dave-${crypto.randomUUID()}`;
    await admin("/admin/tokens", { token, id: `id-${token}`, subject });
    const res = await call("/oauth/introspect", {
      method: "POST",
      headers: { Authorization: `Basic ${btoa("client-a:client-a-secret-0123456789")}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(await res.json()).toMatchObject({ active: true, sub: subject, jti: `id-${token}` });
    const list = await call(`/admin/subjects/${subject}/tokens`, { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } });
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
    const line = logs.mock.calls.map((c) => JSON.parse(String(c[0])) as { event: string; removed: number }).find((l) => l.event === "cleanup");
    expect(line?.removed).toBeGreaterThanOrEqual(1);
    expect((await admin("/admin/tokens/lookup", { token })).status).toBe(404);
  });
});
