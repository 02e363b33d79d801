/**
 * The claim checks of claims.ts against jose's own: random claims, options and clocks, each token
 * signed once and put to jose's `jwtVerify` (with the options the verifiers passed it before
 * they checked claims themselves) and to the verifiers, fresh and from the cache.
 */
import fc from "fast-check";
import {
  CompactSign,
  compactVerify,
  exportJWK,
  FlattenedSign,
  generateKeyPair,
  jwtVerify,
  type JWTVerifyOptions,
} from "jose";
import { describe, expect, it } from "vitest";
import { AccessVerifier } from "../../src/jwt/access.js";
import { JwtRejected, JwtVerifier } from "../../src/jwt/verifier.js";

const NOW = Date.UTC(2026, 10, 27, 12);
const ISS = "https://idp.test";
const AUD = "api";
const DAY = 86_400;
/** What AccessVerifier allows: Access sessions last at most a month. */
const ACCESS_MAX_AGE = 31 * DAY;

const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256" }] };
const encoder = new TextEncoder();

/** Signs exactly these payload bytes (so a payload can hold what JSON.stringify never writes). */
function signRaw(payload: string | Uint8Array, header: Record<string, unknown> = {}): Promise<string> {
  return new CompactSign(typeof payload === "string" ? encoder.encode(payload) : payload)
    .setProtectedHeader({ alg: "RS256", kid: "k1", ...header })
    .sign(privateKey);
}

/** A claim as generated: left out, written as raw JSON text, or a value (a time as an offset from now). */
type Claim =
  | { kind: "absent" }
  | { kind: "raw"; text: string }
  | { kind: "value"; value: unknown }
  | { kind: "time"; tol: -1 | 0 | 1; age: -1 | 0 | 1; of: "verifier" | "access"; delta: number };

/** What jose's jwtVerify said: accepted, or the error description the verifier made of its error before. */
interface Verdict {
  ok: boolean;
  description?: string;
}

/** The verifier's mapping of jose's errors before it checked claims itself, word for word. */
function oldDescription(e: unknown): string {
  const REASONS: Record<string, string> = {
    ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "the token signature is invalid",
    ERR_JOSE_ALG_NOT_ALLOWED: "the token algorithm is not allowed",
    ERR_JOSE_NOT_SUPPORTED: "the token algorithm is not allowed",
    ERR_JWT_EXPIRED: "the token has expired",
    ERR_JWKS_NO_MATCHING_KEY: "no key matches the token",
    ERR_JWKS_MULTIPLE_MATCHING_KEYS: "no single key matches the token",
  };
  const CLAIM_REASONS: Record<string, string> = {
    nbf: "the token is not yet valid",
    iss: "the token issuer is not accepted",
    aud: "the token audience is not accepted",
    iat: "the token issue time is not acceptable",
  };
  const code = (e as { code?: string }).code ?? "";
  const claim = (e as { claim?: string }).claim ?? "";
  if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && /missing/.test((e as Error).message))
    return `the token lacks the ${claim} claim`;
  return REASONS[code] ?? CLAIM_REASONS[claim] ?? "the token is malformed";
}

function jose(token: string, options: JWTVerifyOptions): Promise<Verdict> {
  return jwtVerify(token, publicKey, options).then(
    () => ({ ok: true }),
    (e: unknown) => ({ ok: false, description: oldDescription(e) }),
  );
}

/** The options JwtVerifier passed jwtVerify. */
function verifierOptions(o: VerifierCase, nowMs: number): JWTVerifyOptions {
  return {
    algorithms: ["RS256", "ES256", "EdDSA"],
    clockTolerance: o.tolerance,
    issuer: o.issuer,
    audience: o.audience,
    requiredClaims: ["exp", "iat", "sub"],
    maxTokenAge: Math.floor(o.maxLifetimeMs / 1000),
    currentDate: new Date(nowMs),
  };
}

