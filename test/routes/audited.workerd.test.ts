/**
 * The audit trail, inside workerd: every write through the admin API and OAuth revocation leaves
 * exactly one record (and one log line) naming who, what, on what and the result, never a raw
 * token; GET /admin/audit pages through them; hostile queries get a 400.
 */
import fc from "fast-check";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { JwtVerifier } from "../../src/jwt/verifier.js";
import { auditor } from "../../src/routes/audited.js";
import { ADMIN, adminJson, bearer, CLIENT_ID, CLIENT_SECRET, harness, unreachableStore } from "../support/worker.js";

type Record_ = {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: Record<string, string>;
  result: string;
};
type Page = { records: Record_[]; next?: string };

const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] };

const oauthRevoke = (token: string) => ({
  method: "POST",
  headers: {
    Authorization: `Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`,
    "Content-Type": "application/x-www-form-urlencoded",
  },
  body: `token=${encodeURIComponent(token)}`,
});

async function auditOf(h: ReturnType<typeof harness>, query = ""): Promise<Page> {
  const res = await h.app.request(`/admin/audit${query}`, { headers: bearer(ADMIN) });
  expect(res.status, query).toBe(200);
  return (await res.json()) as Page;
}

describe("the audit trail", () => {
  it("records every admin and OAuth write exactly once, with its actor and target, and no raw token", async () => {
    const jwt = new JwtVerifier({ jwks, now: () => h.clock.t });
    const h = harness({ jwt });
    const raw = (n: number) => `raw-audit-secret-${n}-${crypto.randomUUID()}`;
    const [a, b, c, d] = [raw(1), raw(2), raw(3), raw(4)];
    const signed = await new SignJWT({
      sub: "jwt-user",
      iat: Math.floor(h.clock.t / 1000) - 10,
      exp: Math.floor(h.clock.t / 1000) + 600,
    })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .sign(privateKey);
    const writes: [string, () => Response | Promise<Response>, string, string, Record<string, unknown>][] = [
      [
        "store",
        () => h.app.request("/admin/tokens", adminJson({ token: a, id: "ia", subject: "sa" })),
        "admin-token",
        "ok",
        { id: "ia", subject: "sa" },
      ],
      [
        "store",
        () => h.app.request("/admin/tokens", adminJson({ token: b, id: "ib", subject: "sb" })),
        "admin-token",
        "ok",
        { id: "ib" },
      ],
      [
        "store",
        () => h.app.request("/admin/tokens", adminJson({ token: c, id: "ic", subject: "sc", clientId: CLIENT_ID })),
        "admin-token",
        "ok",
        { id: "ic" },
      ],
      ["revoke", () => h.app.request("/admin/tokens/revoke", adminJson({ token: a })), "admin-token", "ok", {}],
      [
        "revoke",
        () => h.app.request("/admin/tokens/revoke", adminJson({ token: d })),
        "admin-token",
        "token_not_found",
        {},
      ],
      ["delete", () => h.app.request("/admin/tokens/delete", adminJson({ token: b })), "admin-token", "ok", {}],
      [
        "revokeById",
        () => h.app.request("/admin/tokens/by-id/ic/revoke", { method: "POST", headers: bearer(ADMIN) }),
        "admin-token",
        "ok",
        { id: "ic" },
      ],
      [
        "revokeSubject",
        () => h.app.request("/admin/subjects/sa/revoke", { method: "POST", headers: bearer(ADMIN) }),
        "admin-token",
        "ok",
        { subject: "sa" },
      ],
      [
        "revokeKey",
        () => h.app.request("/admin/keys/k9/revoke", { method: "POST", headers: bearer(ADMIN) }),
        "admin-token",
        "ok",
        { keyId: "k9" },
      ],
      [
        "cleanup",
        () => h.app.request("/admin/cleanup", { method: "POST", headers: bearer(ADMIN) }),
        "admin-token",
        "ok",
        {},
      ],
      [
        "denyJwt",
        () => h.app.request("/admin/tokens/revoke", adminJson({ token: signed })),
        "admin-token",
        "ok",
        { subject: "jwt-user" },
      ],
      ["revoke", () => h.app.request("/oauth/revoke", oauthRevoke(c)), CLIENT_ID, "ok", {}],
      ["revoke", () => h.app.request("/oauth/revoke", oauthRevoke(d)), CLIENT_ID, "token_not_found", {}],
    ];
    let kept = 0;
    for (const [i, [action, write, actor, result, target]] of writes.entries()) {
      const res = await write();
      expect(res.status, `${i} ${action}`).toBeLessThan(500);
      // an unknown token through OAuth changed nothing, and any client may send any number of
      // them: a log line only, so they cannot push the admin records out of the capped trail
      const logOnly = actor === CLIENT_ID && result === "token_not_found";
      if (!logOnly) kept++;
      const { records } = await auditOf(h, "?limit=1000");
      expect(records, `${i} ${action}`).toHaveLength(kept); // exactly one more, or none
      if (!logOnly) expect(records[0]).toMatchObject({ actor, action, result, target });
    }
    const { records } = await auditOf(h, "?limit=1000");
    const tokenActions = records.filter((r) => ["revoke", "delete", "store", "denyJwt"].includes(r.action));
    for (const r of tokenActions) expect(r.target.fingerprint, r.action).toMatch(/^[0-9a-f]{12}$/);
    const everything = JSON.stringify(records) + h.logs.join("\n");
    for (const secret of [a, b, c, d, signed]) expect(everything).not.toContain(secret);
    // one log line per record, for Workers Logs and Logpush
    const lines = h.logs.filter((l) => JSON.parse(l).event === "audit");
    expect(lines).toHaveLength(writes.length);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ actor: CLIENT_ID, action: "revoke", result: "token_not_found" });
    expect(JSON.parse(lines[0]!)).toMatchObject({
      event: "audit",
      actor: "admin-token",
      action: "store",
      result: "ok",
    });
  });

  it("records nothing for what never reached the store: bad input, no credentials, reads", async () => {
    const h = harness();
    await h.app.request("/admin/tokens", adminJson({ token: "t", id: 5, subject: "s" }));
    await h.app.request("/admin/tokens/revoke", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: '{"token":"t"}',
    });
    await h.app.request("/admin/tokens/lookup", adminJson({ token: "t" }));
    await h.app.request("/admin/subjects/s/tokens", { headers: bearer(ADMIN) });
    expect((await auditOf(h)).records).toEqual([]);
  });

  it("records a write that failed unexpectedly as internal_error, never as ok", async () => {
    const h = harness();
    const lines: string[] = [];
    const audited = auditor({ log: h.memory.audit, hashToken: (t) => h.memory.hashToken(t) }, (l) => lines.push(l));
    await expect(
      audited("admin-token", "revokeKey", { keyId: "k" }, async () => {
        throw new TypeError("boom");
      }),
    ).rejects.toThrow(TypeError);
    const { records } = await h.memory.audit.list({ limit: 5 });
    expect(records.map((r) => r.result)).toEqual(["internal_error"]);
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: "audit", result: "internal_error" });
  });

  it("keeps a refused write's record small and well-formed: target values clipped, lone surrogates replaced", async () => {
    const h = harness();
    const long = "s".repeat(15_000);
    expect(
      (await h.app.request("/admin/tokens", adminJson({ token: "clip-t", id: "clip", subject: long }))).status,
    ).toBe(400);
    const res = await h.app.request(`/admin/subjects/${"k".repeat(8_000)}%ED%A0%80/revoke`, {
      method: "POST",
      headers: bearer(ADMIN),
    });
    expect(res.status).toBe(400);
    // a lone surrogate in the JSON text: refused by the store, recorded as U+FFFD
    await h.app.request("/admin/tokens", adminJson('{"token":"clip-u","id":"clip-u","subject":"a\\ud800b"}'));
    const { records } = await auditOf(h, "?limit=10");
    expect(records.map((r) => r.result)).toEqual(["invalid_metadata", "invalid_metadata", "invalid_metadata"]);
    for (const r of records) {
      expect(r.target.subject!.length).toBeLessThanOrEqual(257);
      expect(r.target.subject!.isWellFormed()).toBe(true);
    }
    expect(records[2]!.target.subject).toBe(`${"s".repeat(256)}…`);
    expect(records[0]!.target.subject).toBe("a\ufffdb");
    expect(h.logs.every((l) => l.length < 2_000)).toBe(true);
  });

  it("logs a write that failed for an outage without appending to the unreachable store", async () => {
    const h = harness({ store: unreachableStore() });
    const res = await h.app.request("/admin/keys/k1/revoke", { method: "POST", headers: bearer(ADMIN) });
    expect(res.status).toBe(503);
    const lines = h.logs.map((l) => JSON.parse(l) as { event: string; result?: string });
    expect(lines.filter((l) => l.event === "audit")).toEqual([
      expect.objectContaining({ result: "store_unavailable" }),
    ]);
    expect(lines.filter((l) => l.event === "audit_append_failed")).toEqual([]);
  });

  it("pages newest first with next, and since leaves older records out", async () => {
    const h = harness();
    for (let i = 0; i < 23; i++) {
      h.clock.t += 1_000;
      await h.app.request(`/admin/keys/key-${i}/revoke`, { method: "POST", headers: bearer(ADMIN) });
    }
    const keys: string[] = [];
    let query = "?limit=10";
    for (let pages = 0; pages < 5; pages++) {
      const page = await auditOf(h, query);
      keys.push(...page.records.map((r) => r.target.keyId!));
      if (page.next === undefined) break;
      query = `?limit=10&before=${page.next}`;
    }
    expect(keys).toEqual(Array.from({ length: 23 }, (_, i) => `key-${22 - i}`));
    const since = new Date(h.clock.t - 4_000).toISOString();
    const recent = await auditOf(h, `?since=${encodeURIComponent(since)}`);
    expect(recent.records.map((r) => r.target.keyId)).toEqual(["key-22", "key-21", "key-20", "key-19", "key-18"]);
    expect((await auditOf(h, `?since=${h.clock.t - 1_000}&limit=1`)).records.map((r) => r.target.keyId)).toEqual([
      "key-22",
    ]);
  });

  it("takes a real ISO time with its zone for since, and refuses an impossible one that Date.parse would roll over", async () => {
    const h = harness();
    await h.app.request("/admin/keys/iso-key/revoke", { method: "POST", headers: bearer(ADMIN) });
    const at = new Date(h.clock.t);
    const plus2 = new Date(h.clock.t + 2 * 3_600_000).toISOString().replace("Z", "+02:00").replace(/\.\d+/, "");
    for (const [since, n] of [
      [at.toISOString(), 1],
      [new Date(h.clock.t + 1).toISOString(), 0],
      [plus2, 1], // the same instant written in another zone (seconds only: the record's ms are later)
      ["2024-02-29T00:00:00Z", 1], // a leap day is real
    ] as const) {
      expect((await auditOf(h, `?since=${encodeURIComponent(since)}`)).records, since).toHaveLength(n);
    }
  });

  it("answers any bad since, before or limit, or a repeated one, with a 400 (fast-check)", async () => {
    const h = harness();
    const bad = fc.oneof(
      fc.record({
        since: fc.constantFrom(
          "yesterday",
          "-1",
          "1e3",
          "2026-13-01T00:00:00Z",
          "2026-02-31T00:00:00Z",
          "2026-12-04T24:00:00Z",
          "2026-12-04T10:60:00Z",
          "2026-12-04T10:00:00+24:00",
          "2026-12-04",
          "%00",
          "",
          "0x10",
          "9".repeat(16),
        ),
      }),
      fc.record({ limit: fc.constantFrom("0", "1001", "-5", "1.5", "ten", "", "%", "99999") }),
      fc.record({ before: fc.constantFrom("x", "1-", "-1", "1-1-1", "%2B", "", "1".repeat(16) + "-0") }),
      fc.constantFrom({ limit: ["5", "5"] }, { since: ["1", "2"] }, { before: ["1-0", "2-0"] }),
    );
    await fc.assert(
      fc.asyncProperty(bad, async (params) => {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) q.append(k, x);
        const res = await h.app.request(`/admin/audit?${q}`, { headers: bearer(ADMIN) });
        expect(res.status, q.toString()).toBe(400);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
      }),
      { numRuns: 80 },
    );
  });
});
