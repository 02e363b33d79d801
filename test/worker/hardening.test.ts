/**
 * The five defects a hostile client found (issue 10), each pinned by a test that fails on the
 * code before the fix: lone surrogates, ambiguous identity headers, loose Authorization
 * parsing, and a store answer built from a second read.
 */
import { describe, expect, it } from "vitest";
import { identityHeaderValue } from "../../src/middleware/guard.js";
import { MemoryTokenStore } from "../../src/store/memory.js";
import type { TokenStore } from "../../src/store/types.js";
import { ADMIN, adminJson, bearer, CLIENT_ID, CLIENT_SECRET, harness } from "./support.js";

type Body = { error: { code: string; message: string } };

describe("lone surrogates (defects 1 and 2)", () => {
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
    for (const [token, id] of [["t-hi", "\\ud800"], ["t-lo", "\\udc00"]]) {
      const res = await h.app.request("/admin/tokens", adminJson(`{"token":"${token}","id":"${id}","subject":"s"}`));
      expect(res.status).toBe(400);
    }
    expect(h.memory.snapshot().tokens).toEqual([]);
  });
});

describe("identity headers (defect 3)", () => {
  const pairs: [string, string][] = [
    ["ädmin", "%C3%A4dmin"],
    [" admin", "%20admin"],
    ["admin ", "admin%20"],
    ["a\nb", "a%0Ab"],
    ["admin", "%61dmin"],
    ["100%", "100%25"],
    ["josé", "jos%C3%A9"],
    ["del\x7f", "del%7F"],
  ];
  for (const [a, b] of pairs) {
    it(`sends ${JSON.stringify(a)} and ${JSON.stringify(b)} as distinct values that decode back`, async () => {
      const h = harness();
      await h.memory.store("tok-a", { id: "id-a", subject: a });
      await h.memory.store("tok-b", { id: "id-b", subject: b });
      for (const token of ["tok-a", "tok-b"]) expect((await h.app.request("/x", { headers: bearer(token) })).status).toBe(200);
      const [ha, hb] = h.origin.map((r) => r.headers.get("X-Token-Subject")!);
      expect(ha).not.toBe(hb);
      expect(decodeURIComponent(ha!)).toBe(a);
      expect(decodeURIComponent(hb!)).toBe(b);
    });
  }

  it("sends printable ASCII without % as it is, and encodes every C0 control, DEL, Latin-1, % and edge spaces", () => {
    expect(identityHeaderValue("alice@example.com")).toBe("alice@example.com");
    expect(identityHeaderValue("a b+c/d=")).toBe("a b+c/d=");
    for (let code = 0; code < 0x20; code++) {
      const v = `x${String.fromCharCode(code)}y`;
      expect(identityHeaderValue(v), `0x${code.toString(16)}`).toBe(`x%${code.toString(16).toUpperCase().padStart(2, "0")}y`);
    }
    expect(identityHeaderValue("x\x7f")).toBe("x%7F");
    expect(identityHeaderValue("café")).toBe("caf%C3%A9");
    expect(identityHeaderValue("\xa0nbsp")).toBe("%C2%A0nbsp");
    expect(identityHeaderValue("50%")).toBe("50%25");
    expect(identityHeaderValue(" lead")).toBe("%20lead");
    expect(identityHeaderValue("trail ")).toBe("trail%20");
  });

  it("strips look-alikes of the identity headers that CGI, PHP and nginx treat as the same name", async () => {
    const h = harness();
    await h.memory.store("live", { id: "real-id", subject: "alice" });
    const spoofed = { X_Token_Subject: "admin", x_token_id: "forged", "X-TOKEN_STATUS": "verified", "x-token_subject": "root", "X-Token-Subjects": "kept" };
    expect((await h.app.request("/x", { headers: { ...bearer("live"), ...spoofed } })).status).toBe(200);
    const seen = [...h.origin[0]!.headers].map(([n]) => n);
    expect(seen.filter((n) => n.replaceAll("_", "-") === "x-token-subject")).toEqual(["x-token-subject"]);
    expect(seen.filter((n) => n.replaceAll("_", "-") === "x-token-id")).toEqual(["x-token-id"]);
    expect(seen.some((n) => n.replaceAll("_", "-") === "x-token-status")).toBe(false);
    expect(h.origin[0]!.headers.get("X-Token-Subject")).toBe("alice");
    expect(h.origin[0]!.headers.get("X-Token-Subjects")).toBe("kept");
  });
});

