/**
 * JWTs at the edge, inside workerd: keys generated here, signed with jose, the key set served
 * inline or by the local JWKS server; a memory store with a movable clock behind the app.
 */
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";
import { describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import { readConfig } from "../../src/config.js";
import { JwtRejected, JwtVerifier } from "../../src/jwt/verifier.js";
import { familyProblem, LIMITS } from "../../src/store/core/index.js";
import { ADMIN, adminJson, bearer, CLIENT_ID, CLIENT_SECRET, harness } from "../support/worker.js";

const NOW = Date.UTC(2026, 10, 27, 12);
const sec = (ms: number) => Math.floor(ms / 1000);

interface Signer {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}
async function signer(alg: "ES256" | "RS256" | "EdDSA", kid: string): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg } };
}
const [es, rs, other] = await Promise.all([signer("ES256", "es-1"), signer("RS256", "rs-1"), signer("ES256", "es-1")]);
const inline = { keys: [es.jwk, rs.jwk] };

function sign(s: Signer, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  const payload = {
    sub: "alice",
    jti: `jti-${crypto.randomUUID()}`,
    iss: "https://idp.test",
    aud: "api",
    iat: sec(NOW) - 60,
    exp: sec(NOW) + 3600,
    ...claims,
  };
  return new SignJWT(payload).setProtectedHeader({ alg: s.alg, kid: s.kid, ...header }).sign(s.privateKey);
}
const b64url = (x: unknown) => btoa(JSON.stringify(x)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

function setup(
  o: { url?: string; issuer?: string; audience?: string; cacheEntries?: number; familyClaim?: string } = {},
) {
  const clock = { t: NOW };
  const jwt = new JwtVerifier({
    ...(o.url ? { url: o.url } : { jwks: inline }),
    issuer: o.issuer,
    audience: o.audience,
    now: () => clock.t,
    cooldownMs: 30_000,
    cacheEntries: o.cacheEntries,
    familyClaim: o.familyClaim,
  });
  const h = harness({ jwt });
  h.clock.t = NOW;
  // one clock for the store and the verifier
  Object.defineProperty(clock, "t", { get: () => h.clock.t, set: (v: number) => (h.clock.t = v) });
  return { h, jwt };
}
const guarded = (h: ReturnType<typeof harness>, token: string) => h.app.request("/api/x", { headers: bearer(token) });
/** The error_description of a 401, or the status when it is not one. */
const refusal = async (res: Response) =>
  res.status === 401
    ? /error_description="([^"]*)"/.exec(res.headers.get("WWW-Authenticate") ?? "")?.[1]
    : `status ${res.status}`;

describe("JWT verification in the guard", () => {
  it("admits a good token with sub and jti as identity headers, after one revocation check", async () => {
    const { h } = setup({ issuer: "https://idp.test", audience: "api" });
    for (const s of [es, rs]) {
      const token = await sign(s, { sub: "alice@example", jti: `j-${s.kid}` });
      const res = await guarded(h, token);
      expect(res.status).toBe(200);
      const seen = h.origin.at(-1)!;
      expect(seen.headers.get("X-Token-Subject")).toBe("alice@example");
      expect(seen.headers.get("X-Token-Id")).toBe(`j-${s.kid}`);
    }
    expect(h.store.calls).toEqual({ checkJwt: 2 });
  });

  const rejects: [string, () => Promise<string>, string][] = [
    ["a bad signature", () => sign(other), "the token signature is invalid"],
    [
      "alg none",
      async () =>
        `${b64url({ alg: "none", kid: "es-1" })}.${b64url({ sub: "alice", iat: sec(NOW), exp: sec(NOW) + 60 })}.`,
      "the token algorithm is not allowed",
    ],
    [
      "HS256 keyed with the RSA public key",
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(rs.jwk));
        return new SignJWT({ sub: "alice" })
          .setProtectedHeader({ alg: "HS256", kid: "rs-1" })
          .setIssuedAt(sec(NOW))
          .setExpirationTime(sec(NOW) + 60)
          .sign(secret);
      },
      "the token algorithm is not allowed",
    ],
    ["an expired token", () => sign(es, { exp: sec(NOW) - 31, iat: sec(NOW) - 100 }), "the token has expired"],
    ["a future nbf", () => sign(es, { nbf: sec(NOW) + 120 }), "the token is not yet valid"],
    // jose checks iat against now only through maxTokenAge: a token from the future would escape
    // every subject cutoff made before its iat
    [
      "an iat an hour ahead",
      () => sign(es, { iat: sec(NOW) + 3600, exp: sec(NOW) + 7200 }),
      "the token issue time is not acceptable",
    ],
    ["a wrong iss", () => sign(es, { iss: "https://evil.test" }), "the token issuer is not accepted"],
    ["a wrong aud", () => sign(es, { aud: "other-api" }), "the token audience is not accepted"],
    ["no sub", () => sign(es, { sub: undefined }), "the token lacks the sub claim"],
    ["a lifetime over 30 days", () => sign(es, { exp: sec(NOW) + 31 * 86_400 }), "the token lives longer than allowed"],
    ["an unknown kid", () => sign(es, {}, { kid: "nobody" }), "no key matches the token"],
  ];
  for (const [what, make, description] of rejects) {
    it(`answers ${what} with 401 and error_description "${description}", without a store call`, async () => {
      const { h } = setup({ issuer: "https://idp.test", audience: "api" });
      const res = await guarded(h, await make());
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toBe(
        `Bearer realm="edge-token-store", error="invalid_token", error_description="${description}"`,
      );
      expect(h.store.total()).toBe(0);
      expect(h.origin).toHaveLength(0);
    });
  }

  it("still sends opaque tokens to the store lookup, in the same deployment", async () => {
    const { h } = setup();
    await h.memory.store("opaque-token", { id: "o1", subject: "bob" });
    expect((await guarded(h, "opaque-token")).status).toBe(200);
    expect(h.store.calls).toEqual({ get: 1 });
  });
});

