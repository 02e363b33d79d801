import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../../src/http/body.js";
import { ADMIN, adminJson, bearer, harness, HOUR, unreachableStore } from "../../support/worker.js";
import { memorySnapshot } from "../../support/memory.js";

type Body = { error: { code: string; message: string } };

const ROUTES: [string, string, unknown][] = [
  ["POST", "/admin/tokens", { token: "t", id: "i", subject: "s" }],
  ["POST", "/admin/tokens/lookup", { token: "t" }],
  ["POST", "/admin/tokens/status", { token: "t" }],
  ["POST", "/admin/tokens/revoke", { token: "t" }],
  ["POST", "/admin/tokens/delete", { token: "t" }],
  ["GET", "/admin/tokens/by-id/i", undefined],
  ["GET", "/admin/subjects/s/tokens", undefined],
  ["POST", "/admin/subjects/s/revoke", undefined],
  ["POST", "/admin/cleanup", undefined],
  ["POST", "/admin/tokens/inspect", { token: "t" }],
  ["POST", "/admin/tokens/by-id/i/revoke", undefined],
  ["GET", "/admin/activity", undefined],
  ["GET", "/admin/stats", undefined],
  ["GET", "/admin/openapi.json", undefined],
];

describe("admin auth", () => {
  for (const [label, headers] of [
    ["no Authorization", {}],
    ["a wrong token", bearer("not-the-admin-token")],
    ["the admin token with one character changed", bearer(`${ADMIN.slice(0, -1)}x`)],
    ["Basic credentials", { Authorization: `Basic ${btoa(`admin:${ADMIN}`)}` }],
  ] as [string, Record<string, string>][]) {
    it(`refuses every route with ${label}: 401, store untouched`, async () => {
      const h = harness();
      for (const [method, path, body] of ROUTES) {
        const res = await h.app.request(path, {
          method,
          headers: { ...headers, "Content-Type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(((await res.json()) as Body).error.code).toBe("unauthorized");
        expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="admin"');
      }
      expect(h.store.total()).toBe(0);
      expect(h.origin).toHaveLength(0);
    });
  }
});

describe("admin routes", () => {
  it("store, look up, list, check, revoke and delete a token", async () => {
    const h = harness();
    const t = h.clock.t;
    const created = await h.app.request(
      "/admin/tokens",
      adminJson({
        token: "secret-1",
        id: "tok-1",
        subject: "alice",
        issuer: "idp",
        expiresAt: new Date(t + HOUR).toISOString(),
      }),
    );
    expect(created.status).toBe(201);
    const md = {
      id: "tok-1",
      subject: "alice",
      issuer: "idp",
      issuedAt: new Date(t).toISOString(),
      expiresAt: new Date(t + HOUR).toISOString(),
    };
    expect(await created.json()).toEqual(md);
    await h.app.request(
      "/admin/tokens",
      adminJson({ token: "secret-2", id: "tok-2", subject: "alice", expiresAt: t + 2 * HOUR }),
    );

    expect(await (await h.app.request("/admin/tokens/lookup", adminJson({ token: "secret-1" }))).json()).toEqual(md);
    expect(await (await h.app.request("/admin/tokens/by-id/tok-1", { headers: bearer(ADMIN) })).json()).toEqual(md);
    const list = await (await h.app.request("/admin/subjects/alice/tokens", { headers: bearer(ADMIN) })).json();
    expect((list as { tokens: { id: string }[] }).tokens.map((x) => x.id)).toEqual(["tok-1", "tok-2"]);
    expect(await (await h.app.request("/admin/tokens/status", adminJson({ token: "secret-1" }))).json()).toEqual({
      revoked: false,
    });

    expect(await (await h.app.request("/admin/tokens/revoke", adminJson({ token: "secret-1" }))).json()).toEqual({
      revoked: true,
    });
    expect(await (await h.app.request("/admin/tokens/status", adminJson({ token: "secret-1" }))).json()).toEqual({
      revoked: true,
    });
    const gone = await h.app.request("/admin/tokens/lookup", adminJson({ token: "secret-1" }));
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as Body).error.code).toBe("token_revoked");

    expect(await (await h.app.request("/admin/tokens/delete", adminJson({ token: "secret-1" }))).json()).toEqual({
      deleted: true,
    });
    expect((await h.app.request("/admin/tokens/lookup", adminJson({ token: "secret-1" }))).status).toBe(404);
    expect(h.origin).toHaveLength(0);
  });

  it("revokes every token of a subject at once", async () => {
    const h = harness();
    await h.memory.store("s-1", { id: "1", subject: "henry" });
    await h.memory.store("s-2", { id: "2", subject: "henry" });
    await h.memory.store("o-1", { id: "3", subject: "ida" });
    const res = await h.app.request("/admin/subjects/henry/revoke", { method: "POST", headers: bearer(ADMIN) });
    expect(await res.json()).toEqual({ revoked: 2 });
    expect((await h.app.request("/api", { headers: bearer("s-2") })).status).toBe(401);
    expect((await h.app.request("/api", { headers: bearer("o-1") })).status).toBe(200);
  });

  it("runs cleanup now", async () => {
    const h = harness();
    await h.memory.store("a", { id: "a", subject: "s", expiresAt: new Date(h.clock.t + 1000) });
    await h.memory.store("b", { id: "b", subject: "s", expiresAt: new Date(h.clock.t + HOUR) });
    h.clock.t += 2000;
    const res = await h.app.request("/admin/cleanup", { method: "POST", headers: bearer(ADMIN) });
    expect(await res.json()).toEqual({ removed: 1 });
  });

  it("maps store outcomes to 404, 409 and 410", async () => {
    const h = harness();
    await h.memory.store("held", { id: "dup", subject: "s" });
    const cases: [RequestInit | undefined, string, number, string][] = [
      [adminJson({ token: "nope" }), "/admin/tokens/lookup", 404, "token_not_found"],
      [adminJson({ token: "nope" }), "/admin/tokens/revoke", 404, "token_not_found"],
      [adminJson({ token: "nope" }), "/admin/tokens/delete", 404, "token_not_found"],
      [adminJson({ token: "nope" }), "/admin/tokens/status", 404, "token_not_found"],
      [{ headers: bearer(ADMIN) }, "/admin/tokens/by-id/missing", 404, "token_not_found"],
      [adminJson({ token: "other", id: "dup", subject: "s" }), "/admin/tokens", 409, "id_conflict"],
      [
        adminJson({ token: "old", id: "o", subject: "s", expiresAt: h.clock.t - 1 }),
        "/admin/tokens",
        410,
        "token_expired",
      ],
    ];
    for (const [init, path, status, code] of cases) {
      const res = await h.app.request(path, init);
      expect(res.status, `${path} ${code}`).toBe(status);
      const body = (await res.json()) as Body;
      expect(body.error.code).toBe(code);
      expect(body.error.message).toMatch(/^store\.\w+: /);
    }
  });

  it("answers a store outage with 503 and Retry-After", async () => {
    const h = harness({ store: unreachableStore() });
    const res = await h.app.request("/admin/tokens/lookup", adminJson({ token: "x" }));
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("5");
    expect(((await res.json()) as Body).error.code).toBe("store_unavailable");
  });

  it("answers unknown admin paths with a JSON 404 instead of forwarding them", async () => {
    const h = harness();
    for (const [method, path] of [
      ["GET", "/admin"],
      ["GET", "/admin/nope"],
      ["DELETE", "/admin/tokens"],
      ["GET", "/admin/tokens/lookup"],
    ]) {
      const res = await h.app.request(path!, { method, headers: bearer(ADMIN) });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as Body).error.code).toBe("not_found");
    }
    expect(h.origin).toHaveLength(0);
  });
});

