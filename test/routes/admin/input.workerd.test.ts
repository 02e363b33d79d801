/**
 * What POST /admin/tokens does with hostile input: a lone surrogate in any string field is
 * refused at store time (nothing stored, no 5xx later), and the answer is built from what
 * the one store call returned, never from a second read.
 */
import { describe, expect, it } from "vitest";
import { MemoryTokenStore, type TokenStore } from "../../../src/store/index.js";
import { adminJson, bearer, harness } from "../../support/worker.js";
import { memorySnapshot } from "../../support/memory.js";

type Body = { error: { code: string; message: string } };

describe("lone surrogates", () => {
  for (const field of ["subject", "id", "issuer", "keyId", "type", "status"]) {
    it(`refuses a ${field} with a lone surrogate at store time: 400, nothing stored, no 5xx later`, async () => {
      const h = harness();
      // the JSON text carries the escape itself, as curl -d '{"subject":"user\ud800"}' does
      const body = `{"token":"d1-manual-token","id":"d1","subject":"user","${field}":"user\\ud800"}`;
      const res = await h.app.request("/admin/tokens", adminJson(body));
      expect(res.status).toBe(400);
      expect(((await res.json()) as Body).error.code).toBe("invalid_metadata");
      const guarded = await h.app.request("/anything", { headers: bearer("d1-manual-token") });
      expect(guarded.status).toBe(401);
      expect(h.origin).toHaveLength(0);
    });
  }

  it("keeps ids that differ only by which surrogate they hold from colliding (both refused)", async () => {
    const h = harness();
    for (const [token, id] of [
      ["t-hi", "\\ud800"],
      ["t-lo", "\\udc00"],
    ]) {
      const res = await h.app.request("/admin/tokens", adminJson(`{"token":"${token}","id":"${id}","subject":"s"}`));
      expect(res.status).toBe(400);
    }
    expect(memorySnapshot(h.memory).tokens).toEqual([]);
  });
});

describe("POST /admin/tokens answers from what it stored", () => {
  it("makes one store call and no second read", async () => {
    const h = harness();
    const res = await h.app.request("/admin/tokens", adminJson({ token: "one-call", id: "oc", subject: "s" }));
    expect(res.status).toBe(201);
    expect(h.store.calls).toEqual({ store: 1 });
    expect(await res.json()).toEqual({
      id: "oc",
      subject: "s",
      issuedAt: new Date(h.clock.t).toISOString(),
      expiresAt: new Date(h.clock.t + 86_400_000).toISOString(),
    });
  });

  for (const race of ["delete", "revoke"] as const) {
    it(`answers 201 with the stored metadata even when a concurrent ${race} lands right after the write`, async () => {
      const inner = new MemoryTokenStore();
      // the concurrent call lands between the write and anything the route does next
      const racing: TokenStore = Object.create(inner, {
        store: {
          value: async (token: string, md: Parameters<TokenStore["store"]>[1]) => {
            const stored = await inner.store(token, md);
            await inner[race](token);
            return stored;
          },
        },
      });
      const h = harness({ store: racing });
      const res = await h.app.request("/admin/tokens", adminJson({ token: "raced", id: "r1", subject: "s" }));
      expect(res.status).toBe(201);
      expect(((await res.json()) as { id: string }).id).toBe("r1");
    });
  }
});