describe("the verifier's options", () => {
  it("refuses an empty algorithm allow-list when it is built, naming the option", () => {
    expect(() => new JwtVerifier({ jwks: inline, algorithms: [] })).toThrow(TypeError);
    expect(() => new JwtVerifier({ jwks: inline, algorithms: [] })).toThrow(/^algorithms: no algorithm is given/);
  });

  it("refuses a cacheEntries that is not a whole number from 0 to 1,000,000, naming the option", () => {
    for (const cacheEntries of [-1, 1.5, 1_000_001, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new JwtVerifier({ jwks: inline, cacheEntries }), String(cacheEntries)).toThrow(TypeError);
      expect(() => new JwtVerifier({ jwks: inline, cacheEntries })).toThrow(/^cacheEntries must be a whole number/);
    }
    for (const cacheEntries of [0, 1, 1_000_000])
      expect(new JwtVerifier({ jwks: inline, cacheEntries }).cacheStats().capacity).toBe(cacheEntries);
    expect(new JwtVerifier({ jwks: inline }).cacheStats().capacity).toBe(10_000);
  });
});

describe("the verified-JWT cache", () => {
  it("skips only the signature of a token seen again: same claims, a revocation check on every request", async () => {
    const { h, jwt } = setup({ issuer: "https://idp.test", audience: "api" });
    const token = await sign(es, { sub: "carol", jti: "j-carol" });
    for (let i = 1; i <= 3; i++) {
      const res = await guarded(h, token);
      expect(res.status).toBe(200);
      expect(h.origin.at(-1)!.headers.get("X-Token-Subject")).toBe("carol");
      expect(h.store.calls).toEqual({ checkJwt: i });
    }
    expect(jwt.cacheStats()).toEqual({ entries: 1, capacity: 10_000, hits: 2, misses: 1 });
    // the same claims as a full verification, made afresh for each answer
    const uncached = new JwtVerifier({ jwks: inline, issuer: "https://idp.test", audience: "api", now: () => NOW });
    const full = await uncached.verify(token);
    const hit = await jwt.verify(token);
    expect(hit).toEqual(full);
    expect(hit).toEqual({
      subject: "carol",
      id: "j-carol",
      issuer: "https://idp.test",
      keyId: "es-1",
      issuedAt: new Date((sec(NOW) - 60) * 1000),
      expiresAt: new Date((sec(NOW) + 3600) * 1000),
    });
    expect(hit).not.toBe(await jwt.verify(token));
    expect(jwt.cacheStats().hits).toBe(4);
    // a cached token revoked in the store is refused: the cache never answers for revocation
    expect(await (await h.app.request("/admin/tokens/revoke", adminJson({ token }))).json()).toEqual({ revoked: true });
    expect(await refusal(await guarded(h, token))).toBe("the token has been revoked");
    expect(jwt.cacheStats().hits).toBe(6); // the admin call verified it too
  });

  // each: the claims; the last clock move (ms) at which the token holds and the first at which it
  // does not (tolerance 30 s); the full path's answer then
  const recheck: [string, JWTPayload, number, number, string][] = [
    ["past exp + tolerance", { exp: sec(NOW) + 60 }, 89_000, 90_000, "the token has expired"],
    ["back before nbf − tolerance", { nbf: sec(NOW) + 10 }, -20_000, -21_000, "the token is not yet valid"],
    [
      "back before iat − tolerance",
      { iat: sec(NOW) + 10, exp: sec(NOW) + 600 },
      -20_000,
      -21_000,
      "the token issue time is not acceptable",
    ],
  ];
  for (const [what, claims, holds, move, description] of recheck) {
    it(`refuses a cached token once the clock is ${what}, as an uncached one: "${description}"`, async () => {
      const { h, jwt } = setup();
      const off = setup({ cacheEntries: 0 });
      const token = await sign(es, claims);
      for (let i = 0; i < 2; i++) {
        expect((await guarded(h, token)).status).toBe(200);
        expect((await guarded(off.h, token)).status).toBe(200);
      }
      expect(jwt.cacheStats()).toMatchObject({ entries: 1, hits: 1 });
      // one second short of the bound it still holds, from the cache
      h.clock.t = off.h.clock.t = NOW + holds;
      expect((await guarded(h, token)).status).toBe(200);
      expect((await guarded(off.h, token)).status).toBe(200);
      expect(jwt.cacheStats().hits).toBe(2);
      h.clock.t = off.h.clock.t = NOW + move;
      expect(await refusal(await guarded(off.h, token))).toBe(description);
      expect(await refusal(await guarded(h, token))).toBe(description);
      expect(jwt.cacheStats()).toMatchObject({ entries: 0, hits: 2, misses: 2 });
      expect(off.jwt.cacheStats()).toEqual({ entries: 0, capacity: 0, hits: 0, misses: 0 });
    });
  }

  it("checks issuer and audience again on a hit, against the options as they are now", async () => {
    const options = { jwks: inline, issuer: "https://idp.test", audience: "api", now: () => NOW };
    const jwt = new JwtVerifier(options);
    const token = await sign(es, { aud: ["api", "other-api"] });
    await jwt.verify(token);
    await jwt.verify(token);
    expect(jwt.cacheStats()).toMatchObject({ entries: 1, hits: 1 });
    options.audience = "other-api"; // held too: a miss, then a full verification that passes
    await jwt.verify(token);
    expect(jwt.cacheStats()).toMatchObject({ entries: 1, hits: 1, misses: 2 });
    options.audience = "third-api";
    await expect(jwt.verify(token)).rejects.toMatchObject({ description: "the token audience is not accepted" });
    options.audience = "api";
    options.issuer = "https://elsewhere.test";
    await expect(jwt.verify(token)).rejects.toMatchObject({ description: "the token issuer is not accepted" });
    expect(jwt.cacheStats()).toMatchObject({ entries: 0, hits: 1 });
  });

  it("never caches a failure: a bad signature or an expired token is refused in full each time", async () => {
    const { h, jwt } = setup();
    const forged = await sign(other);
    const expired = await sign(es, { exp: sec(NOW) - 31, iat: sec(NOW) - 100 });
    for (let i = 0; i < 2; i++) {
      expect(await refusal(await guarded(h, forged))).toBe("the token signature is invalid");
      expect(await refusal(await guarded(h, expired))).toBe("the token has expired");
    }
    expect(jwt.cacheStats()).toEqual({ entries: 0, capacity: 10_000, hits: 0, misses: 4 });
    expect(h.store.total()).toBe(0);
  });

  // each: the verifier's options; a token whose signature verifies but that is refused; the answer.
  // The first four are refused by the verifier's own checks, after jose's: a token remembered
  // before them would skip them on its next presentation.
  const idp = { issuer: "https://idp.test", audience: "api" };
  const refusedAfterSignature: [string, { issuer?: string; audience?: string }, () => Promise<string>, string][] = [
    [
      "its lifetime (over 30 days)",
      idp,
      () => sign(es, { exp: sec(NOW) + 31 * 86_400 }),
      "the token lives longer than allowed",
    ],
    [
      "its subject (257 characters)",
      idp,
      () => sign(es, { sub: "s".repeat(257) }),
      "the token's sub claim is not acceptable",
    ],
    [
      "its subject (a lone surrogate)",
      idp,
      () => sign(es, { sub: "\ud800" }),
      "the token's sub claim is not acceptable",
    ],
    [
      "its issuer (257 characters, no issuer required)",
      {},
      () => sign(es, { iss: "i".repeat(257) }),
      "the token's iss claim is not acceptable",
    ],
    ["its issuer (another one)", idp, () => sign(es, { iss: "https://evil.test" }), "the token issuer is not accepted"],
    ["its audience (another one)", idp, () => sign(es, { aud: "other-api" }), "the token audience is not accepted"],
  ];
  for (const [what, options, make, description] of refusedAfterSignature) {
    it(`refuses a JWT refused for ${what} again the second time it is presented, caching nothing: "${description}"`, async () => {
      const { h, jwt } = setup(options);
      const token = await make();
      for (let i = 1; i <= 2; i++)
        expect(await refusal(await guarded(h, token)), `presentation ${i}`).toBe(description);
      expect(h.origin).toHaveLength(0);
      expect(h.store.total()).toBe(0);
      // the verifier on its own, a third time: it refuses too (the store's own claim checks do not stand in for it)
      await expect(jwt.verify(token)).rejects.toMatchObject({ name: "JwtRejected", description });
      expect(jwt.cacheStats()).toEqual({ entries: 0, capacity: 10_000, hits: 0, misses: 3 });
    });
  }

  it("keeps at most cacheEntries tokens, dropping the least recently used", async () => {
    const { h, jwt } = setup({ cacheEntries: 2 });
    const [a, b, c] = await Promise.all([sign(es), sign(rs), sign(es)]);
    for (const t of [a, b, a, c]) expect((await guarded(h, t)).status).toBe(200); // a was used after b: b goes
    expect(jwt.cacheStats()).toEqual({ entries: 2, capacity: 2, hits: 1, misses: 3 });
    expect((await guarded(h, a)).status).toBe(200);
    expect((await guarded(h, c)).status).toBe(200);
    expect(jwt.cacheStats()).toMatchObject({ entries: 2, hits: 3, misses: 3 });
    expect((await guarded(h, b)).status).toBe(200);
    expect(jwt.cacheStats()).toMatchObject({ entries: 2, hits: 3, misses: 4 });
  });

  it("is off with cacheEntries: 0", async () => {
    const { h, jwt } = setup({ cacheEntries: 0 });
    const token = await sign(es);
    for (let i = 0; i < 3; i++) expect((await guarded(h, token)).status).toBe(200);
    expect(jwt.cacheStats()).toEqual({ entries: 0, capacity: 0, hits: 0, misses: 0 });
  });
});