/** The options AccessVerifier passed jwtVerify. */
function accessOptions(tolerance: number, nowMs: number): JWTVerifyOptions {
  return {
    algorithms: ["RS256"],
    issuer: ISS,
    audience: AUD,
    clockTolerance: tolerance,
    requiredClaims: ["exp", "iat"],
    maxTokenAge: "31d",
    currentDate: new Date(nowMs),
  };
}

interface VerifierCase {
  issuer: string | undefined;
  audience: string | undefined;
  tolerance: number;
  maxLifetimeMs: number;
}

/** How a verification ended: the claims' subject, or the rejection's description. */
async function outcome(run: () => Promise<unknown>): Promise<Verdict & { value?: unknown }> {
  try {
    return { ok: true, value: await run() };
  } catch (e) {
    if (!(e instanceof JwtRejected)) throw e;
    return { ok: false, description: e.description };
  }
}

const time = (of: "verifier" | "access"): fc.Arbitrary<Claim> =>
  fc.record({
    kind: fc.constant("time" as const),
    tol: fc.constantFrom(-1 as const, 0 as const, 1 as const),
    age: fc.constantFrom(-1 as const, 0 as const, 0 as const, 1 as const),
    of: fc.constant(of),
    // mostly on a boundary or just either side of it
    delta: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(-1, -0.5, 0, 0, 0.5, 1) },
      { weight: 1, arbitrary: fc.integer({ min: -2 * DAY, max: 2 * DAY }) },
      { weight: 1, arbitrary: fc.double({ min: -100, max: 100, noNaN: true }) },
    ),
  });

/** A time a token would carry: up to a day before now (`-1`) or after it (`1`). */
const plausible = (sign: -1 | 1): fc.Arbitrary<Claim> =>
  fc.integer({ min: 0, max: DAY }).map((d) => ({ kind: "time", tol: 0, age: 0, of: "verifier", delta: sign * d }));

const numericClaim = (sign: -1 | 1): fc.Arbitrary<Claim> =>
  fc.oneof(
    { weight: 6, arbitrary: plausible(sign) },
    { weight: 6, arbitrary: fc.oneof(time("verifier"), time("access")) },
    { weight: 1, arbitrary: fc.constant({ kind: "absent" as const }) },
    // any double: huge, tiny, negative, -0; NaN and ±Infinity are written as null
    { weight: 1, arbitrary: fc.double().map((value) => ({ kind: "value" as const, value })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Claim>(
        { kind: "raw", text: "1e400" }, // Infinity once parsed
        { kind: "raw", text: "-1e400" },
        { kind: "value", value: null },
        { kind: "value", value: String(Math.floor(NOW / 1000)) },
        { kind: "value", value: true },
        { kind: "value", value: [Math.floor(NOW / 1000)] },
        { kind: "value", value: {} },
      ),
    },
  );

/** Mostly the first value, else absent or one of the others. */
const value = (usual: unknown, ...others: unknown[]): fc.Arbitrary<Claim> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant<Claim>({ kind: "value", value: usual }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<Claim>(
        { kind: "absent" },
        ...others.map((v) => ({ kind: "value" as const, value: v })),
      ),
    },
  );

const claims = fc.record({
  iat: numericClaim(-1),
  exp: numericClaim(1),
  nbf: fc.oneof(numericClaim(-1), fc.constant<Claim>({ kind: "absent" })),
  iss: value(ISS, "https://other.test", "", 42, null, [ISS]),
  aud: value(AUD, [AUD], ["other", AUD], ["other"], [], [AUD, 7], "other", 42, null, { aud: AUD }),
  sub: value("alice", "", 42, null),
  extra: fc.dictionary(
    fc.string({ minLength: 1, maxLength: 4 }).map((k) => `x-${k}`),
    fc.jsonValue({ maxDepth: 1 }),
    { maxKeys: 2 },
  ),
});

