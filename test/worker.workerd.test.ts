/** The Worker as `npm run dev` runs it (src/worker-dev.ts: the deployed one, plus the memory store), with wrangler.toml's config, a real origin over loopback. */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import { readConfig } from "../src/config.js";
import { JwtVerifier } from "../src/jwt/verifier.js";
import worker from "../src/worker-dev.js";
import deployed from "../src/worker.js";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { SeenRequest } from "./support/echo-origin.js";
import { UNREACHABLE_URL } from "./support/worker.js";

const admin = (path: string, body: unknown) =>
  exports.default.fetch(`https://edge.test${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
const seenAtOrigin = async (path: string): Promise<SeenRequest[]> =>
  (await fetch(`${inject("originUrl")}/__seen?path=${encodeURIComponent(path)}`)).json();
const unique = (label: string) => `/${label}-${crypto.randomUUID()}`;

describe("the Worker in front of a real origin", () => {
  it("forwards a live token's request to ORIGIN_URL, then refuses it at the edge once revoked", async () => {
    const token = `walk-${crypto.randomUUID()}`;
    expect((await admin("/admin/tokens", { token, id: `id-${token}`, subject: "alice" })).status).toBe(201);

    const path = unique("orders");
    const body = "a body with ünïcode and \u0000 bytes";
    const res = await exports.default.fetch(`https://edge.test${path}?page=2`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "X-Token-Subject": "mallory", "Content-Type": "text/plain" },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-origin")).toBe("echo");
    const echoed = (await res.json()) as SeenRequest;
    expect(echoed.method).toBe("POST");
    expect(echoed.url).toBe(`${path}?page=2`);
    expect(echoed.headers["x-token-subject"]).toBe("alice");
    expect(echoed.headers["x-token-id"]).toBe(`id-${token}`);
    expect(echoed.headers.authorization).toBe(`Bearer ${token}`);
    expect(echoed.headers.host).toBe(new URL(inject("originUrl")).host);
    expect(atob(echoed.bodyBase64)).toBe(String.fromCharCode(...new TextEncoder().encode(body)));

    expect((await admin("/admin/tokens/revoke", { token })).status).toBe(200);
    const revokedPath = unique("after-revoke");
    const denied = await exports.default.fetch(`https://edge.test${revokedPath}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
    expect(await seenAtOrigin(revokedPath)).toEqual([]);
    expect(await seenAtOrigin(path)).toHaveLength(1);
  });

  it("passes the origin's status and redirects back untouched", async () => {
    const token = `pass-${crypto.randomUUID()}`;
    await admin("/admin/tokens", { token, id: `id-${token}`, subject: "bob" });
    const teapot = await exports.default.fetch("https://edge.test/teapot", {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(teapot.status).toBe(418);
    const redirect = await exports.default.fetch("https://edge.test/redirect", {
      headers: { Authorization: `Bearer ${token}` },
      redirect: "manual",
    });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("/elsewhere");
  });

  it("never contacts the origin for a missing or unknown token", async () => {
    const path = unique("nobody");
    expect((await exports.default.fetch(`https://edge.test${path}`)).status).toBe(401);
    expect(
      (await exports.default.fetch(`https://edge.test${path}`, { headers: { Authorization: "Bearer never-issued" } }))
        .status,
    ).toBe(401);
    expect(await seenAtOrigin(path)).toEqual([]);
  });
});

