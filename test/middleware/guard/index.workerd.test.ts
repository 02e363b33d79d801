import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { tokenGuard, type TokenGuardVariables } from "../../../src/middleware/guard/index.js";
import { MemoryTokenStore } from "../../../src/store/index.js";
import { bearer, harness, HOUR, unreachableStore } from "../../support/worker.js";

const sha256 = async (buf: ArrayBuffer) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", buf))].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("guard outcomes", () => {
  it("answers a request without a token with 401 and a bare Bearer challenge", async () => {
    const h = harness();
    for (const headers of [{}, { Authorization: "Basic dXNlcjpwYXNz" }] as Record<string, string>[]) {
      const res = await h.app.request("/api/orders", { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="edge-token-store"');
      expect(await res.json()).toEqual({ error: { code: "missing_token", message: "a bearer token is required" } });
    }
    expect(h.origin).toHaveLength(0);
    expect(h.store.total()).toBe(0);
  });

  it("answers a malformed bearer token with 401 invalid_token, without asking the store", async () => {
    const h = harness();
    // a non-ASCII token is test/middleware/guard/index.test.ts's: workerd prints a warning for every non-ASCII header value a test builds
    for (const value of ["Bearer", "Bearer has spaces inside", `Bearer ${"a".repeat(4097)}`]) {
      const res = await h.app.request("/api", { headers: { Authorization: value } });
      expect(res.status, value.slice(0, 20)).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
    }
    expect(h.store.total()).toBe(0);
    expect(h.origin).toHaveLength(0);
  });

  const states: [string, (h: ReturnType<typeof harness>) => Promise<void>, string][] = [
    ["unknown", async () => {}, "the token is unknown"],
    [
      "expired",
      async (h) => {
        await h.memory.store("tok-state", { id: "s1", subject: "alice", expiresAt: new Date(h.clock.t + 1000) });
        h.clock.t += 1001;
      },
      "the token has expired",
    ],
    [
      "revoked",
      async (h) => {
        await h.memory.store("tok-state", { id: "s1", subject: "alice" });
        await h.memory.revoke("tok-state");
      },
      "the token has been revoked",
    ],
  ];
  for (const [state, arrange, description] of states) {
    it(`answers a ${state} token with 401 invalid_token after one store call, and never reaches the origin`, async () => {
      const h = harness();
      await arrange(h);
      const res = await h.app.request("/api/orders?id=7", { method: "POST", headers: bearer("tok-state"), body: "x" });
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toBe(
        `Bearer realm="edge-token-store", error="invalid_token", error_description="${description}"`,
      );
      expect(await res.json()).toEqual({ error: { code: "invalid_token", message: description } });
      expect(h.store.calls).toEqual({ get: 1 });
      expect(h.origin).toHaveLength(0);
    });
  }

  it("forwards a live token's request with one store call, trusted identity headers and spoofed ones gone", async () => {
    const h = harness();
    await h.memory.store("live-token", { id: "tok-1", subject: "alice" });
    const res = await h.app.request("https://edge.test/api/orders/42?expand=items&q=a%20b", {
      method: "GET",
      headers: {
        ...bearer("live-token"),
        "X-Token-Subject": "mallory",
        "x-token-id": "forged",
        "X-Token-Status": "verified",
        "X-Custom": "kept",
        Accept: "application/json",
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-origin")).toBe("yes");
    expect(h.store.calls).toEqual({ get: 1 });
    expect(h.origin).toHaveLength(1);
    const seen = h.origin[0]!;
    expect(seen.url).toBe("http://origin.test/api/orders/42?expand=items&q=a%20b");
    expect(seen.method).toBe("GET");
    expect(seen.headers.get("X-Token-Subject")).toBe("alice");
    expect(seen.headers.get("X-Token-Id")).toBe("tok-1");
    expect(seen.headers.get("X-Token-Status")).toBeNull();
    expect(seen.headers.get("Authorization")).toBe("Bearer live-token");
    expect(seen.headers.get("X-Custom")).toBe("kept");
    expect(seen.headers.get("Accept")).toBe("application/json");
  });

  it("forwards POST and PUT bodies byte for byte", async () => {
    const h = harness();
    await h.memory.store("live-token", { id: "tok-1", subject: "alice" });
    const body = crypto.getRandomValues(new Uint8Array(64 * 1024));
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const res = await h.app.request("/upload", {
        method,
        headers: { ...bearer("live-token"), "Content-Type": "application/octet-stream" },
        body,
      });
      expect(res.status).toBe(200);
    }
    expect(h.origin.map((r) => r.method)).toEqual(["POST", "PUT", "PATCH", "DELETE"]);
    for (const seen of h.origin) {
      expect(seen.headers.get("Content-Type")).toBe("application/octet-stream");
      expect(await sha256(await seen.arrayBuffer())).toBe(await sha256(body.buffer));
    }
    expect(h.store.calls).toEqual({ get: 4 });
  });

  it("percent-encodes identity values that are not printable ASCII", async () => {
    const h = harness();
    await h.memory.store("live-token", { id: "id-é-ü", subject: "ユーザー" });
    expect((await h.app.request("/x", { headers: bearer("live-token") })).status).toBe(200);
    expect(h.origin[0]!.headers.get("X-Token-Subject")).toBe(encodeURIComponent("ユーザー"));
    expect(h.origin[0]!.headers.get("X-Token-Id")).toBe("id-%C3%A9-%C3%BC");
  });

  it("treats a token as live until its expiresAt, and admits it again never once revoked", async () => {
    const h = harness();
    await h.memory.store("t", { id: "1", subject: "a", expiresAt: new Date(h.clock.t + HOUR) });
    h.clock.t += HOUR;
    expect((await h.app.request("/x", { headers: bearer("t") })).status).toBe(200);
    await h.memory.revoke("t");
    expect((await h.app.request("/x", { headers: bearer("t") })).status).toBe(401);
    expect(h.origin).toHaveLength(1);
  });
});

describe("guard when the store is unreachable", () => {
  it("fails closed by default: 503 with Retry-After, origin untouched, outage logged without the token", async () => {
    const h = harness({ store: unreachableStore() });
    const res = await h.app.request("/api/orders", { headers: bearer("some-raw-token-value") });
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("5");
    expect(await res.json()).toEqual({
      error: { code: "store_unavailable", message: "the token store cannot be reached; try again shortly" },
    });
    expect(h.origin).toHaveLength(0);
    expect(h.store.calls).toEqual({ get: 1 });
    expect(h.logs).toHaveLength(1);
    expect(JSON.parse(h.logs[0]!)).toMatchObject({ event: "guard_store_unavailable", failMode: "closed" });
    expect(h.logs[0]).not.toContain("some-raw-token-value");
  });

  it("logs an outage once per window, counting the lines it held back", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const h = harness({ store: unreachableStore() });
      for (let i = 0; i < 4; i++)
        expect((await h.app.request("/api", { headers: bearer(`tok-${i}`) })).status).toBe(503);
      expect(h.logs).toHaveLength(1);
      expect(JSON.parse(h.logs[0]!)).toMatchObject({ event: "guard_store_unavailable", suppressed: 0 });
      vi.setSystemTime(Date.now() + 10_001);
      expect((await h.app.request("/api", { headers: bearer("tok-late") })).status).toBe(503);
      expect(h.logs).toHaveLength(2);
      expect(JSON.parse(h.logs[1]!)).toMatchObject({ event: "guard_store_unavailable", suppressed: 3 });
      expect(h.store.calls).toEqual({ get: 5 });
    } finally {
      vi.useRealTimers();
    }
  });

  it("fails open only when configured, marking the request unverified and trusting no identity header", async () => {
    const h = harness({ store: unreachableStore(), config: { failMode: "open" } });
    const res = await h.app.request("/api/orders", {
      headers: { ...bearer("tok"), "X-Token-Subject": "mallory", "X-Token-Status": "ok" },
    });
    expect(res.status).toBe(200);
    const seen = h.origin[0]!;
    expect(seen.headers.get("X-Token-Status")).toBe("unverified");
    expect(seen.headers.get("X-Token-Subject")).toBeNull();
    expect(seen.headers.get("X-Token-Id")).toBeNull();
  });

  it("still refuses a missing token in fail-open mode", async () => {
    const h = harness({ store: unreachableStore(), config: { failMode: "open" } });
    expect((await h.app.request("/api/orders")).status).toBe(401);
    expect(h.origin).toHaveLength(0);
  });
});

