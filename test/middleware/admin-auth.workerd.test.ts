/**
 * Admin identity through Cloudflare Access, inside workerd: RS256 keys made here, Access-shaped
 * assertions signed with jose, the team's certs served by the local JWKS server.
 */
import fc from "fast-check";
import { CompactSign, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { AccessVerifier } from "../../src/jwt/access.js";
import { ADMIN, adminJson, bearer, harness } from "../support/worker.js";

const TEAM = "https://test-team.cloudflareaccess.com";
const AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const NOW = Date.UTC(2026, 10, 27, 12);
const sec = (ms: number) => Math.floor(ms / 1000);
const jwksUrl = inject("jwksUrl");

async function rsKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256" } as JWK };
}
const [key, impostor] = await Promise.all([rsKey("access-1"), rsKey("access-1")]);

/** An assertion as Access issues it for a person (a service token has common_name and no email). */
function assertion(claims: JWTPayload = {}, signer = key): Promise<string> {
  return new SignJWT({
    aud: [AUD],
    email: "alice@example.com",
    sub: "7335d417-61da-459d-899c-0a01c76a2f94",
    iss: TEAM,
    iat: sec(NOW) - 60,
    nbf: sec(NOW) - 60,
    exp: sec(NOW) + 3600,
    type: "app",
    ...claims,
  })
    .setProtectedHeader({ alg: "RS256", kid: signer.kid })
    .sign(signer.privateKey);
}

/** An assertion whose payload is exactly this JSON text (escapes a JSON encoder would never write). */
async function rawAssertion(payloadJson: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payloadJson))
    .setProtectedHeader({ alg: "RS256", kid: key.kid })
    .sign(key.privateKey);
}

async function setup(o: { adminToken?: string | null; certs?: "up" | "down" } = {}) {
  const name = `access-${crypto.randomUUID()}`;
  await fetch(`${jwksUrl}/${name}`, { method: "POST", body: JSON.stringify({ keys: [key.jwk] }) });
  if (o.certs === "down") await fetch(`${jwksUrl}/${name}/down`, { method: "POST" });
  const clock = { t: NOW };
  const access = new AccessVerifier({
    teamDomain: TEAM,
    audience: AUD,
    certsUrl: `${jwksUrl}/${name}`,
    now: () => clock.t,
  });
  const h = harness({ access, config: { adminToken: o.adminToken === null ? undefined : ADMIN } });
  h.clock.t = NOW;
  Object.defineProperty(clock, "t", { get: () => h.clock.t });
  return h;
}

const withAccess = (jwt: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), "Cf-Access-Jwt-Assertion": jwt },
});
const storeBody = (token: string) => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ token, id: `id-${token}`, subject: "s" }),
});
type Records = { records: { actor: string; action: string; result: string }[] };