describe("configuration", () => {
  const good = { ADMIN_TOKEN: "a-good-admin-token-0123", ORIGIN_URL: "http://127.0.0.1:1" };
  const bad: [string, Record<string, string>, string][] = [
    ["no ADMIN_TOKEN", { ORIGIN_URL: good.ORIGIN_URL }, "ADMIN_TOKEN"],
    ["a short ADMIN_TOKEN", { ...good, ADMIN_TOKEN: "short" }, "ADMIN_TOKEN"],
    ["no ORIGIN_URL", { ADMIN_TOKEN: good.ADMIN_TOKEN }, "ORIGIN_URL"],
    ["an ORIGIN_URL that is not a URL", { ...good, ORIGIN_URL: "origin.internal" }, "ORIGIN_URL"],
    [
      "a Redis URL without its token",
      { ...good, UPSTASH_REDIS_REST_URL: "https://x.upstash.io" },
      "UPSTASH_REDIS_REST_TOKEN",
    ],
    ["a Redis token without its URL", { ...good, UPSTASH_REDIS_REST_TOKEN: "t" }, "UPSTASH_REDIS_REST_URL"],
    ["an unknown fail mode", { ...good, GUARD_FAIL_MODE: "sometimes" }, "GUARD_FAIL_MODE"],
    ["malformed OAUTH_CLIENTS", { ...good, OAUTH_CLIENTS: "no-secret-here" }, "OAUTH_CLIENTS"],
    ["an OAUTH_CLIENTS secret under 16 characters", { ...good, OAUTH_CLIENTS: "client:short" }, "OAUTH_CLIENTS"],
    [
      "one short secret among good ones",
      { ...good, OAUTH_CLIENTS: "a:secret-long-enough-0123,b:short" },
      "OAUTH_CLIENTS",
    ],
    ["a non-numeric STORE_TIMEOUT_MS", { ...good, STORE_TIMEOUT_MS: "1s" }, "STORE_TIMEOUT_MS"],
    ["a zero STORE_TIMEOUT_MS", { ...good, STORE_TIMEOUT_MS: "0" }, "STORE_TIMEOUT_MS"],
    ["a STORE_TIMEOUT_MS of a million", { ...good, STORE_TIMEOUT_MS: "1000000" }, "STORE_TIMEOUT_MS"],
    ["a STORE_TIMEOUT_MS in exponent form", { ...good, STORE_TIMEOUT_MS: "1e3" }, "STORE_TIMEOUT_MS"],
    ["a REUSE_GRACE_MS over a minute", { ...good, REUSE_GRACE_MS: "60001" }, "REUSE_GRACE_MS"],
    ["a negative REUSE_GRACE_MS", { ...good, REUSE_GRACE_MS: "-1" }, "REUSE_GRACE_MS"],
    ["a REUSE_GRACE_MS in exponent form", { ...good, REUSE_GRACE_MS: "1e3" }, "REUSE_GRACE_MS"],
    ["a REUSE_GRACE_MS with a leading space", { ...good, REUSE_GRACE_MS: " 5" }, "REUSE_GRACE_MS"],
    ["an AUTH_REALM with a quote", { ...good, AUTH_REALM: 'a"b' }, "AUTH_REALM"],
    ["a CACHE_SHARED in capitals", { ...good, CACHE_SHARED: "ON" }, "CACHE_SHARED"],
    ["a CACHE_MAX_ENTRIES over a million", { ...good, CACHE_MAX_ENTRIES: "1000001" }, "CACHE_MAX_ENTRIES"],
    [
      "a JWT_FAMILY_CLAIM that is no claim name",
      { ...good, JWT_JWKS: '{"keys":[]}', JWT_FAMILY_CLAIM: "a.b" },
      "JWT_FAMILY_CLAIM",
    ],
    ["a CACHE_MAX_STALENESS_MS with a unit", { ...good, CACHE_MAX_STALENESS_MS: "1s" }, "CACHE_MAX_STALENESS_MS"],
    ["a negative CACHE_MAX_STALENESS_MS", { ...good, CACHE_MAX_STALENESS_MS: "-1" }, "CACHE_MAX_STALENESS_MS"],
    ["a CACHE_MAX_STALENESS_MS over a minute", { ...good, CACHE_MAX_STALENESS_MS: "60001" }, "CACHE_MAX_STALENESS_MS"],
    ["a CACHE_MAX_STALENESS_MS in exponent form", { ...good, CACHE_MAX_STALENESS_MS: "1e3" }, "CACHE_MAX_STALENESS_MS"],
    ["a zero CACHE_MAX_ENTRIES", { ...good, CACHE_MAX_ENTRIES: "0" }, "CACHE_MAX_ENTRIES"],
    ["a CACHE_SHARED that is neither on nor off", { ...good, CACHE_SHARED: "true" }, "CACHE_SHARED"],
    [
      "TOKEN_HASH_KEY_PREVIOUS without TOKEN_HASH_KEY",
      { ...good, TOKEN_HASH_KEY_PREVIOUS: "old-pepper" },
      "TOKEN_HASH_KEY_PREVIOUS",
    ],
    [
      "TOKEN_HASH_KEY_PREVIOUS equal to TOKEN_HASH_KEY",
      { ...good, TOKEN_HASH_KEY: "same", TOKEN_HASH_KEY_PREVIOUS: "same" },
      "TOKEN_HASH_KEY_PREVIOUS",
    ],
    [
      "HS256 among JWT_ALGORITHMS",
      { ...good, JWT_JWKS: '{"keys":[]}', JWT_ALGORITHMS: "RS256,HS256" },
      "JWT_ALGORITHMS",
    ],
    ["none among JWT_ALGORITHMS", { ...good, JWT_JWKS: '{"keys":[]}', JWT_ALGORITHMS: "none" }, "JWT_ALGORITHMS"],
    [
      "a JWT_ALGORITHMS of only commas and spaces",
      { ...good, JWT_JWKS: '{"keys":[]}', JWT_ALGORITHMS: " , " },
      "JWT_ALGORITHMS",
    ],
    ["a TOKEN_FORMAT that is neither any nor tagged", { ...good, TOKEN_FORMAT: "strict" }, "TOKEN_FORMAT"],
    ["TOKEN_FORMAT=tagged without TOKEN_HASH_KEY", { ...good, TOKEN_FORMAT: "tagged" }, "TOKEN_FORMAT"],
    ["a TOKEN_PREFIX with a space", { ...good, TOKEN_PREFIX: "ets " }, "TOKEN_PREFIX"],
    [
      "a FAILURE_LIMIT_CLIENT_HEADER that is no header name",
      { ...good, FAILURE_LIMIT_CLIENT_HEADER: "X Client: ip" },
      "FAILURE_LIMIT_CLIENT_HEADER",
    ],
    [
      "a FAILURE_LIMIT_CLIENT_HEADER that carries credentials",
      { ...good, FAILURE_LIMIT_CLIENT_HEADER: "Authorization" },
      "FAILURE_LIMIT_CLIENT_HEADER",
    ],
    [
      "a FAILURE_LIMIT_PERIOD_S other than 10 or 60",
      { ...good, FAILURE_LIMIT_PERIOD_S: "30" },
      "FAILURE_LIMIT_PERIOD_S",
    ],
    [
      "both JWT_JWKS_URL and JWT_JWKS",
      { ...good, JWT_JWKS: '{"keys":[]}', JWT_JWKS_URL: "https://idp.test/jwks" },
      "JWT_JWKS",
    ],
    ["a JWT_JWKS_URL that is not http(s)", { ...good, JWT_JWKS_URL: "file:///etc/jwks" }, "JWT_JWKS_URL"],
    ["a JWT_JWKS that is not JSON", { ...good, JWT_JWKS: "{keys:" }, "JWT_JWKS"],
    [
      "a JWT_JWKS holding a private key",
      { ...good, JWT_JWKS: '{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"secret"}]}' },
      "JWT_JWKS",
    ],
    ["a JWT_JWKS without keys", { ...good, JWT_JWKS: '{"kty":"EC"}' }, "JWT_JWKS"],
    [
      "a JWT_CLOCK_TOLERANCE_S over 300",
      { ...good, JWT_JWKS: '{"keys":[]}', JWT_CLOCK_TOLERANCE_S: "301" },
      "JWT_CLOCK_TOLERANCE_S",
    ],
    ["JWT_ISSUER without a key set", { ...good, JWT_ISSUER: "https://idp.test" }, "JWT_ISSUER"],
    [
      "a negative JWT_CACHE_ENTRIES",
      { ...good, JWT_JWKS: '{"keys":[]}', JWT_CACHE_ENTRIES: "-1" },
      "JWT_CACHE_ENTRIES",
    ],
    [
      "a JWT_CACHE_ENTRIES that is not a number",
      { ...good, JWT_JWKS: '{"keys":[]}', JWT_CACHE_ENTRIES: "x" },
      "JWT_CACHE_ENTRIES",
    ],
    ["JWT_CACHE_ENTRIES without a key set", { ...good, JWT_CACHE_ENTRIES: "100" }, "JWT_CACHE_ENTRIES"],
    [
      "a Redis URL that is not http(s)",
      { ...good, UPSTASH_REDIS_REST_URL: "redis://x.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" },
      "UPSTASH_REDIS_REST_URL",
    ],
    [
      "a KEY_PREFIX over 128 characters with Redis",
      {
        ...good,
        UPSTASH_REDIS_REST_URL: "https://x.upstash.io",
        UPSTASH_REDIS_REST_TOKEN: "t",
        KEY_PREFIX: "p".repeat(129),
      },
      "KEY_PREFIX",
    ],
    [
      "ACCESS_TEAM_DOMAIN without ACCESS_AUD",
      { ...good, ACCESS_TEAM_DOMAIN: "team.cloudflareaccess.com" },
      "ACCESS_AUD",
    ],
    ["ACCESS_AUD without ACCESS_TEAM_DOMAIN", { ...good, ACCESS_AUD: "aud" }, "ACCESS_TEAM_DOMAIN"],
    [
      "an ACCESS_TEAM_DOMAIN with a path",
      { ...good, ACCESS_TEAM_DOMAIN: "https://team.cloudflareaccess.com/x", ACCESS_AUD: "aud" },
      "ACCESS_TEAM_DOMAIN",
    ],
    ["ACCESS_CERTS_URL without Access", { ...good, ACCESS_CERTS_URL: "http://127.0.0.1:1/certs" }, "ACCESS_CERTS_URL"],
    ["ADMIN_TOKEN_ENABLED=false without Access", { ...good, ADMIN_TOKEN_ENABLED: "false" }, "ADMIN_TOKEN_ENABLED"],
    ["an ADMIN_TOKEN_ENABLED that is not true or false", { ...good, ADMIN_TOKEN_ENABLED: "no" }, "ADMIN_TOKEN_ENABLED"],
    ["an AUDIT_MAX_RECORDS of 0", { ...good, AUDIT_MAX_RECORDS: "0" }, "AUDIT_MAX_RECORDS"],
    [
      "a Redis token the client refuses",
      { ...good, UPSTASH_REDIS_REST_URL: "https://x.upstash.io", UPSTASH_REDIS_REST_TOKEN: "has white space" },
      "UPSTASH_REDIS_REST_TOKEN",
    ],
  ];
  afterEach(() => vi.restoreAllMocks());

  for (const [what, bindings, setting] of bad) {
    it(`answers every request with a 500 naming ${setting} when given ${what}, logged once`, async () => {
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      for (const path of ["/api/x", "/admin/tokens/lookup", "/oauth/introspect"]) {
        const res = await worker.fetch(
          new Request(`https://edge.test${path}`, { headers: { Authorization: "Bearer anything" } }),
          bindings,
          createExecutionContext(),
        );
        expect(res.status).toBe(500);
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe("invalid_config");
        expect(body.error.message).toContain(setting);
      }
      expect(errors).toHaveBeenCalledTimes(1);
      expect(JSON.parse(String(errors.mock.calls[0]![0]))).toMatchObject({ event: "config_error", setting });
    });
  }
});

