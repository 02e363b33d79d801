/**
 * The failure limit's edges: a binding that fails leaves the 401 as it is (never a 5xx), and
 * what a client sends as its name cannot grow the isolate's memory; the mint response is never cached.
 */
import { describe, expect, it } from "vitest";
import { FailureLimit } from "../../../src/middleware/guard/failure-limit.js";
import { TokenTags } from "../../../src/tokens/tagged.js";
import { adminJson, bearer, harness } from "../../support/worker.js";

describe("the failure limit when things go wrong", () => {
  it("answers 401, not a 5xx, when the Rate Limiting binding throws", async () => {
    const broken = {
      limit: async () => {
        throw new Error("rate limiter unavailable");
      },
    } as unknown as RateLimit;
    const h = harness({
      tags: new TokenTags({ secret: "p" }),
      failureLimit: new FailureLimit({ limiter: broken }),
    });
    const ip = { "CF-Connecting-IP": "1.2.3.4" };
    const missing = await h.app.request("/api/x", { headers: ip });
    const forged = await h.app.request("/api/x", { headers: { ...ip, ...bearer("ets_" + "A".repeat(48)) } });
    const unknown = await h.app.request("/api/x", { headers: { ...ip, ...bearer("unknown-token") } });
    expect([missing.status, forged.status, unknown.status]).toEqual([401, 401, 401]);
  });

  it("keeps no oversized client name: the blocked clients stay small whatever the header holds", async () => {
    const always = { limit: async () => ({ success: false }) } as unknown as RateLimit;
    const limit = new FailureLimit({ limiter: always, clientHeader: "X-Client" });
    const h = harness({ failureLimit: limit });
    const big = "x".repeat(60_000);
    for (let i = 0; i < 200; i++) {
      const res = await h.app.request("/api/x", { headers: { "X-Client": `${i}-${big}` } });
      expect(res.status).toBe(429);
    }
    const blocked = (limit as unknown as { blocked: Map<string, number> }).blocked;
    let bytes = 0;
    for (const k of blocked.keys()) bytes += k.length;
    // 200 clients already hold 12 MB; MAX_BLOCKED (10,000) of them would hold 600 MB
    expect(bytes).toBeLessThan(1_000_000);
  });
});

describe("the period a client over the limit is refused", () => {
  it("ends exactly at the period's end: refused through its last millisecond, admitted from the next", async () => {
    const limiter = { limit: async () => ({ success: false }) } as unknown as RateLimit; // over the limit
    const limit = new FailureLimit({ limiter, periodSeconds: 60 });
    const at = Date.UTC(2026, 10, 27, 12);
    expect(limit.refuses("1.2.3.4", at)).toBe(false);
    expect(await limit.failed("1.2.3.4", at)).toBe(true); // past the limit: refused for 60 s
    expect(limit.refuses("1.2.3.4", at)).toBe(true);
    expect(limit.refuses("1.2.3.4", at + 59_999)).toBe(true); // the period's last millisecond
    expect(limit.refuses("5.6.7.8", at + 1)).toBe(false); // another client is unaffected
    expect(limit.refuses("1.2.3.4", at + 60_000)).toBe(false); // the period is over
  });
});

describe("the client name", () => {
  it("is the header's value up to 256 characters, one shared (oversized) name past that, and a repeated header's joined value", async () => {
    const keys: string[] = [];
    const recording = { limit: async ({ key }: { key: string }) => (keys.push(key), { success: true }) };
    const limit = new FailureLimit({ limiter: recording as unknown as RateLimit, clientHeader: "X-Client" });
    const h = harness({ failureLimit: limit });
    const at = "c".repeat(256);
    const over = ["d".repeat(257), "e".repeat(300)];
    const repeated = new Headers();
    repeated.append("X-Client", "one");
    repeated.append("X-Client", "two");
    for (const headers of [{ "X-Client": at }, { "X-Client": over[0]! }, { "X-Client": over[1]! }, repeated])
      expect((await h.app.request("/api/x", { headers })).status).toBe(401);
    expect(keys).toEqual([at, "(oversized)", "(oversized)", "one, two"]);
  });
});

describe("the mint response", () => {
  it("is marked Cache-Control: no-store, the one answer that carries a raw token", async () => {
    const h = harness({ tags: new TokenTags({ secret: "p" }) });
    const res = await h.app.request("/admin/tokens", adminJson({ id: "m", subject: "s" }));
    expect(res.status).toBe(201);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
  });
});