describe("the key set over HTTP", () => {
  const jwksUrl = inject("jwksUrl");
  const serve = async (name: string, keys: JWK[]) =>
    fetch(`${jwksUrl}/${name}`, { method: "POST", body: JSON.stringify({ keys }) });
  const fetches = async (name: string) =>
    ((await (await fetch(`${jwksUrl}/${name}/count`)).json()) as { fetches: number }).fetches;

  it("refetches once on an unknown kid, then answers 401, and not again within the cooldown", async () => {
    const name = `kid-${crypto.randomUUID()}`;
    await serve(name, [es.jwk]);
    const { h } = setup({ url: `${jwksUrl}/${name}` });
    expect((await guarded(h, await sign(es))).status).toBe(200);
    expect(await fetches(name)).toBe(1);
    expect((await guarded(h, await sign(rs))).status).toBe(401); // within the cooldown of that fetch: no refetch
    expect(await fetches(name)).toBe(1);
    h.clock.t += 30_000;
    expect((await guarded(h, await sign(rs))).status).toBe(401); // rs-1 is not served: one refetch, then 401
    expect(await fetches(name)).toBe(2);
    expect((await guarded(h, await sign(es, {}, { kid: "other" }))).status).toBe(401);
    expect(await fetches(name)).toBe(2);
    // a new key appears: after the cooldown one refetch finds it
    await serve(name, [es.jwk, rs.jwk]);
    h.clock.t += 30_000;
    expect((await guarded(h, await sign(rs))).status).toBe(200);
    expect(await fetches(name)).toBe(3);
  });

  it("does not let a cached token outlive its key's removal from the set", async () => {
    const name = `removed-${crypto.randomUUID()}`;
    await serve(name, [es.jwk, rs.jwk]);
    const { h, jwt } = setup({ url: `${jwksUrl}/${name}` });
    const token = await sign(es);
    expect((await guarded(h, token)).status).toBe(200);
    expect((await guarded(h, token)).status).toBe(200);
    expect(jwt.cacheStats()).toMatchObject({ entries: 1, hits: 1 });
    // es-1 leaves the set; an unknown kid after the cooldown makes the key set refetch it
    await serve(name, [rs.jwk]);
    h.clock.t += 30_000;
    expect(await refusal(await guarded(h, await sign(es, {}, { kid: "es-2" })))).toBe("no key matches the token");
    expect(await fetches(name)).toBe(2);
    expect(await refusal(await guarded(h, token))).toBe("no key matches the token");
    expect(jwt.cacheStats()).toMatchObject({ entries: 0, hits: 1 });
    // a token of a key still in the set is cached again as usual
    const kept = await sign(rs);
    expect((await guarded(h, kept)).status).toBe(200);
    expect((await guarded(h, kept)).status).toBe(200);
    expect(jwt.cacheStats()).toMatchObject({ entries: 1, hits: 2 });
  });

  it("refuses a cached token whose kid now names another key, as the full check does", async () => {
    const name = `replaced-${crypto.randomUUID()}`;
    await serve(name, [es.jwk]);
    const { h, jwt } = setup({ url: `${jwksUrl}/${name}` });
    const token = await sign(es);
    expect((await guarded(h, token)).status).toBe(200);
    expect((await guarded(h, token)).status).toBe(200);
    await serve(name, [other.jwk]); // the same kid, es-1, for a different key
    h.clock.t += 30_000;
    expect((await guarded(h, await sign(es, {}, { kid: "es-2" }))).status).toBe(401);
    expect(await fetches(name)).toBe(2);
    expect(await refusal(await guarded(h, token))).toBe("the token signature is invalid");
    expect(jwt.cacheStats()).toMatchObject({ entries: 0, hits: 1 });
  });

  it("still refreshes the key set past its lifetime when every request is a cache hit", async () => {
    const name = `busy-${crypto.randomUUID()}`;
    await serve(name, [es.jwk]);
    const { h, jwt } = setup({ url: `${jwksUrl}/${name}` });
    const token = await sign(es, { exp: sec(NOW) + 3600 });
    expect((await guarded(h, token)).status).toBe(200);
    await serve(name, [rs.jwk]);
    h.clock.t += 11 * 60_000; // past the 10-minute lifetime: the hit answers and starts a refresh
    expect((await guarded(h, token)).status).toBe(200);
    expect(jwt.cacheStats().hits).toBe(1);
    await vi.waitFor(async () => expect(await refusal(await guarded(h, token))).toBe("no key matches the token"));
    expect(await fetches(name)).toBe(2);
  });

  it("keeps admitting with cached keys while the key set is down, and fails closed (503) with none", async () => {
    const name = `down-${crypto.randomUUID()}`;
    await serve(name, [es.jwk]);
    const { h } = setup({ url: `${jwksUrl}/${name}` });
    expect((await guarded(h, await sign(es))).status).toBe(200);
    await fetch(`${jwksUrl}/${name}/down`, { method: "POST" });
    h.clock.t += 11 * 60_000; // the cached set is past its lifetime: a refresh is tried, and fails
    expect((await guarded(h, await sign(es, { iat: sec(h.clock.t) - 1, exp: sec(h.clock.t) + 60 }))).status).toBe(200);
    const cold = setup({ url: `${jwksUrl}/${name}` });
    const res = await guarded(cold.h, await sign(es));
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("5");
    expect(cold.h.origin).toHaveLength(0);
    await fetch(`${jwksUrl}/${name}/up`, { method: "POST" });
  });

  it("fails closed (503), never 500, when the key set endpoint answers something that is not a key set", async () => {
    // garbage leaves no key in hand: 503; a well-formed set without a usable key: unknown kid, 401
    const answers: [string, number][] = [
      ["not json", 503],
      ['{"keys":"nope"}', 503],
      ["[]", 503],
      ["\u0000", 503],
      ['{"keys":[{"kty":"nonsense"}]}', 401],
    ];
    for (const [body, expected] of answers) {
      const name = `junk-${crypto.randomUUID()}`;
      await fetch(`${jwksUrl}/${name}`, { method: "POST", body });
      const { h } = setup({ url: `${jwksUrl}/${name}` });
      const res = await guarded(h, await sign(es));
      expect(res.status, body).toBe(expected);
      expect(h.origin).toHaveLength(0);
      expect(h.store.total()).toBe(0);
    }
  });
});