describe("the deployed entry (src/worker.ts)", () => {
  afterEach(() => vi.restoreAllMocks());
  it("runs on Redis only: without Upstash settings every request is a 500 naming UPSTASH_REDIS_REST_URL", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await deployed.fetch(
      new Request("https://edge.test/api/x", { headers: { Authorization: "Bearer anything" } }),
      { ADMIN_TOKEN: "a-good-admin-token-0123", ORIGIN_URL: inject("originUrl") },
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("UPSTASH_REDIS_REST_URL");
  });
});

describe("admin identity through Cloudflare Access, as the Worker is configured", () => {
  it("admits an Access assertion with the shared token off, and its audit record names the email", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const certs = `${inject("jwksUrl")}/worker-access-${crypto.randomUUID()}`;
    await fetch(certs, {
      method: "POST",
      body: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "a1", alg: "RS256" }] }),
    });
    const bindings = {
      ORIGIN_URL: inject("originUrl"),
      ADMIN_TOKEN: "a-good-admin-token-0123",
      ADMIN_TOKEN_ENABLED: "false",
      ACCESS_TEAM_DOMAIN: "worker-team.cloudflareaccess.com",
      ACCESS_AUD: "worker-aud",
      ACCESS_CERTS_URL: certs,
    };
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ email: "carol@example.com", aud: ["worker-aud"], iat: now, exp: now + 600 })
      .setIssuer("https://worker-team.cloudflareaccess.com")
      .setProtectedHeader({ alg: "RS256", kid: "a1" })
      .sign(privateKey);
    const call = (path: string, headers: Record<string, string>, method = "GET") =>
      worker.fetch(new Request(`https://edge.test${path}`, { method, headers }), bindings, createExecutionContext());
    expect(
      (await call("/admin/keys/worker-access-key/revoke", { Authorization: "Bearer a-good-admin-token-0123" }, "POST"))
        .status,
    ).toBe(401);
    expect(
      (await call("/admin/keys/worker-access-key/revoke", { "Cf-Access-Jwt-Assertion": assertion }, "POST")).status,
    ).toBe(200);
    const audit = (await (await call("/admin/audit", { "Cf-Access-Jwt-Assertion": assertion })).json()) as {
      records: { actor: string; action: string; target: { keyId?: string } }[];
    };
    expect(audit.records.find((r) => r.target.keyId === "worker-access-key")).toMatchObject({
      actor: "carol@example.com",
      action: "revokeKey",
    });
    // the console asks who the Access session names
    const session = await call("/admin/console/session", { "Cf-Access-Jwt-Assertion": assertion });
    expect(await session.json()).toEqual({ actor: "carol@example.com" });
    expect(await (await call("/admin/console/session", {})).json()).toEqual({ actor: null });
  });
});

