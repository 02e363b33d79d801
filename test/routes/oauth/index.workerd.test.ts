import { describe, expect, it } from "vitest";
import { ADMIN, bearer, CLIENT_ID, CLIENT_SECRET, harness, HOUR, unreachableStore } from "../../support/worker.js";

const basic = (id: string, secret: string) => ({ Authorization: `Basic ${btoa(`${id}:${secret}`)}` });
const form = (
  params: Record<string, string>,
  headers: Record<string, string> = basic(CLIENT_ID, CLIENT_SECRET),
): RequestInit => ({
  method: "POST",
  headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(params).toString(),
});

describe("POST /oauth/revoke (RFC 7009)", () => {
  it("revokes a token for an authenticated client, so the guard refuses it", async () => {
    const h = harness();
    await h.memory.store("rt-1", { id: "1", subject: "alice" });
    const res = await h.app.request("/oauth/revoke", form({ token: "rt-1", token_type_hint: "access_token" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(await h.memory.isRevoked("rt-1")).toBe(true);
    expect((await h.app.request("/api", { headers: bearer("rt-1") })).status).toBe(401);
  });

  it("revokes a refresh token's family (§2.1), by its hint or its stored type; an access token alone", async () => {
    const h = harness();
    const live = async (t: string) => (await h.app.request("/api", { headers: bearer(t) })).status;
    // grant 1: the hint says refresh_token (its type was not recorded)
    await h.memory.store("g1-refresh", { id: "g1r", subject: "alice", family: "g1" });
    await h.memory.store("g1-access", { id: "g1a", subject: "alice", family: "g1" });
    // grant 2: no hint, the stored type says refresh_token
    await h.memory.store("g2-refresh", { id: "g2r", subject: "alice", family: "g2", type: "refresh_token" });
    await h.memory.store("g2-access", { id: "g2a", subject: "alice", family: "g2", type: "access_token" });
    // grant 3: an access token revoked, even with a wrong hint about nothing else
    await h.memory.store("g3-refresh", { id: "g3r", subject: "alice", family: "g3", type: "refresh_token" });
    await h.memory.store("g3-access", { id: "g3a", subject: "alice", family: "g3", type: "access_token" });
    expect(
      (await h.app.request("/oauth/revoke", form({ token: "g1-refresh", token_type_hint: "refresh_token" }))).status,
    ).toBe(200);
    expect((await h.app.request("/oauth/revoke", form({ token: "g2-refresh" }))).status).toBe(200);
    expect(
      (await h.app.request("/oauth/revoke", form({ token: "g3-access", token_type_hint: "access_token" }))).status,
    ).toBe(200);
    expect(await live("g1-access")).toBe(401);
    expect(await live("g2-access")).toBe(401);
    expect(await live("g3-access")).toBe(401);
    expect(await live("g3-refresh")).toBe(200);
    expect(await h.memory.inspect("g2-access")).toMatchObject({ state: "revoked", revokedBy: "family" });
  });

  it("takes only the exact hint refresh_token as the client's word: a near miss revokes an access token alone", async () => {
    const h = harness();
    const live = async (t: string) => (await h.app.request("/api", { headers: bearer(t) })).status;
    const hints = [
      "Refresh_Token",
      "refresh_token ",
      "refresh_token\0",
      "refresh",
      "refresh_token%00",
      "\u202erefresh_token",
    ];
    for (const [i, hint] of hints.entries()) {
      const family = `near-${i}`;
      await h.memory.store(`${family}-access`, { id: `${family}-a`, subject: "alice", family, type: "access_token" });
      await h.memory.store(`${family}-sibling`, { id: `${family}-s`, subject: "alice", family, type: "access_token" });
      const res = await h.app.request("/oauth/revoke", form({ token: `${family}-access`, token_type_hint: hint }));
      expect(res.status, JSON.stringify(hint)).toBe(200);
      expect(await live(`${family}-access`)).toBe(401);
      expect(await live(`${family}-sibling`), JSON.stringify(hint)).toBe(200);
    }
  });

  it("answers 200 for an unknown or malformed token, as the RFC requires", async () => {
    const h = harness();
    expect((await h.app.request("/oauth/revoke", form({ token: "never-issued" }))).status).toBe(200);
    expect((await h.app.request("/oauth/revoke", form({ token: "x".repeat(5000) }))).status).toBe(200);
  });

  it("accepts client_secret_post and the admin bearer token too", async () => {
    const h = harness();
    await h.memory.store("a", { id: "a", subject: "s" });
    await h.memory.store("b", { id: "b", subject: "s" });
    expect(
      (
        await h.app.request(
          "/oauth/revoke",
          form({ token: "a", client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, {}),
        )
      ).status,
    ).toBe(200);
    expect((await h.app.request("/oauth/revoke", form({ token: "b" }, bearer(ADMIN)))).status).toBe(200);
    expect(await h.memory.isRevoked("a")).toBe(true);
    expect(await h.memory.isRevoked("b")).toBe(true);
  });

  it("refuses bad client credentials with 401 invalid_client and revokes nothing", async () => {
    const h = harness();
    await h.memory.store("keep", { id: "k", subject: "s" });
    for (const headers of [
      {},
      basic(CLIENT_ID, "wrong-secret"),
      basic("nobody", CLIENT_SECRET),
      { Authorization: "Basic !!!" },
    ] as Record<string, string>[]) {
      const res = await h.app.request("/oauth/revoke", form({ token: "keep" }, headers));
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(await res.json()).toEqual({ error: "invalid_client", error_description: "client authentication failed" });
    }
    expect(await h.memory.isRevoked("keep")).toBe(false);
  });

  it("refuses an unknown client that sends the secret compared against for unknown ids", async () => {
    const h = harness();
    await h.memory.store("keep-dummy", { id: "kd", subject: "s" });
    // the route compares an unknown id's secret against a fixed dummy so timing tells nothing;
    // sending that very dummy must not authenticate
    const dummy = "\0unknown-client";
    const attempts: [string, RequestInit][] = [
      ["post", form({ token: "keep-dummy", client_id: "nobody", client_secret: dummy }, {})],
      [
        "basic, escaped",
        form({ token: "keep-dummy" }, { Authorization: `Basic ${btoa(`nobody:${encodeURIComponent(dummy)}`)}` }),
      ],
      ["basic, raw NUL", form({ token: "keep-dummy" }, { Authorization: `Basic ${btoa(`nobody:${dummy}`)}` })],
    ];
    for (const path of ["/oauth/revoke", "/oauth/introspect"]) {
      for (const [label, init] of attempts) {
        const res = await h.app.request(path, init);
        expect(res.status, `${path} ${label}`).toBe(401);
        expect(await res.json()).toEqual({
          error: "invalid_client",
          error_description: "client authentication failed",
        });
      }
    }
    expect(await h.memory.isRevoked("keep-dummy")).toBe(false);
  });

  it("answers a missing token or a JSON body with 400 invalid_request", async () => {
    const h = harness();
    const missing = await h.app.request("/oauth/revoke", form({}));
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toBe("invalid_request");
    const json = await h.app.request("/oauth/revoke", {
      method: "POST",
      headers: { ...basic(CLIENT_ID, CLIENT_SECRET), "Content-Type": "application/json" },
      body: '{"token":"x"}',
    });
    expect(json.status).toBe(400);
  });

  it("answers a store outage with 503 temporarily_unavailable and Retry-After", async () => {
    const h = harness({ store: unreachableStore() });
    const res = await h.app.request("/oauth/revoke", form({ token: "x" }));
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("5");
    expect(((await res.json()) as { error: string }).error).toBe("temporarily_unavailable");
  });
});

describe("POST /oauth/introspect (RFC 7662)", () => {
  it("describes a live token", async () => {
    const h = harness();
    const t = h.clock.t;
    await h.memory.store("it-1", {
      id: "jti-1",
      subject: "alice",
      issuer: "https://idp",
      type: "access",
      keyId: "k1",
      clientId: CLIENT_ID,
      issuedAt: new Date(t),
      expiresAt: new Date(t + HOUR),
    });
    const res = await h.app.request("/oauth/introspect", form({ token: "it-1" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      active: true,
      sub: "alice",
      jti: "jti-1",
      iss: "https://idp",
      iat: t / 1000,
      exp: (t + HOUR) / 1000,
      token_type: "Bearer",
      client_id: CLIENT_ID,
      kid: "k1",
    });
  });

  it("answers exactly { active: false } for unknown, expired and revoked tokens", async () => {
    const h = harness();
    await h.memory.store("exp", { id: "e", subject: "s", expiresAt: new Date(h.clock.t + 10) });
    await h.memory.store("rev", { id: "r", subject: "s" });
    await h.memory.revoke("rev");
    h.clock.t += 11;
    for (const token of ["unknown", "exp", "rev"]) {
      const res = await h.app.request("/oauth/introspect", form({ token }));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"active":false}');
    }
  });

  it("needs client authentication", async () => {
    const h = harness();
    expect((await h.app.request("/oauth/introspect", form({ token: "x" }, {}))).status).toBe(401);
  });

  it("answers a store outage with 503, not with active: false", async () => {
    const h = harness({ store: unreachableStore() });
    expect((await h.app.request("/oauth/introspect", form({ token: "x" }))).status).toBe(503);
  });
});

describe("OAuth to the letter", () => {
  const OTHER = "client-b";
  const OTHER_SECRET = "client-b-secret-0123456789";
  const twoClients = () =>
    harness({
      config: {
        oauthClients: new Map([
          [CLIENT_ID, CLIENT_SECRET],
          [OTHER, OTHER_SECRET],
        ]),
      },
    });

  it("lets a client revoke only its own tokens (RFC 7009 §2.1): another client gets 400 invalid_grant and the token stays live", async () => {
    const h = twoClients();
    await h.memory.store("owned", { id: "o", subject: "s", clientId: CLIENT_ID });
    await h.memory.store("unowned", { id: "u", subject: "s" });
    for (const headers of [basic(OTHER, OTHER_SECRET), undefined]) {
      const init = headers
        ? form({ token: "owned" }, headers)
        : form({ token: "owned", client_id: OTHER, client_secret: OTHER_SECRET }, {});
      const res = await h.app.request("/oauth/revoke", init);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: "invalid_grant",
        error_description: "the token was issued to another client",
      });
    }
    expect(await h.memory.isRevoked("owned")).toBe(false);
    expect((await h.app.request("/api", { headers: bearer("owned") })).status).toBe(200);
    // a token without a client id is anyone's to revoke; the owner and the admin bearer may revoke theirs
    expect((await h.app.request("/oauth/revoke", form({ token: "unowned" }, basic(OTHER, OTHER_SECRET)))).status).toBe(
      200,
    );
    expect((await h.app.request("/oauth/revoke", form({ token: "owned" }))).status).toBe(200);
    expect(await h.memory.isRevoked("unowned")).toBe(true);
    expect(await h.memory.isRevoked("owned")).toBe(true);
    await h.memory.store("owned-2", { id: "o2", subject: "s", clientId: OTHER });
    expect((await h.app.request("/oauth/revoke", form({ token: "owned-2" }, bearer(ADMIN)))).status).toBe(200);
    expect(await h.memory.isRevoked("owned-2")).toBe(true);
  });

  it("answers a wrong bearer with a Bearer challenge (RFC 7662 §2.3, RFC 6750 §3), on both endpoints", async () => {
    const h = harness();
    for (const path of ["/oauth/introspect", "/oauth/revoke"]) {
      for (const value of ["Bearer not-the-admin-token", "Bearer a b", `Bearer ${ADMIN}\v`]) {
        const res = await h.app.request(path, form({ token: "x" }, { Authorization: value }));
        expect(res.status, `${path} ${value}`).toBe(401);
        expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="oauth", error="invalid_token"');
        expect(((await res.json()) as { error: string }).error).toBe("invalid_token");
      }
    }
  });

  it("answers GET, PUT, DELETE, PATCH, OPTIONS and HEAD with 405 and Allow: POST", async () => {
    const h = harness();
    for (const path of ["/oauth/revoke", "/oauth/introspect"]) {
      for (const method of ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]) {
        const res = await h.app.request(path, { method, headers: basic(CLIENT_ID, CLIENT_SECRET) });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get("Allow")).toBe("POST");
      }
    }
    expect(h.store.total()).toBe(0);
  });

  it("refuses a repeated parameter (RFC 6749 §3.2) and two client authentication methods at once (§2.3)", async () => {
    const h = harness();
    await h.memory.store("A", { id: "a", subject: "s" });
    await h.memory.store("B", { id: "b", subject: "s" });
    const raw = (body: string, headers: Record<string, string> = basic(CLIENT_ID, CLIENT_SECRET)): RequestInit => ({
      method: "POST",
      headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });
    for (const body of [
      "token=A&token=B",
      "token=A&token_type_hint=x&token_type_hint=y",
      `token=A&client_id=${CLIENT_ID}&client_id=${CLIENT_ID}`,
    ]) {
      const res = await h.app.request("/oauth/revoke", raw(body));
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe("invalid_request");
    }
    const both = await h.app.request("/oauth/revoke", raw(`token=A&client_secret=${CLIENT_SECRET}`));
    expect(both.status).toBe(400);
    // a form client_id that contradicts the Basic credentials is refused too
    const other = await h.app.request("/oauth/revoke", raw("token=A&client_id=someone-else"));
    expect(other.status).toBe(400);
    expect(((await other.json()) as { error: string }).error).toBe("invalid_request");
    expect(await h.memory.isRevoked("A")).toBe(false);
    expect(await h.memory.isRevoked("B")).toBe(false);
  });
});