describe("revoking JWTs", () => {
  const oauthForm = (token: string): RequestInit => ({
    method: "POST",
    headers: {
      Authorization: `Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ token }).toString(),
  });

  it("deny-lists a verified JWT through OAuth revocation and through the admin API, stored or not", async () => {
    const { h } = setup();
    const [a, b, c] = await Promise.all([sign(es), sign(es), sign(es)]);
    expect((await h.app.request("/oauth/revoke", oauthForm(a))).status).toBe(200);
    expect(await (await h.app.request("/admin/tokens/revoke", adminJson({ token: b }))).json()).toEqual({
      revoked: true,
    });
    expect((await guarded(h, a)).status).toBe(401);
    expect((await guarded(h, b)).status).toBe(401);
    expect((await guarded(h, c)).status).toBe(200);
    expect(await (await h.app.request("/admin/tokens/status", adminJson({ token: a }))).json()).toEqual({
      revoked: true,
    });
    expect(await (await h.app.request("/admin/tokens/status", adminJson({ token: c }))).json()).toEqual({
      revoked: false,
    });
  });

  it("never writes a JWT that does not verify: OAuth answers 200, the admin API 400, the store is not called", async () => {
    const { h } = setup();
    const forged = await sign(other);
    expect((await h.app.request("/oauth/revoke", oauthForm(forged))).status).toBe(200);
    const res = await h.app.request("/admin/tokens/revoke", adminJson({ token: forged }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: "invalid_token", message: "the token signature is invalid" } });
    for (const path of ["/admin/tokens", "/admin/tokens/lookup", "/admin/tokens/delete"]) {
      const r = await h.app.request(
        path,
        adminJson(path === "/admin/tokens" ? { token: forged, id: "f", subject: "s" } : { token: forged }),
      );
      expect(r.status, path).toBe(400);
    }
    expect(h.store.total()).toBe(0);
  });

  it("refuses a subject's JWTs issued at or before revokeSubject, and admits one issued afterwards", async () => {
    const { h } = setup();
    const older = await sign(es, { sub: "dana" });
    expect((await guarded(h, older)).status).toBe(200);
    h.clock.t += 5_000;
    expect(
      await (await h.app.request("/admin/subjects/dana/revoke", { method: "POST", headers: bearer(ADMIN) })).json(),
    ).toEqual({ revoked: 0 });
    expect((await guarded(h, older)).status).toBe(401);
    h.clock.t += 1_000;
    const newer = await sign(es, { sub: "dana", iat: sec(h.clock.t), exp: sec(h.clock.t) + 600 });
    expect((await guarded(h, newer)).status).toBe(200);
    expect((await guarded(h, await sign(es, { sub: "erin" }))).status).toBe(200);
  });

  it("refuses every token of a revoked key, stored or not, idempotently", async () => {
    const { h } = setup();
    await h.memory.store("stored-by-key", { id: "sk", subject: "s", keyId: "es-1" });
    const unstored = await sign(es);
    for (let i = 0; i < 2; i++) {
      const res = await h.app.request("/admin/keys/es-1/revoke", { method: "POST", headers: bearer(ADMIN) });
      expect(await res.json()).toEqual({ revoked: true });
    }
    expect((await guarded(h, unstored)).status).toBe(401);
    expect((await guarded(h, "stored-by-key")).status).toBe(401);
    expect((await guarded(h, await sign(rs))).status).toBe(200);
  });

  it("introspects a verified JWT with its claims, and anything else as inactive", async () => {
    const { h } = setup();
    const token = await sign(es, { sub: "frank", jti: "j-frank" });
    const res = await h.app.request("/oauth/introspect", oauthForm(token));
    expect(await res.json()).toMatchObject({
      active: true,
      sub: "frank",
      jti: "j-frank",
      iss: "https://idp.test",
      kid: "es-1",
      iat: sec(NOW) - 60,
      exp: sec(NOW) + 3600,
    });
    for (const t of [await sign(other), "eyJhbGciOiJub25lIn0.e30."]) {
      expect(await (await h.app.request("/oauth/introspect", oauthForm(t))).json()).toEqual({ active: false });
    }
    await h.app.request("/oauth/revoke", oauthForm(token));
    expect(await (await h.app.request("/oauth/introspect", oauthForm(token))).json()).toEqual({ active: false });
  });
});

describe("the family claim", () => {
  const verifier = (familyClaim?: string) => new JwtVerifier({ jwks: inline, familyClaim, now: () => NOW });
  /** The claims' family, or the JwtRejected description. */
  const familyOf = (jwt: JwtVerifier, token: string) =>
    jwt.verify(token).then(
      (c) => ({ family: c.family, has: "family" in c }),
      (e: unknown) => {
        if (!(e instanceof JwtRejected)) throw e;
        return e.description;
      },
    );

  it("maps sid to the claims' family by default, and leaves a token without it with none", async () => {
    const jwt = verifier();
    expect(await familyOf(jwt, await sign(es, { sid: "grant-1" }))).toEqual({ family: "grant-1", has: true });
    expect(await familyOf(jwt, await sign(es))).toEqual({ family: undefined, has: false });
    // a custom claim of the same value is not the family under the default
    expect(await familyOf(jwt, await sign(es, { grant_id: "grant-1" }))).toEqual({ family: undefined, has: false });
  });

  it("reads the family from another claim when told, and then ignores sid", async () => {
    const jwt = verifier("grant_id");
    expect(await familyOf(jwt, await sign(es, { grant_id: "g-2", sid: "s-2" }))).toEqual({ family: "g-2", has: true });
    expect(await familyOf(jwt, await sign(es, { sid: "s-2" }))).toEqual({ family: undefined, has: false });
  });

  it("keeps the family on a cache hit", async () => {
    const jwt = verifier();
    const token = await sign(es, { sid: "grant-hit" });
    for (let i = 0; i < 2; i++) expect((await jwt.verify(token)).family).toBe("grant-hit");
    expect(jwt.cacheStats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it("refuses a token whose family claim is not a string, or breaks the identifier rule, naming the claim", async () => {
    const jwt = verifier("grant");
    const values: unknown[] = [7, true, null, {}, ["g"], "", ".", "..", "x".repeat(LIMITS.field + 1)];
    for (const grant of values)
      expect(await familyOf(jwt, await sign(es, { grant })), JSON.stringify(grant)).toBe(
        "the token's grant claim is not acceptable",
      );
    expect(await familyOf(jwt, await sign(es, { grant: "g\u202eko" }))).toBe(
      "the token's grant claim holds U+202E, a control, format, invisible or separator character",
    );
    expect(jwt.cacheStats()).toMatchObject({ entries: 0 }); // never remembered
  });

  it("reads only the token's own claim: a claim name that is also a property of every object", async () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const jwt = verifier(name);
      expect(await familyOf(jwt, await sign(es)), name).toEqual({ family: undefined, has: false });
    }
    const payload = JSON.parse(`{"constructor":"g-c","__proto__":"g-p"}`) as JWTPayload;
    expect(await familyOf(verifier("constructor"), await sign(es, payload))).toEqual({ family: "g-c", has: true });
  });

  it("refuses a familyClaim that is not a claim name when it is built, naming the option", async () => {
    for (const familyClaim of ["", "a b", "sid\n", "x".repeat(65), "s\u0131d", "a.b", 5 as unknown as string]) {
      expect(() => verifier(familyClaim), JSON.stringify(familyClaim)).toThrow(TypeError);
      expect(() => verifier(familyClaim)).toThrow(/^familyClaim must be a claim name/);
    }
    for (const familyClaim of ["s", "grant_id", "x-family", "x".repeat(64)]) {
      expect(() => verifier(familyClaim), familyClaim).not.toThrow();
      expect((await verifier(familyClaim).verify(await sign(es, { [familyClaim]: "g-name" }))).family).toBe("g-name");
    }
  });

  it("refuses every JWT of a revoked family at the guard, stored or not, and only those", async () => {
    const { h } = setup({ familyClaim: "grant" });
    const [inFamily, other, none] = await Promise.all([
      sign(es, { grant: "g-revoked", jti: "j-1" }),
      sign(es, { grant: "g-kept", jti: "j-2" }),
      sign(es, { jti: "j-3" }),
    ]);
    for (const t of [inFamily, other, none]) expect((await guarded(h, t)).status).toBe(200);
    await h.memory.revokeFamily("g-revoked");
    expect(await refusal(await guarded(h, inFamily))).toBe("the token has been revoked");
    expect((await guarded(h, other)).status).toBe(200);
    expect((await guarded(h, none)).status).toBe(200);
  });

  it("takes JWT_FAMILY_CLAIM from the config: checked as a claim name, left to the verifier's default when unset", async () => {
    const env = { ADMIN_TOKEN: "a-good-admin-token-0123", ORIGIN_URL: "http://127.0.0.1:1" };
    const jwks = { ...env, JWT_JWKS: JSON.stringify(inline) };
    expect(readConfig(jwks).jwt?.familyClaim).toBeUndefined();
    expect(readConfig({ ...jwks, JWT_FAMILY_CLAIM: "grant_id" }).jwt?.familyClaim).toBe("grant_id");
    for (const bad of ["a b", "x".repeat(65), "sid;", "\u00e9"])
      expect(() => readConfig({ ...jwks, JWT_FAMILY_CLAIM: bad }), bad).toThrow(
        /^JWT_FAMILY_CLAIM: must be a claim name/,
      );
    expect(() => readConfig({ ...env, JWT_FAMILY_CLAIM: "sid" })).toThrow(/^JWT_FAMILY_CLAIM: needs JWT_JWKS_URL/);
    // what the runtime builds from it
    const jwt = new JwtVerifier({ ...readConfig({ ...jwks, JWT_FAMILY_CLAIM: "grant_id" }).jwt!, now: () => NOW });
    expect((await jwt.verify(await sign(es, { grant_id: "g-cfg", sid: "s" }))).family).toBe("g-cfg");
    const byDefault = new JwtVerifier({ ...readConfig(jwks).jwt!, now: () => NOW });
    expect((await byDefault.verify(await sign(es, { sid: "s-cfg" }))).family).toBe("s-cfg");
  });

  it("takes a family value exactly when the store's identifier rule does, and refuses it otherwise (fast-check)", async () => {
    const fc = (await import("fast-check")).default;
    const jwt = verifier();
    const hostile = fc.oneof(
      fc.string({ unit: "binary", maxLength: 12 }),
      fc.string({ unit: "grapheme", maxLength: 12 }),
      fc.constantFrom(
        "\ud800",
        "a\u0000b",
        "\u200b",
        "g\u200dx",
        "❤️",
        "\u202e",
        " g",
        "x".repeat(257),
        "x".repeat(256),
        ".",
        "..",
      ),
      fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 })),
    );
    await fc.assert(
      fc.asyncProperty(hostile, async (sid) => {
        const token = await sign(es, { sid });
        const got = await familyOf(jwt, token);
        const problem = familyProblem(sid);
        if (problem === undefined) expect(got).toEqual({ family: sid, has: true });
        else {
          expect(typeof got, JSON.stringify(sid)).toBe("string");
          expect(got).toMatch(/^the token's sid claim (is not acceptable|holds U\+[0-9A-F]{4,6}, )/);
          expect(got).not.toContain(token);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("hostile claims (fast-check)", () => {
  it("admits a signed token with any claims only with distinct, decodable identity headers, else 401; never a 5xx", async () => {
    const fc = (await import("fast-check")).default;
    const { h } = setup();
    const hostile = fc.oneof(
      fc.string({ unit: "binary", maxLength: 10 }),
      fc.constantFrom("\ud800", "a\u0000b", "%41", "%", " x", "\u202e", "x".repeat(257), "", "es-1"),
    );
    const seen = new Map<string, string>();
    await fc.assert(
      fc.asyncProperty(
        hostile,
        fc.option(hostile, { nil: undefined }),
        fc.option(hostile, { nil: undefined }),
        async (sub, jti, kid) => {
          const token = await sign(es, { sub, jti }, kid === undefined ? {} : { kid });
          const before = h.origin.length;
          const res = await guarded(h, token);
          const text = await res.text();
          expect(res.status, text).toBeLessThan(500);
          expect(text).not.toContain(token);
          if (res.status === 200) {
            const req = h.origin.at(-1)!;
            const header = req.headers.get("X-Token-Subject")!;
            expect(decodeURIComponent(header)).toBe(sub);
            if (jti !== undefined && jti !== "") expect(decodeURIComponent(req.headers.get("X-Token-Id")!)).toBe(jti);
            expect(seen.get(header) ?? sub).toBe(sub);
            seen.set(header, sub);
          } else {
            expect(res.status).toBe(401);
            expect(h.origin.length).toBe(before);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