describe("tokenGuard on its own", () => {
  it("guards only the routes it is mounted on, and hands the metadata to them", async () => {
    const store = new MemoryTokenStore();
    await store.store("mine", { id: "t-1", subject: "bob" });
    const app = new Hono<{ Variables: TokenGuardVariables }>();
    app.get("/public", (c) => c.text("hello"));
    app.use("/api/*", tokenGuard({ store, realm: "my-api" }));
    app.get("/api/me", (c) => c.json({ subject: c.var.token?.subject, header: c.req.header("X-Token-Subject") }));

    expect(await (await app.request("/public")).text()).toBe("hello");
    const denied = await app.request("/api/me");
    expect(denied.status).toBe(401);
    expect(denied.headers.get("WWW-Authenticate")).toBe('Bearer realm="my-api"');
    const ok = await app.request("/api/me", { headers: { ...bearer("mine"), "X-Token-Subject": "mallory" } });
    expect(await ok.json()).toEqual({ subject: "bob", header: "bob" });
  });

  it("fails closed when built without a failMode", async () => {
    const app = new Hono();
    app.use("*", tokenGuard({ store: unreachableStore(), log: () => {} }));
    let reached = 0;
    app.get("*", (c) => c.text(`handler ran ${++reached}`));
    const res = await app.request("/x", { headers: bearer("tok") });
    expect(res.status).toBe(503);
    expect(reached).toBe(0);
  });

  it("rejects bad options when it is built", () => {
    expect(() => tokenGuard({} as never)).toThrow(/store is required/);
    expect(() => tokenGuard({ store: new MemoryTokenStore(), failMode: "maybe" as never })).toThrow(/failMode/);
    expect(() => tokenGuard({ store: new MemoryTokenStore(), tokenFormat: "Tagged" as never })).toThrow(/tokenFormat/);
  });
});
