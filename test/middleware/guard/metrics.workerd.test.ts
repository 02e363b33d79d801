/** The guard's Analytics Engine data points, written to a binding object that records them. */
import { describe, expect, it } from "vitest";
import { MemoryTokenStore, withVerdictCache } from "../../../src/store/index.js";
import { bearer, harness, unreachableStore } from "../../support/worker.js";

type Point = { indexes?: string[]; blobs?: string[]; doubles?: number[] };
const recorder = () => {
  const points: Point[] = [];
  return { points, writeDataPoint: (p: Point) => void points.push(p) };
};

describe("guard metrics (Workers Analytics Engine)", () => {
  it("writes one data point per decision: outcome, token kind, cache use and store ms, never the token or its hash", async () => {
    const metrics = recorder();
    const memory = new MemoryTokenStore();
    const h = harness({ store: memory, metrics });
    await memory.store("metrics-live", { id: "l", subject: "s" });
    await memory.store("metrics-revoked", { id: "r", subject: "s" });
    await memory.revoke("metrics-revoked");
    await memory.store("metrics-expiring", { id: "e", subject: "s", expiresAt: new Date(Date.now() + 5) });
    await new Promise((r) => setTimeout(r, 10));
    const requests: [Record<string, string>, string][] = [
      [{}, "missing"],
      [{ Authorization: "Bearer a b" }, "invalid"],
      [bearer("metrics-unknown"), "invalid"],
      [bearer("metrics-expiring"), "expired"],
      [bearer("metrics-revoked"), "revoked"],
      [bearer("metrics-live"), "live"],
    ];
    for (const [headers] of requests) await h.app.request("/api", { headers });
    expect(metrics.points.map((p) => p.blobs![0])).toEqual(requests.map(([, o]) => o));
    expect(metrics.points.map((p) => p.indexes)).toEqual(requests.map(([, o]) => [o]));
    expect(metrics.points.map((p) => p.blobs![1])).toEqual(["none", "none", "opaque", "opaque", "opaque", "opaque"]);
    expect(metrics.points.every((p) => p.blobs![2] === "none" && p.doubles!.length === 1 && p.doubles![0]! >= 0)).toBe(
      true,
    );
    const hash = await memory.hashToken("metrics-live");
    const text = JSON.stringify(metrics.points);
    for (const secret of ["metrics-live", "metrics-revoked", "metrics-unknown", hash, hash.slice(0, 12)])
      expect(text).not.toContain(secret);
  });

  it("says whether the verdict cache answered, and marks an outage", async () => {
    const metrics = recorder();
    const memory = new MemoryTokenStore();
    await memory.store("cached", { id: "c", subject: "s" });
    const h = harness({ store: withVerdictCache(memory), metrics });
    await h.app.request("/api", { headers: bearer("cached") });
    await h.app.request("/api", { headers: bearer("cached") });
    expect(metrics.points.map((p) => p.blobs)).toEqual([
      ["live", "opaque", "miss"],
      ["live", "opaque", "hit"],
    ]);

    const down = recorder();
    const o = harness({ store: unreachableStore(), metrics: down });
    expect((await o.app.request("/api", { headers: bearer("any") })).status).toBe(503);
    expect(down.points.map((p) => p.blobs![0])).toEqual(["outage"]);
  });

  it("guards as before when no binding is given (the option is optional)", async () => {
    const h = harness();
    await h.memory.store("plain", { id: "p", subject: "s" });
    expect((await h.app.request("/api", { headers: bearer("plain") })).status).toBe(200);
  });
});
