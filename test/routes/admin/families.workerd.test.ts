/**
 * Token families through the Worker: rotation with reuse detection (POST /admin/tokens/rotate),
 * a family revoked by name, both seen at the guard, one audit record per outcome, and hostile
 * input to the new route and path.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { familyProblem, MemoryTokenStore } from "../../../src/store/index.js";
import { TokenTags } from "../../../src/tokens/tagged.js";
import { adminJson, bearer, harness, unreachableStore } from "../../support/worker.js";
import { memorySnapshot } from "../../support/memory.js";

const tags = new TokenTags({ secret: "family-test-pepper" });
type Harness = ReturnType<typeof harness>;
type Minted = { token: string; id: string; subject: string; family?: string; type?: string };

async function mintRefresh(h: Harness, family = "grant-1", subject = "alice"): Promise<Minted> {
  const res = await h.app.request(
    "/admin/tokens",
    adminJson({ id: `r-${crypto.randomUUID()}`, subject, family, type: "refresh_token" }),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as Minted;
}

async function rotate(h: Harness, token: string, body: Record<string, unknown> = {}) {
  const res = await h.app.request("/admin/tokens/rotate", adminJson({ token, ...body }));
  return { status: res.status, body: (await res.json()) as Minted & { error?: { code: string; message: string } } };
}

const guard = async (h: Harness, token: string) => (await h.app.request("/api/x", { headers: bearer(token) })).status;

async function auditActions(h: Harness): Promise<{ action: string; result: string; target: Record<string, string> }[]> {
  const res = await h.app.request("/admin/audit?limit=1000", adminJson(undefined, "GET"));
  return ((await res.json()) as { records: { action: string; result: string; target: Record<string, string> }[] })
    .records;
}

describe("POST /admin/tokens/rotate", () => {
  it("retires the old token and mints its successor in the same subject and family, shown once", async () => {
    const h = harness({ tags });
    const first = await mintRefresh(h);
    const { status, body } = await rotate(h, first.token, { id: "r-2", type: "refresh_token" });
    expect(status).toBe(201);
    expect(body.token).toMatch(/^ets_/);
    expect(body.token).not.toBe(first.token);
    expect(body).toMatchObject({ id: "r-2", subject: "alice", family: "grant-1", type: "refresh_token" });
    expect(await guard(h, first.token)).toBe(401);
    expect(await guard(h, body.token)).toBe(200);
    // stored by hash only
    const at = JSON.stringify(memorySnapshot(h.memory));
    expect(at).not.toContain(body.token);
    expect(at).not.toContain(first.token);
  });

  it("gives a fresh id when none is sent, and the type of a refresh token unless another is sent", async () => {
    const h = harness({ tags });
    const first = await mintRefresh(h);
    const { status, body } = await rotate(h, first.token);
    expect(status).toBe(201);
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.id).not.toBe(first.id);
    expect(body.type).toBe("refresh_token");
    expect((await rotate(h, body.token, { type: "refresh" })).body.type).toBe("refresh");
  });

  it("answers a reuse with 409 token_reused and refuses every token of the family at the guard", async () => {
    const h = harness({ tags });
    const a = await mintRefresh(h);
    // an access token minted from the same grant
    const access = (await (
      await h.app.request("/admin/tokens", adminJson({ id: "acc-1", subject: "alice", family: "grant-1" }))
    ).json()) as Minted;
    const other = await mintRefresh(h, "grant-2");
    const b = (await rotate(h, a.token)).body;
    const c = (await rotate(h, b.token)).body;
    expect(await guard(h, c.token)).toBe(200);
    expect(await guard(h, access.token)).toBe(200);
    // the thief (or the client) presents the first token again: two steps back
    const reuse = await rotate(h, a.token);
    expect(reuse.status).toBe(409);
    expect(reuse.body.error?.code).toBe("token_reused");
    expect(reuse.body.error?.message).toContain("family");
    expect(reuse.body.error?.message).not.toContain(a.token);
    for (const t of [a, b, c, access]) expect(await guard(h, t.token)).toBe(401);
    // another family is untouched
    expect(await guard(h, other.token)).toBe(200);
    // the newest token cannot rotate any more either
    expect((await rotate(h, c.token)).status).toBe(410);
  });

  it("writes one audit record per outcome, naming the old token by its fingerprint only", async () => {
    const h = harness({ tags });
    const a = await mintRefresh(h);
    const b = (await rotate(h, a.token, { id: "r-b" })).body;
    await rotate(h, a.token);
    await rotate(h, "ets_unknown0000000000000000000000000000000000000000000");
    const rotations = (await auditActions(h)).filter((r) => r.action === "rotate");
    expect(rotations.map((r) => r.result)).toEqual(["token_not_found", "token_reused", "ok"]);
    expect(rotations[2]!.target.id).toBe("r-b");
    expect(rotations[2]!.target.fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(JSON.stringify(rotations)).not.toContain(a.token);
    expect(JSON.stringify(rotations)).not.toContain(b.token);
    expect(h.logs.join("\n")).not.toContain(a.token);
  });

  it("refuses what cannot rotate: unknown 404, forged tag 404, no family 400, other subject 400, no tag key 400", async () => {
    const h = harness({ tags });
    const plain = (await (
      await h.app.request("/admin/tokens", adminJson({ id: "nofam", subject: "alice", type: "refresh_token" }))
    ).json()) as Minted;
    const noFamily = await rotate(h, plain.token);
    expect(noFamily.status).toBe(400);
    expect(noFamily.body.error?.code).toBe("invalid_metadata");
    expect(noFamily.body.error?.message).toContain("family");
    const a = await mintRefresh(h);
    const unknown = await rotate(h, await tags.mint());
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.code).toBe("token_not_found");
    const forged = a.token.slice(0, -1) + (a.token.endsWith("A") ? "B" : "A");
    expect((await rotate(h, forged)).status).toBe(404);
    const moved = await rotate(h, a.token, { subject: "mallory" });
    expect(moved.status).toBe(400);
    expect(await guard(h, a.token)).toBe(200); // a refused rotation retires nothing
    expect((await rotate(harness(), a.token)).status).toBe(400);
  });

  it("answers a second rotation within the grace with 409 token_rotated, and leaves the family live", async () => {
    const h = harness({ tags, store: new MemoryTokenStore({ reuseGraceMs: 60_000 }) });
    const a = await mintRefresh(h, "grant-grace");
    const b = await rotate(h, a.token);
    expect(b.status).toBe(201);
    const retry = await rotate(h, a.token);
    expect(retry.status).toBe(409);
    expect(retry.body.error?.code).toBe("token_rotated");
    expect(retry.body.error?.message).not.toContain(a.token);
    expect(await guard(h, b.body.token)).toBe(200); // the family stays live
    expect(await guard(h, a.token)).toBe(401);
  });

  it("answers a store outage with 503 and retires nothing", async () => {
    const h = harness({ tags, store: unreachableStore() });
    const res = await h.app.request("/admin/tokens/rotate", adminJson({ token: await tags.mint() }));
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("5");
  });

  it("never answers hostile bodies with a 5xx, and never retires the token when it refuses", async () => {
    const h = harness({ tags });
    const hostile = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.constantFrom("\u202Egrant", "gr\u200Bant", "\uD800", "a\u0000b", "%2e%2e", "..", "x".repeat(300), ""),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 2 }),
    );
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          { id: hostile, family: hostile, subject: hostile, expiresAt: hostile, clientId: hostile, extra: hostile },
          { requiredKeys: [] },
        ),
        async (fields) => {
          // a token of its own per run: a rotation that succeeds retires only that one
          const a = await mintRefresh(h, "grant-h");
          const res = await h.app.request("/admin/tokens/rotate", adminJson({ token: a.token, ...fields }));
          expect(res.status).toBeLessThan(500);
          const text = await res.text();
          expect(text).not.toContain(a.token);
          if (res.status === 201) {
            expect(JSON.parse(text)).toMatchObject({ subject: "alice", family: "grant-h" });
            expect(await guard(h, a.token)).toBe(401);
            return;
          }
          refused++;
          expect(await guard(h, a.token)).toBe(200);
          const body = JSON.parse(text) as { error: { code: string; message: string } };
          expect(typeof body.error.code).toBe("string");
        },
      ),
      { numRuns: 150, examples: [[{ family: "\u202Egrant" }], [{ id: "\uD800" }], [{}]] },
    );
    expect(refused).toBeGreaterThan(50);
  });
});

describe("POST /admin/families/:family/revoke", () => {
  it("refuses every token of the family at the guard, and only those; idempotent; audited", async () => {
    const h = harness({ tags });
    const refresh = await mintRefresh(h, "grant-9");
    const access = (await (
      await h.app.request("/admin/tokens", adminJson({ id: "acc-9", subject: "bob", family: "grant-9" }))
    ).json()) as Minted;
    const bystander = await mintRefresh(h, "grant-10");
    for (let i = 0; i < 2; i++) {
      const res = await h.app.request("/admin/families/grant-9/revoke", { ...adminJson({}), body: undefined });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ revoked: true });
    }
    expect(await guard(h, refresh.token)).toBe(401);
    expect(await guard(h, access.token)).toBe(401);
    expect(await guard(h, bystander.token)).toBe(200);
    const inspect = await h.app.request("/admin/tokens/inspect", adminJson({ token: access.token }));
    expect(await inspect.json()).toMatchObject({ state: "revoked", revokedBy: "family" });
    const revocations = (await auditActions(h)).filter((r) => r.action === "revokeFamily");
    expect(revocations.map((r) => [r.target.family, r.result])).toEqual([
      ["grant-9", "ok"],
      ["grant-9", "ok"],
    ]);
    const activity = (await (await h.app.request("/admin/activity", adminJson(undefined, "GET"))).json()) as {
      changes: { type: string; family?: string }[];
    };
    expect(activity.changes.some((c) => c.type === "family" && c.family === "grant-9")).toBe(true);
  });

  it("answers a family name the store refuses with a 400, takes any other as it reads, and revokes only what it answers 200 for", async () => {
    const h = harness({ tags });
    const live = await mintRefresh(h, "grant-live");
    // the family the route reads from a raw path segment: percent-decoded, or as sent when that fails
    const decoded = (segment: string) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    };
    let answered200 = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          // any name, sent percent-encoded as a client library would
          fc.string({ unit: "binary", maxLength: 30 }).map((s) => encodeURIComponent(s.toWellFormed())),
          // raw segments a hostile client writes itself: bidi, NUL, zero-width, malformed and
          // overlong escapes, a lone surrogate's bytes, a space, a long name
          fc.constantFrom("%E2%80%AEgrant", "%00", "%ZZ", "%ED%A0%80", "gr%E2%80%8Bant", "%20", "x".repeat(300), "%"),
        ),
        async (segment) => {
          const res = await h.app.request(`/admin/families/${segment}/revoke`, {
            method: "POST",
            headers: adminJson({}).headers,
          });
          const family = decoded(segment);
          const body = (await res.json()) as { error?: { code: string; message: string } };
          if (family === "" || family === "." || family === "..") {
            // an empty or dot segment names no route: a URL resolves it away
            expect(res.status, segment).toBe(404);
          } else if (familyProblem(family) === undefined) {
            expect(res.status, segment).toBe(200);
            answered200++;
          } else {
            expect(res.status, segment).toBe(400);
            expect(body.error?.code).toBe("invalid_metadata");
          }
        },
      ),
      { numRuns: 120, examples: [["%E2%80%AEgrant"], ["%00"], ["%ZZ"], ["%20"]] },
    );
    // one audit record per call, ok only for the names answered 200
    const records = (await auditActions(h)).filter((r) => r.action === "revokeFamily");
    expect(records.filter((r) => r.result === "ok")).toHaveLength(answered200);
    expect(await guard(h, live.token)).toBe(200);
    // a GET is not a revocation
    expect((await h.app.request("/admin/families/grant-live/revoke", adminJson(undefined, "GET"))).status).toBe(404);
    expect(await guard(h, live.token)).toBe(200);
  });
});
