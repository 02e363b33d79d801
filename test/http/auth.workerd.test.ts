/**
 * Authorization is parsed by RFC 6750 §2.1 (Bearer) and RFC 7617 (Basic) exactly: a control
 * character anywhere around the credentials refuses it, on the admin API, the guard and OAuth.
 */
import { describe, expect, it } from "vitest";
import { ADMIN, CLIENT_ID, CLIENT_SECRET, harness } from "../support/worker.js";

describe("Authorization syntax", () => {
  // every ASCII control a header can carry, but HTAB (optional white space HTTP strips itself);
  // NUL, CR and LF cannot be sent in a header value at all
  const controls = [...Array(32).keys(), 0x7f]
    .filter((c) => ![0x00, 0x09, 0x0a, 0x0d].includes(c))
    .map((c) => String.fromCharCode(c));
  for (const ws of controls) {
    const label = `U+${ws.charCodeAt(0).toString(16).padStart(4, "0")}`;
    it(`refuses the admin token with ${label} around it`, async () => {
      const h = harness();
      for (const value of [
        `Bearer ${ADMIN}${ws}`,
        `Bearer${ws}${ADMIN}`,
        `${ws}Bearer ${ADMIN}`,
        `Bearer ${ws}${ADMIN}`,
      ]) {
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
    for (const value of ["Bearer\tabc-._~+/==", "Bearer abc=-", "Bearer a b", "Bearer abc,", 'Bearer "abc"']) {
      expect((await h.app.request("/x", { headers: { Authorization: value } })).status, value).toBe(401);
    }
  });

  it("refuses Basic client credentials with a VT or FF after the scheme", async () => {
    const h = harness();
    await h.memory.store("keep", { id: "k", subject: "s" });
    for (const sep of ["\v", "\f"]) {
      const res = await h.app.request("/oauth/revoke", {
        method: "POST",
        headers: {
          Authorization: `Basic${sep}${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: "token=keep",
      });
      expect(res.status).toBe(401);
    }
    expect(await h.memory.isRevoked("keep")).toBe(false);
  });
});