describe("admin input", () => {
  const bad: [string, RequestInit, number, string | RegExp][] = [
    ["malformed JSON", adminJson("{not json"), 400, "invalid_request"],
    ["a JSON array", adminJson([1, 2]), 400, "invalid_request"],
    ["a missing subject", adminJson({ token: "t", id: "i" }), 400, "invalid_request"],
    ["a numeric id", adminJson({ token: "t", id: 5, subject: "s" }), 400, "invalid_request"],
    ["an empty token", adminJson({ token: "", id: "i", subject: "s" }), 400, "invalid_request"],
    ["a token over the limit", adminJson({ token: "t".repeat(4097), id: "i", subject: "s" }), 400, "invalid_request"],
    [
      "an unknown field",
      adminJson({ token: "t", id: "i", subject: "s", expires_at: "tomorrow" }),
      400,
      "invalid_request",
    ],
    [
      "a date of the wrong type",
      adminJson({ token: "t", id: "i", subject: "s", expiresAt: true }),
      400,
      "invalid_request",
    ],
    [
      "an unparseable date",
      adminJson({ token: "t", id: "i", subject: "s", expiresAt: "next week" }),
      400,
      "invalid_metadata",
    ],
    [
      "issuedAt after expiresAt",
      adminJson({
        token: "t",
        id: "i",
        subject: "s",
        issuedAt: "2099-01-02T00:00:00Z",
        expiresAt: "2099-01-01T00:00:00Z",
      }),
      400,
      "invalid_metadata",
    ],
    ["an id over the limit", adminJson({ token: "t", id: "i".repeat(257), subject: "s" }), 400, "invalid_metadata"],
    ["an empty subject", adminJson({ token: "t", id: "i", subject: "" }), 400, "invalid_metadata"],
    [
      "a body over the size limit",
      adminJson({ token: "t", id: "i", subject: "s", status: "x".repeat(MAX_BODY_BYTES) }),
      413,
      "body_too_large",
    ],
    [
      "a form body",
      {
        method: "POST",
        headers: { ...bearer(ADMIN), "Content-Type": "application/x-www-form-urlencoded" },
        body: "token=t&id=i&subject=s",
      },
      415,
      "unsupported_media_type",
    ],
    [
      "no content type",
      { method: "POST", headers: bearer(ADMIN), body: '{"token":"t","id":"i","subject":"s"}' },
      415,
      "unsupported_media_type",
    ],
  ];
  for (const [what, init, status, code] of bad) {
    it(`answers ${what} with ${status} ${code}, storing nothing`, async () => {
      const h = harness();
      const res = await h.app.request("/admin/tokens", init);
      expect(res.status).toBe(status);
      const body = (await res.json()) as Body;
      expect(body.error.code).toMatch(code);
      expect(body.error.message.length).toBeGreaterThan(0);
      expect(memorySnapshot(h.memory).tokens).toEqual([]);
    });
  }

  it("says which field is wrong, and how", async () => {
    const h = harness();
    const cases: [unknown, string][] = [
      [{ token: "t", id: "i", subject: "s", expires_at: "x" }, 'unknown field "expires_at"'],
      [{ token: "t", id: "i" }, "subject is required"],
      [{ token: "t", id: 5, subject: "s" }, "id must be a string"],
      [
        { token: "t", id: "i", subject: "s", expiresAt: true },
        "expiresAt: must be an ISO 8601 string or epoch milliseconds",
      ],
      [[1, 2], "the body must be a JSON object"],
      [null, "the body must be a JSON object"],
      ["{oops", "Malformed JSON in request body"],
    ];
    for (const [body, message] of cases) {
      const res = await h.app.request("/admin/tokens", adminJson(body === "{oops" ? body : JSON.stringify(body)));
      expect(await res.json(), JSON.stringify(body)).toEqual({ error: { code: "invalid_request", message } });
    }
  });

  it("never answers a client mistake with a 5xx", async () => {
    const h = harness();
    const bodies = [
      "",
      "null",
      "0",
      '"str"',
      "[]",
      "{}",
      '{"token":null}',
      '{"token":{}}',
      '{"token":"t","id":"i","subject":"s","issuedAt":-8.64e16}',
      '{"token":"t","id":"i","subject":"s","expiresAt":1e400}',
      "\u0000",
      "{".repeat(1000),
    ];
    for (const path of [
      "/admin/tokens",
      "/admin/tokens/lookup",
      "/admin/tokens/revoke",
      "/admin/tokens/status",
      "/admin/tokens/delete",
      "/admin/tokens/inspect",
    ]) {
      for (const body of bodies) {
        const res = await h.app.request(path, adminJson(body));
        expect(res.status, `${path} ${body.slice(0, 30)}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${path} ${body.slice(0, 30)}`).toBeLessThan(500);
        expect(((await res.json()) as Body).error.code.length).toBeGreaterThan(0);
      }
    }
    for (const id of ["%00", "a".repeat(300), "%E0%A4%A"]) {
      const res = await h.app.request(`/admin/tokens/by-id/${id}`, { headers: bearer(ADMIN) });
      expect(res.status, id.slice(0, 20)).toBeLessThan(500);
    }
  });

  it("never puts a raw token in an error message", async () => {
    const h = harness();
    const token = "raw-admin-secret-token-xyz";
    await h.memory.store(token, { id: "r", subject: "s" });
    await h.memory.revoke(token);
    for (const path of ["/admin/tokens/lookup", "/admin/tokens"]) {
      const res = await h.app.request(path, adminJson({ token, id: "r", subject: "s" }));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(await res.text()).not.toContain(token);
    }
  });
});