/** Now, in ms as a clock gives it: around NOW, at times between two milliseconds. */
const clock = fc.oneof(
  fc.integer({ min: -DAY * 1000, max: DAY * 1000 }).map((d) => NOW + d),
  fc.double({ min: -5_000, max: 5_000, noNaN: true }).map((d) => NOW + d),
);

const verifierCase: fc.Arbitrary<VerifierCase> = fc.record({
  issuer: fc.constantFrom(undefined, ISS),
  audience: fc.constantFrom(undefined, AUD),
  tolerance: fc.oneof(fc.constantFrom(0, 30, 300), fc.integer({ min: 0, max: 300 })),
  maxLifetimeMs: fc.oneof(
    { weight: 4, arbitrary: fc.constant(30 * DAY * 1000) },
    { weight: 1, arbitrary: fc.constantFrom(3_600_000, 1_500, 0, -1_000) },
  ),
});

type Generated = typeof claims extends fc.Arbitrary<infer T> ? T : never;

/** The payload's JSON text; a "time" claim is an offset from now, at the verifier's or Access's limits. */
function payloadText(
  generated: Generated,
  nowMs: number,
  limits: { verifier: [tolerance: number, maxAge: number]; access: [tolerance: number, maxAge: number] },
): string {
  const now = Math.floor(nowMs / 1000);
  const { extra, ...named } = generated;
  const entries = Object.entries(extra).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  for (const [name, claim] of Object.entries(named) as [string, Claim][]) {
    if (claim.kind === "absent") continue;
    let text: string;
    if (claim.kind === "raw") text = claim.text;
    else if (claim.kind === "value") text = JSON.stringify(claim.value);
    else {
      const [tolerance, maxAge] = limits[claim.of];
      const t = now + claim.tol * (Number.isFinite(tolerance) ? tolerance : 0) + claim.age * maxAge + claim.delta;
      text = JSON.stringify(t);
    }
    entries.push(`${JSON.stringify(name)}:${text}`);
  }
  return `{${entries.join(",")}}`;
}

/** What the verifier adds once jose accepts (verifier.ts, unchanged): sub and iss must be good strings, and the lifetime within bounds. */
function verifierAfterJose(payload: Record<string, unknown>, maxLifetimeMs: number): Verdict {
  if (payload.sub !== "alice") return { ok: false, description: "the token's sub claim is not acceptable" };
  if (payload.iss !== undefined && typeof payload.iss !== "string")
    return { ok: false, description: "the token's iss claim is not acceptable" };
  if ((payload.exp as number) - (payload.iat as number) > Math.floor(maxLifetimeMs / 1000))
    return { ok: false, description: "the token lives longer than allowed" };
  return { ok: true };
}