describe("settings whose refusals share one message (the table above logs each message once)", () => {
  const good = { ADMIN_TOKEN: "a-good-admin-token-0123", ORIGIN_URL: "http://127.0.0.1:1" };
  it("refuses a hostile AUTH_REALM and TOKEN_PREFIX, and takes a good realm into WWW-Authenticate", async () => {
    for (const AUTH_REALM of ["a\\b", "x".repeat(65), "a\tb", "\u00e9", "a\u202eb", "a\r\nb"])
      expect(() => readConfig({ ...good, AUTH_REALM }), JSON.stringify(AUTH_REALM)).toThrow(/^AUTH_REALM: /);
    for (const TOKEN_PREFIX of ["x".repeat(17), "ets.", "ets%20", "\u00e9ts"])
      expect(() => readConfig({ ...good, TOKEN_PREFIX }), TOKEN_PREFIX).toThrow(/^TOKEN_PREFIX: /);
    expect(readConfig({ ...good, AUTH_REALM: "api.example (prod)" }).realm).toBe("api.example (prod)");
    const res = await worker.fetch(
      new Request("https://edge.test/realm-check"),
      { ...good, AUTH_REALM: "api.example (prod)" },
      createExecutionContext(),
    );
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="api.example (prod)"');
  });
});

describe("JWT_CACHE_ENTRIES", () => {
  it("reaches the verifier's cacheEntries: unset leaves the verifier's default (10000), 0 turns the cache off", () => {
    const jwt = { ADMIN_TOKEN: "a-good-admin-token-0123", ORIGIN_URL: "http://127.0.0.1:1", JWT_JWKS: '{"keys":[]}' };
    expect(readConfig(jwt).jwt?.cacheEntries).toBeUndefined();
    expect(new JwtVerifier(readConfig(jwt).jwt!).cacheStats().capacity).toBe(10_000);
    expect(readConfig({ ...jwt, JWT_CACHE_ENTRIES: "0" }).jwt?.cacheEntries).toBe(0);
    expect(readConfig({ ...jwt, JWT_CACHE_ENTRIES: "1000000" }).jwt?.cacheEntries).toBe(1_000_000);
  });
});