describe("admin identity through Cloudflare Access", () => {
  it("admits a valid assertion and records its email as the actor", async () => {
    const h = await setup();
    const jwt = await assertion();
    const res = await h.app.request("/admin/tokens", withAccess(jwt, storeBody("access-ok-token")));
    expect(res.status).toBe(201);
    const audit = (await (await h.app.request("/admin/audit", withAccess(jwt))).json()) as Records;
    expect(audit.records.map((r) => [r.actor, r.action, r.result])).toEqual([["alice@example.com", "store", "ok"]]);
    expect(h.logs.some((l) => l.includes('"event":"audit"') && l.includes("alice@example.com"))).toBe(true);
  });

  it("names a service token by its common_name", async () => {
    const h = await setup();
    const jwt = await assertion({ email: undefined, common_name: "88bf3b6d86161464f6509f7219099e57.access", sub: "" });
    expect((await h.app.request("/admin/cleanup", withAccess(jwt, { method: "POST" }))).status).toBe(200);
    const audit = (await (await h.app.request("/admin/audit", withAccess(jwt))).json()) as Records;
    expect(audit.records[0]!.actor).toBe("88bf3b6d86161464f6509f7219099e57.access");
  });

  for (const [what, make] of [
    ["an expired assertion", () => assertion({ iat: sec(NOW) - 7200, nbf: sec(NOW) - 7200, exp: sec(NOW) - 3600 })],
    ["one for another application (aud)", () => assertion({ aud: ["another-application-aud-tag"] })],
    ["one from another team (iss)", () => assertion({ iss: "https://other-team.cloudflareaccess.com" })],
    ["one signed by another key under the same kid", () => assertion({}, impostor)],
    ["one not yet valid", () => assertion({ nbf: sec(NOW) + 600 })],
    ["one issued in the future", () => assertion({ iat: sec(NOW) + 3600, nbf: undefined, exp: sec(NOW) + 7200 })],
    ["one with no exp (it would never expire)", () => assertion({ exp: undefined })],
    ["one with no iat", () => assertion({ iat: undefined })],
    ["garbage", async () => "not.a.jwt"],
  ] as const) {
    it(`refuses ${what} with 401 and writes nothing, even with the admin token beside it`, async () => {
      const h = await setup();
      const jwt = await make();
      const res = await h.app.request(
        "/admin/tokens",
        withAccess(jwt, {
          ...storeBody("access-refused"),
          headers: { ...bearer(ADMIN), "Content-Type": "application/json" },
        }),
      );
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
      expect(h.store.total()).toBe(0);
      expect((await h.memory.audit.list({ limit: 10 })).records).toEqual([]);
      expect(h.logs.filter((l) => l.includes('"event":"audit"'))).toEqual([]);
    });
  }

  it("refuses the shared token once it is turned off, naming Access", async () => {
    const h = await setup({ adminToken: null });
    const res = await h.app.request("/admin/tokens/lookup", adminJson({ token: "x" }));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("Cf-Access-Jwt-Assertion");
    const ok = await h.app.request("/admin/stats", withAccess(await assertion()));
    expect(ok.status).toBe(200);
    // OAuth's bearer path used the same token: off too
    const oauth = await h.app.request("/oauth/revoke", {
      method: "POST",
      headers: { ...bearer(ADMIN), "Content-Type": "application/x-www-form-urlencoded" },
      body: "token=x",
    });
    expect(oauth.status).toBe(401);
    expect(h.store.total()).toBe(0);
  });

  it("answers 503 when the certs cannot be fetched and none are cached: never admits", async () => {
    const h = await setup({ certs: "down" });
    const res = await h.app.request("/admin/tokens", withAccess(await assertion(), storeBody("access-outage")));
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).not.toBeNull();
    expect(h.store.total()).toBe(0);
  });

  it("refuses an identity holding controls, format characters, lone surrogates or too many characters, admits a clean one, and never logs a refused one (fast-check)", async () => {
    const h = await setup();
    // JSON escapes, as they sit in the payload's text
    const hostile = fc.oneof(
      fc.constantFrom("\\u0000", "a\\u0007b", "x\\u007f", "\\u0085", "\\r\\nX-Admin: yes", "\\ud800", "a\\udc00", ""),
      // a bidi override, zero widths, a line separator: one name made to look like another
      fc.constantFrom("admin\\u202e@evil.com", "ad\\u200bmin@x.com", "a\\u2028b", "\\ufeffroot", "x\\u2066y"),
      fc.string({ minLength: 257, maxLength: 300 }).map((s) => JSON.stringify(`x${s}`).slice(1, -1)),
    );
    const clean = fc.constantFrom("bob@example.com", "jörg@例え.jp", "svc.access", "a b", "x".repeat(256));
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostile.map((e) => [e, false] as const),
          clean.map((e) => [e, true] as const),
        ),
        fc.boolean(),
        async ([escaped, admitted], asEmail) => {
          const claim = asEmail ? `"email":"${escaped}"` : `"common_name":"${escaped}"`;
          const payload = `{"aud":["${AUD}"],"iss":"${TEAM}","iat":${sec(NOW) - 60},"exp":${sec(NOW) + 600},"sub":"",${claim}}`;
          const res = await h.app.request("/admin/stats", withAccess(await rawAssertion(payload)));
          expect(res.status, escaped.slice(0, 30)).toBe(admitted ? 200 : 401);
          if (admitted) seen.add(escaped);
        },
      ),
      { numRuns: 80 },
    );
    expect(seen.size).toBeGreaterThan(0); // the clean side ran: the assertions themselves verify
    expect(h.store.total()).toBe(0);
    expect(h.logs.filter((l) => l.includes('"event":"audit"'))).toEqual([]);
  });

  it("falls back to sub when neither email nor common_name names anyone", async () => {
    const h = await setup();
    const jwt = await assertion({ email: undefined, sub: "svc-sub-1" });
    expect((await h.app.request("/admin/cleanup", withAccess(jwt, { method: "POST" }))).status).toBe(200);
    expect((await h.memory.audit.list({ limit: 1 })).records[0]!.actor).toBe("svc-sub-1");
  });

  it("judges a present assertion alone: empty or repeated is 401 even beside the admin token", async () => {
    const h = await setup();
    const jwt = await assertion();
    const both = (value: string) =>
      h.app.request("/admin/stats", { headers: { ...bearer(ADMIN), "Cf-Access-Jwt-Assertion": value } });
    expect((await both("")).status).toBe(401);
    expect((await both(`${jwt}, ${jwt}`)).status).toBe(401); // a repeated header arrives joined
    const headers = new Headers(bearer(ADMIN));
    headers.append("Cf-Access-Jwt-Assertion", jwt);
    headers.append("Cf-Access-Jwt-Assertion", jwt);
    expect((await h.app.request("/admin/stats", { headers })).status).toBe(401);
    expect((await h.app.request("/admin/stats", { headers: bearer(ADMIN) })).status).toBe(200);
  });

  it("ignores the header where Access is not configured: the admin token decides", async () => {
    const h = harness();
    const jwt = await assertion();
    expect((await h.app.request("/admin/stats", withAccess(jwt))).status).toBe(401);
    expect((await h.app.request("/admin/stats", withAccess(jwt, { headers: bearer(ADMIN) }))).status).toBe(200);
  });

  it("tells the console nobody when the assertion is expired, garbage, or its keys cannot be fetched", async () => {
    const expired = await assertion({ iat: sec(NOW) - 7200, nbf: sec(NOW) - 7200, exp: sec(NOW) - 3600 });
    for (const [h, value] of [
      [await setup(), expired],
      [await setup(), "garbage"],
      [await setup({ certs: "down" }), await assertion()],
    ] as const) {
      const res = await h.app.request("/admin/console/session", withAccess(value));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ actor: null });
    }
    const ok = await (await setup()).app.request("/admin/console/session", withAccess(await assertion()));
    expect(await ok.json()).toEqual({ actor: "alice@example.com" });
  });
});