describe("Authorization syntax (defect 4)", () => {
  // every ASCII control a header can carry, but HTAB (optional white space HTTP strips itself);
  // NUL, CR and LF cannot be sent in a header value at all
  const controls = [...Array(32).keys(), 0x7f].filter((c) => ![0x00, 0x09, 0x0a, 0x0d].includes(c)).map((c) => String.fromCharCode(c));
  for (const ws of controls) {
    const label = `U+${ws.charCodeAt(0).toString(16).padStart(4, "0")}`;
    it(`refuses the admin token with ${label} around it`, async () => {
      const h = harness();
      for (const value of [`Bearer ${ADMIN}${ws}`, `Bearer${ws}${ADMIN}`, `${ws}Bearer ${ADMIN}`, `Bearer ${ws}${ADMIN}`]) {
        const res = await h.app.request("/admin/subjects/alice/tokens", { headers: { Authorization: value } });
        expect(res.status, JSON.stringify(value)).toBe(401);
      }
    });

    it(`answers a live token with ${label} around it with invalid_token and never forwards it`, async () => {
      const h = harness();
      await h.memory.store("live-token", { id: "l", subject: "s" });
      for (const value of [`Bearer live-token${ws}`, `Bearer${ws}live-token`]) {
        const res = await h.app.request("/x", { headers: { Authorization: value } });
        expect(res.status).toBe(401);
        expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
      }
      expect(h.origin).toHaveLength(0);
    });
  }

  it("accepts the RFC 6750 form: any case of the scheme, one or more spaces, b64token with trailing =", async () => {
    const h = harness();
    await h.memory.store("abc-._~+/==", { id: "l", subject: "s" });
    for (const value of ["Bearer abc-._~+/==", "bearer abc-._~+/==", "BEARER   abc-._~+/==", "\tBearer abc-._~+/== "]) {
      expect((await h.app.request("/x", { headers: { Authorization: value } })).status, value).toBe(200);
    }
    for (const value of ["Bearer\tabc-._~+/==", "Bearer abc=-", "Bearer a b", "Bearer abc,", "Bearer \"abc\""]) {
      expect((await h.app.request("/x", { headers: { Authorization: value } })).status, value).toBe(401);
    }
  });

  it("refuses Basic client credentials with a VT or FF after the scheme", async () => {
    const h = harness();
    await h.memory.store("keep", { id: "k", subject: "s" });
    for (const sep of ["\v", "\f"]) {
      const res = await h.app.request("/oauth/revoke", {
        method: "POST",
        headers: { Authorization: `Basic${sep}${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`, "Content-Type": "application/x-www-form-urlencoded" },
        body: "token=keep",
      });
      expect(res.status).toBe(401);
    }
    expect(await h.memory.isRevoked("keep")).toBe(false);
  });
});

describe("POST /admin/tokens answers from what it stored (defect 5)", () => {
  it("makes one store call and no second read", async () => {
    const h = harness();
    const res = await h.app.request("/admin/tokens", adminJson({ token: "one-call", id: "oc", subject: "s" }));
    expect(res.status).toBe(201);
    expect(h.store.calls).toEqual({ store: 1 });
    expect(await res.json()).toEqual({ id: "oc", subject: "s", issuedAt: new Date(h.clock.t).toISOString(), expiresAt: new Date(h.clock.t + 86_400_000).toISOString() });
  });

  for (const race of ["delete", "revoke"] as const) {
    it(`answers 201 with the stored metadata even when a concurrent ${race} lands right after the write`, async () => {
      const inner = new MemoryTokenStore();
      // the concurrent call lands between the write and anything the route does next
      const racing: TokenStore = Object.create(inner, {
        store: { value: async (token: string, md: Parameters<TokenStore["store"]>[1]) => {
          const stored = await inner.store(token, md);
          await inner[race](token);
          return stored;
        } },
      });
      const h = harness({ store: racing });
      const res = await h.app.request("/admin/tokens", adminJson({ token: "raced", id: "r1", subject: "s" }));
      expect(res.status).toBe(201);
      expect(((await res.json()) as { id: string }).id).toBe("r1");
    });
  }
});