describe("the fail-mode default", () => {
  it("is closed when GUARD_FAIL_MODE is absent: an unreachable store answers 503 and nothing is forwarded", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const bindings = {
        ADMIN_TOKEN: "a-good-admin-token-0123",
        ORIGIN_URL: inject("originUrl"),
        UPSTASH_REDIS_REST_URL: UNREACHABLE_URL,
        UPSTASH_REDIS_REST_TOKEN: "x",
        STORE_TIMEOUT_MS: "300",
      };
      expect("GUARD_FAIL_MODE" in bindings).toBe(false);
      // unset: the guard's own default applies, which the 503 below shows is "closed"
      expect(readConfig(bindings).failMode).toBeUndefined();
      const path = unique("default-mode");
      const res = await worker.fetch(
        new Request(`https://edge.test${path}`, { headers: { Authorization: "Bearer some-token" } }),
        bindings,
        createExecutionContext(),
      );
      expect(res.status).toBe(503);
      expect(res.headers.get("Retry-After")).toBe("5");
      expect(await seenAtOrigin(path)).toEqual([]);
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe("cron", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("runs cleanup from the scheduled handler and logs one JSON line", async () => {
    const logs = vi.spyOn(console, "log").mockImplementation(() => {});
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    const short = `cron-${crypto.randomUUID()}`;
    const long = `cron-${crypto.randomUUID()}`;
    await admin("/admin/tokens", {
      token: short,
      id: `id-${crypto.randomUUID()}`,
      subject: "cron",
      expiresAt: start + 60_000,
    });
    await admin("/admin/tokens", {
      token: long,
      id: `id-${crypto.randomUUID()}`,
      subject: "cron",
      expiresAt: start + 3_600_000,
    });
    vi.setSystemTime(start + 120_000);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);

    const lines = logs.mock.calls.map(
      (c) => JSON.parse(String(c[0])) as { event: string; removed: number; ms: number },
    );
    const cleanup = lines.filter((l) => l.event === "cleanup");
    expect(cleanup).toHaveLength(1);
    expect(cleanup[0]!.removed).toBeGreaterThanOrEqual(1);
    expect(typeof cleanup[0]!.ms).toBe("number");
    expect(logs.mock.calls.flat().join("\n")).not.toContain(short);
    expect((await admin("/admin/tokens/lookup", { token: short })).status).toBe(404);
    expect((await admin("/admin/tokens/lookup", { token: long })).status).toBe(200);
  });

  it("fires through exports.default.scheduled too", async () => {
    const logs = vi.spyOn(console, "log").mockImplementation(() => {});
    // the loopback is typed as a plain Fetcher; service_binding_extra_handlers gives it scheduled()
    const self = exports.default as unknown as {
      scheduled(o: { cron: string; scheduledTime: Date }): Promise<{ outcome: string }>;
    };
    const result = await self.scheduled({ cron: "*/15 * * * *", scheduledTime: new Date() });
    expect(result.outcome).toBe("ok");
    expect(logs.mock.calls.map((c) => (JSON.parse(String(c[0])) as { event: string }).event)).toEqual(["cleanup"]);
  });

  it("fails the scheduled event, and logs it, when cleanup fails", async () => {
    const logs = vi.spyOn(console, "log").mockImplementation(() => {});
    const broken = {
      ...env,
      UPSTASH_REDIS_REST_URL: UNREACHABLE_URL,
      UPSTASH_REDIS_REST_TOKEN: "x",
      STORE_TIMEOUT_MS: "300",
    };
    const ctx = createExecutionContext();
    const run = worker.scheduled(createScheduledController({ cron: "*/15 * * * *" }), broken, ctx);
    await expect(run).rejects.toThrow(/store unavailable/);
    await waitOnExecutionContext(ctx).catch(() => {});
    const lines = logs.mock.calls.map((c) => JSON.parse(String(c[0])) as { event: string; error: string });
    expect(lines).toEqual([
      expect.objectContaining({
        event: "cleanup_failed",
        error: expect.stringMatching(/^store\.cleanup: -: store unavailable - /),
      }),
    ]);
  });
});