describe("the claim checks, against jose's jwtVerify as the oracle", () => {
  it("accept exactly what jwtVerify accepts, with its refusal named as before: verifier fresh and cached, and Access", async () => {
    const tally = { accepted: 0, refused: new Map<string, number>(), cacheHits: 0, accessAccepted: 0 };
    await fc.assert(
      fc.asyncProperty(
        claims,
        verifierCase,
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(0, 30, 300, 1.5) },
          { weight: 1, arbitrary: fc.constantFrom(-1, Number.NaN) },
        ),
        clock,
        clock,
        async (generated, o, accessTolerance, nowMs, laterMs) => {
          const maxAge = Math.floor(o.maxLifetimeMs / 1000);
          const text = payloadText(generated, nowMs, {
            verifier: [o.tolerance, maxAge],
            access: [accessTolerance, ACCESS_MAX_AGE],
          });
          const token = await signRaw(text);
          const payload = JSON.parse(text) as Record<string, unknown>;
          const clockAt = { t: nowMs };
          const verifier = new JwtVerifier({
            jwks,
            issuer: o.issuer,
            audience: o.audience,
            clockToleranceSeconds: o.tolerance,
            maxLifetimeMs: o.maxLifetimeMs,
            now: () => clockAt.t,
          });

          // fresh
          const oracle = await jose(token, verifierOptions(o, nowMs));
          const expected = oracle.ok ? verifierAfterJose(payload, o.maxLifetimeMs) : oracle;
          const fresh = await outcome(() => verifier.verify(token));
          expect({ ok: fresh.ok, description: fresh.description }, text).toEqual(expected);
          if (fresh.ok) {
            tally.accepted++;
            expect((fresh.value as { subject: string }).subject).toBe("alice");
          } else tally.refused.set(fresh.description!, (tally.refused.get(fresh.description!) ?? 0) + 1);

          // cached: a token accepted now is answered from the cache later exactly when jose accepts it then
          if (fresh.ok) {
            clockAt.t = laterMs;
            const later = await jose(token, verifierOptions(o, laterMs));
            const again = await outcome(() => verifier.verify(token));
            expect({ ok: again.ok, description: again.description }, `${text} later ${laterMs - nowMs} ms`).toEqual(
              later,
            );
            expect(verifier.cacheStats().hits).toBe(later.ok ? 1 : 0);
            if (later.ok) tally.cacheHits++;
          }

          // Access: its identity here is sub (no email, no common_name)
          const access = new AccessVerifier({
            teamDomain: ISS,
            audience: AUD,
            clockToleranceSeconds: accessTolerance,
            now: () => nowMs,
            fetch: async () => Response.json(jwks),
          });
          const accessOracle = await jose(token, accessOptions(accessTolerance, nowMs));
          const actor = await outcome(() => access.actor(token));
          const accessExpected = !accessOracle.ok
            ? { ok: false, description: "the Access assertion does not verify" }
            : payload.sub === "alice"
              ? { ok: true, description: undefined }
              : { ok: false, description: "the Access assertion names no acceptable identity" };
          expect({ ok: actor.ok, description: actor.description }, `Access ${text}`).toEqual(accessExpected);
          if (actor.ok) {
            tally.accessAccepted++;
            expect(actor.value).toBe("alice");
          }
        },
      ),
      { numRuns: 300 },
    );
    // the runs reached both sides of every rule: acceptance, and each refusal
    expect(tally.accepted).toBeGreaterThan(10);
    expect(tally.cacheHits).toBeGreaterThan(5);
    expect(tally.accessAccepted).toBeGreaterThan(5);
    expect([...tally.refused.keys()].sort()).toEqual(
      expect.arrayContaining([
        "the token audience is not accepted",
        "the token has expired",
        "the token is malformed",
        "the token is not yet valid",
        "the token issue time is not acceptable",
        "the token issuer is not accepted",
        "the token lacks the exp claim",
        "the token lacks the iat claim",
        "the token lacks the sub claim",
      ]),
    );
  });

  const now = Math.floor(NOW / 1000);
  const good = { sub: "alice", iss: ISS, aud: AUD, iat: now - 60, exp: now + 600 };
  const json = (claims: Record<string, unknown>) => JSON.stringify({ ...good, ...claims });
  // each: the payload's JSON text; what the verifier (issuer, audience set; 30 s of leeway) answers
  const cases: [string, string][] = [
    [json({ exp: now - 30 }), "the token has expired"],
    [json({ exp: now - 29.5 }), "accepted"],
    [json({ exp: String(now + 600) }), "the token is malformed"],
    [json({ nbf: now + 31 }), "the token is not yet valid"],
    [json({ nbf: now + 30 }), "accepted"],
    [json({ nbf: null }), "the token is not yet valid"],
    [json({ iat: now + 31 }), "the token issue time is not acceptable"],
    [json({ iat: null }), "the token issue time is not acceptable"],
    // too old is "expired" to jose, and its age is checked after exp
    [json({ iat: now - 30 * DAY - 31, exp: now + 60 }), "the token has expired"],
    [json({ iss: "https://other.test" }), "the token issuer is not accepted"],
    [json({ aud: ["other"] }), "the token audience is not accepted"],
    [json({ aud: ["other", AUD] }), "accepted"],
    [json({ aud: { 0: AUD } }), "the token audience is not accepted"],
    [json({ sub: undefined, iss: undefined }), "the token lacks the iss claim"],
    [json({ sub: undefined, exp: undefined }), "the token lacks the sub claim"],
    [json({ iat: undefined, exp: undefined }), "the token lacks the iat claim"],
    [json({ exp: undefined }), "the token lacks the exp claim"],
    [json({ exp: null }), "the token is malformed"],
    [json({ exp: now + 600 }).replace(`${now + 600}`, "1e400"), "the token lives longer than allowed"],
    [json({}).replace(`${now - 60}`, "1e400"), "the token issue time is not acceptable"],
    [json({}).replace(`${now - 60}`, "-1e400"), "the token has expired"],
    [`\uFEFF${json({})}`, "accepted"], // a byte order mark is dropped, as jose drops it
    [`[${json({})}]`, "the token is malformed"],
    ["null", "the token is malformed"],
    ['"alice"', "the token is malformed"],
  ];
  it.each(cases)("answers the payload %s with %j, as jose did", async (text, answer) => {
    const token = await signRaw(text);
    const verifier = new JwtVerifier({ jwks, issuer: ISS, audience: AUD, now: () => NOW });
    const got = await outcome(() => verifier.verify(token));
    expect(got.ok ? "accepted" : got.description).toBe(answer);
    const oracle = await jose(
      token,
      verifierOptions({ issuer: ISS, audience: AUD, tolerance: 30, maxLifetimeMs: 30 * DAY * 1000 }, NOW),
    );
    if (!oracle.ok) expect(oracle.description).toBe(answer);
  });

  it("refuses a payload that is not UTF-8, as jose does", async () => {
    const token = await signRaw(
      new Uint8Array([...encoder.encode(json({}).slice(0, -1)), 0x2c, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
    );
    const verifier = new JwtVerifier({ jwks, now: () => NOW });
    expect(await outcome(() => verifier.verify(token))).toEqual({ ok: false, description: "the token is malformed" });
    expect(
      await jose(
        token,
        verifierOptions({ issuer: undefined, audience: undefined, tolerance: 30, maxLifetimeMs: 30 * DAY * 1000 }, NOW),
      ),
    ).toEqual({ ok: false, description: "the token is malformed" });
  });

  it("refuses an unencoded payload (b64: false), which compactVerify alone would take, as jwtVerify does", async () => {
    // compact serialization cannot carry a "." in an unencoded payload: no iss here
    const text = JSON.stringify({ sub: "alice", aud: AUD, iat: now - 60, exp: now + 600 });
    // CompactSign refuses b64: false; a flattened JWS in compact form is the same token
    const jws = await new FlattenedSign(encoder.encode(text))
      .setProtectedHeader({ alg: "RS256", kid: "k1", b64: false, crit: ["b64"] })
      .sign(privateKey);
    const token = `${jws.protected}.${text}.${jws.signature}`; // the payload is detached: put it back as is
    expect(new TextDecoder().decode((await compactVerify(token, publicKey)).payload)).toBe(text);
    const verifier = new JwtVerifier({ jwks, now: () => NOW });
    expect(await outcome(() => verifier.verify(token))).toEqual({ ok: false, description: "the token is malformed" });
    const access = new AccessVerifier({
      teamDomain: ISS,
      audience: AUD,
      now: () => NOW,
      fetch: async () => Response.json(jwks),
    });
    expect(await outcome(() => access.actor(token))).toEqual({
      ok: false,
      description: "the Access assertion does not verify",
    });
    // b64: true said out loud is an ordinary JWT
    const plain = await signRaw(text, { b64: true, crit: ["b64"] });
    expect((await verifier.verify(plain)).subject).toBe("alice");
  });
});
