/** What only the Redis backend has: round trips, data at rest, key TTLs, failures and config. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "@upstash/redis/cloudflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTokenStore,
  ErrInvalidConfig,
  ErrStoreUnavailable,
  ErrTokenReused,
  ErrTokenRevoked,
  RedisTokenStore,
  StorageError,
  type RedisStoreConfig,
} from "../../../src/index.js";
import { DENY_GRACE_MS } from "../../../src/store/index.js";
import type { UpstashEndpoint } from "../../support/upstash-endpoint.js";
import { indexViolations } from "../../support/invariants.js";
import {
  directRedis,
  dumpPrefix,
  ENDPOINT_TOKEN,
  redisSnapshot,
  startEndpoint,
  uniquePrefix,
  TEST_TIMEOUT_MS,
} from "../../support/redis.js";
import { outcome } from "../../support/outcome.js";

const HOUR = 3_600_000;
let endpoint: UpstashEndpoint;
const wire: string[] = [];
const direct = directRedis();

beforeAll(async () => {
  endpoint = await startEndpoint((_path, body) => wire.push(body));
});
afterAll(async () => {
  await endpoint.close();
  direct.disconnect();
});

let t = Date.now();
const makeStore = (overrides: Partial<RedisStoreConfig> = {}) => {
  const keyPrefix = uniquePrefix("backend");
  const store = new RedisTokenStore({
    url: endpoint.url,
    token: ENDPOINT_TOKEN,
    keyPrefix,
    now: () => t,
    timeoutMs: TEST_TIMEOUT_MS,
    ...overrides,
  });
  return { store, keyPrefix };
};
const secret = (label: string) =>
  `raw-${label}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

/** Requests the endpoint saw while `fn` ran. */
async function roundTrips(fn: () => Promise<unknown>): Promise<number> {
  endpoint.resetStats();
  await fn();
  return endpoint.stats.requests;
}

describe("round trips", () => {
  it("is exactly one per operation, whatever the list's length", async () => {
    const { store } = makeStore();
    const tok = secret("rt");
    // load every script once: a Redis that has never seen one answers NOSCRIPT first
    await store.store(tok, { id: "warm", subject: "warm" });
    await Promise.all([
      store.get(tok),
      store.getById("warm"),
      store.list("warm"),
      store.isRevoked(tok),
      store.cleanup(),
    ]);
    await store.revoke(tok);
    await store.revokeSubject("warm");
    await store.delete(tok);

    const counts: Record<string, number> = {};
    counts.store = await roundTrips(() => store.store(tok, { id: "rt-1", subject: "rt" }));
    counts.get = await roundTrips(() => store.get(tok));
    counts.getById = await roundTrips(() => store.getById("rt-1"));
    counts.isRevoked = await roundTrips(() => store.isRevoked(tok));
    counts["list (1)"] = await roundTrips(() => store.list("rt"));
    for (let i = 0; i < 99; i++) await store.store(secret("bulk"), { id: `rt-bulk-${i}`, subject: "rt" });
    counts["list (100)"] = await roundTrips(async () => expect(await store.list("rt")).toHaveLength(100));
    counts["list (0)"] = await roundTrips(() => store.list("nobody"));
    counts.revoke = await roundTrips(() => store.revoke(tok));
    // 100 unexpired tokens: the cutoff reaches them all, the one revoked just above too
    counts["revokeSubject (100)"] = await roundTrips(async () =>
      expect(await store.revokeSubject("rt")).toEqual({ revoked: 100 }),
    );
    counts["get (revoked)"] = await roundTrips(() =>
      store.get(tok).catch((e: StorageError) => expect(e.err).toBe(ErrTokenRevoked)),
    );
    counts.delete = await roundTrips(() => store.delete(tok));
    counts["cleanup (none due)"] = await roundTrips(() => store.cleanup());
    expect(counts).toEqual(Object.fromEntries(Object.keys(counts).map((k) => [k, 1])));
  });

  it("is one per cleanup batch: ⌈removed / batch⌉, plus one when the last batch is full", async () => {
    for (const [expired, batch, expected] of [
      [25, 10, 3],
      [20, 10, 3],
      [5, 10, 1],
    ] as const) {
      const { store } = makeStore({ cleanupBatchSize: batch });
      await Promise.all(
        Array.from({ length: expired }, (_, i) =>
          store.store(secret("exp"), { id: `c-${i}`, subject: "c", expiresAt: new Date(t + 1000) }),
        ),
      );
      await store.store(secret("keep"), { id: "keep", subject: "c", expiresAt: new Date(t + HOUR) });
      await store.cleanup(); // loads the script; nothing is due yet
      t += 2000;
      let result = { removed: -1 };
      expect(await roundTrips(async () => (result = await store.cleanup()))).toBe(expected);
      expect(result.removed).toBe(expired);
      expect(expected).toBeLessThanOrEqual(Math.ceil(expired / batch) + 1);
    }
  });

  it("stays at one request per call or fewer when calls overlap", async () => {
    // auto-pipelining could merge calls issued in one microtask; hashing spaces them out, so
    // in practice (20 of 20 seen here) each call is its own request: the bound is what matters
    const { store } = makeStore();
    const toks = Array.from({ length: 20 }, () => secret("conc"));
    await Promise.all(toks.map((tok, i) => store.store(tok, { id: `conc-${i}`, subject: "conc" })));
    const n = await roundTrips(() => Promise.all(toks.map((tok) => store.get(tok))));
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(toks.length);
  });
});

describe("at rest", () => {
  it("never writes a raw token to Redis or sends one over the wire", async () => {
    const { store, keyPrefix } = makeStore({ hashKey: "pepper" });
    wire.length = 0;
    const toks = Array.from({ length: 30 }, (_, i) => secret(`rest${i}`));
    await Promise.all(
      toks.map((tok, i) =>
        store.store(tok, {
          id: `rest-${i}`,
          subject: `sub-${i % 3}`,
          issuer: "iss",
          keyId: "k",
          type: "access",
          status: "active",
        }),
      ),
    );
    await Promise.all(toks.slice(0, 10).map((tok) => store.revoke(tok)));
    await Promise.all(toks.slice(10, 15).map((tok) => store.delete(tok)));
    await Promise.all(toks.map((tok) => store.get(tok).catch(() => null)));
    await Promise.all(toks.map((tok) => store.isRevoked(tok).catch(() => null)));
    await store.list("sub-1");
    await store.cleanup();

    const dump = await dumpPrefix(direct, keyPrefix);
    expect(dump.size).toBeGreaterThan(25 + 25 + 3);
    const everything = [...dump].flat(2).join("\n");
    const sent = wire.join("\n");
    expect(sent.length).toBeGreaterThan(0);
    for (const tok of toks) {
      expect(everything).not.toContain(tok);
      expect(sent).not.toContain(tok);
    }
    // tokens are keyed by a 64-hex-digit HMAC
    const tokenKeys = [...dump.keys()].filter((k) => k.startsWith(`${keyPrefix}t:`));
    expect(tokenKeys).toHaveLength(25);
    for (const k of tokenKeys) expect(k.slice(keyPrefix.length + 2)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("gives token and id keys a TTL of expiresAt + grace, and the indexes none", async () => {
    const { store, keyPrefix } = makeStore({ retentionGrace: 60_000 });
    await store.store(secret("ttl"), { id: "ttl-1", subject: "ttl", expiresAt: new Date(t + HOUR) });
    await store.store(secret("ttl"), { id: "ttl-2", subject: "ttl", expiresAt: new Date(t + 2 * HOUR) });
    const keys = [...(await dumpPrefix(direct, keyPrefix)).keys()];
    expect(keys).toHaveLength(2 + 2 + 1 + 1); // tokens, ids, subject, expiry index: issuing writes no feed
    for (const key of keys) {
      const pttl = await direct.pttl(key);
      // the subject set and the expiry index have no TTL: cleanup removes their expired members
      if (key === `${keyPrefix}x` || key === `${keyPrefix}s:ttl`) expect(pttl, key).toBe(-1);
      else expect(pttl, key).toBeGreaterThan(HOUR);
    }
    expect(await direct.pttl(`${keyPrefix}i:ttl-1`)).toBeGreaterThan(HOUR + 60_000 - 5000);
    expect(await direct.pttl(`${keyPrefix}i:ttl-1`)).toBeLessThanOrEqual(HOUR + 60_000);
  });

  it("keeps a subject's expired members out of list and revokeSubject, and drops them once past the grace", async () => {
    const { store, keyPrefix } = makeStore({ retentionGrace: 60_000 });
    const long = secret("ttl-long");
    await store.store(long, { id: "long", subject: "ttl-order", expiresAt: new Date(t + 5 * HOUR) });
    await store.store(secret("ttl-short"), { id: "short", subject: "ttl-order", expiresAt: new Date(t + HOUR) });
    t += 2 * HOUR;
    expect((await store.list("ttl-order")).map((m) => m.id)).toEqual(["long"]);
    expect(await direct.zcard(`${keyPrefix}s:ttl-order`)).toBe(1); // the short one is past its grace
    expect(await store.revokeSubject("ttl-order")).toEqual({ revoked: 1 });
    expect(await store.isRevoked(long)).toBe(true);
    t -= 2 * HOUR;
  });

  it("keeps a deny-listed JWT's key until exp + DENY_GRACE_MS, past any clock tolerance of the verifier", async () => {
    const { store, keyPrefix } = makeStore();
    const jwt = `eyJhbGciOiJFUzI1NiJ9.eyJ9.${secret("deny-ttl")}`;
    const exp = t + HOUR;
    await store.denyJwt(jwt, { subject: "deny-ttl", issuedAt: new Date(t - 1000), expiresAt: new Date(exp) });
    const pttl = await direct.pttl(`${keyPrefix}d:${await store.hashToken(jwt)}`);
    expect(DENY_GRACE_MS).toBeGreaterThanOrEqual(300_000); // the largest JWT_CLOCK_TOLERANCE_S
    expect(pttl).toBeGreaterThan(HOUR + DENY_GRACE_MS - 5000);
    expect(pttl).toBeLessThanOrEqual(HOUR + DENY_GRACE_MS);
  });
});

describe("token families", () => {
  it("keeps no raw token at rest or on the wire through rotations, and the family mark no longer than maxTokenLifetime + grace", async () => {
    const lifetime = 2 * HOUR;
    const grace = 60_000;
    const { store, keyPrefix } = makeStore({
      hashKey: "pepper",
      maxTokenLifetime: lifetime,
      defaultTtl: HOUR,
      retentionGrace: grace,
    });
    wire.length = 0;
    const family = `rest-family-${Math.random().toString(36).slice(2)}`;
    const chain = Array.from({ length: 6 }, (_, i) => secret(`chain${i}`));
    await store.store(chain[0]!, { id: "chain-0", subject: "rest", family, type: "refresh_token", clientId: "app" });
    const access = secret("access");
    await store.store(access, { id: "access", subject: "rest", family, type: "access_token" });
    for (let i = 1; i < chain.length; i++) {
      const md = await store.rotate(chain[i - 1]!, chain[i]!, { id: `chain-${i}`, type: "refresh_token" });
      expect(md).toMatchObject({ id: `chain-${i}`, subject: "rest", family, clientId: "app" });
    }
    const rotatedAt = t;
    expect(await outcome(store.rotate(chain[2]!, secret("reuse"), { id: "reuse" }))).toBe(ErrTokenReused.code);
    const other = secret("other");
    await store.store(other, { id: "other", subject: "rest", family: `${family}-2` });
    await store.revoke(other, { family: true });
    await store.revokeFamily(`${family}-3`);
    const jwt = `eyJhbGciOiJFUzI1NiJ9.eyJ9.${secret("jwt")}`;
    const claims = { subject: "rest", family, issuedAt: new Date(t - 1000), expiresAt: new Date(t + HOUR) };
    expect(await outcome(store.checkJwt(jwt, claims))).toBe(ErrTokenRevoked.code);
    for (const tok of [...chain, access, other]) await store.get(tok).catch(() => null);

    const dump = await dumpPrefix(direct, keyPrefix);
    const everything = [...dump].flat(2).join("\n");
    const sent = wire.join("\n");
    for (const tok of [...chain, access, other, jwt]) {
      expect(everything).not.toContain(tok);
      expect(sent).not.toContain(tok);
    }
    // every retired link: revoked and rotated at the rotation's time, in the family
    for (const tok of chain.slice(0, -1)) {
      const h = await store.hashToken(tok);
      expect(await direct.hmget(`${keyPrefix}t:${h}`, "g", "r", "o")).toEqual([family, `${rotatedAt}`, `${rotatedAt}`]);
    }
    expect(await direct.hget(`${keyPrefix}t:${await store.hashToken(chain.at(-1)!)}`, "o")).toBeNull();
    // one mark per revoked family, "<at>:<until>", kept no longer than maxTokenLifetime + grace
    const marks = [...dump.keys()].filter((k) => k.startsWith(`${keyPrefix}g:`)).sort();
    expect(marks).toEqual([family, `${family}-2`, `${family}-3`].map((f) => `${keyPrefix}g:${f}`));
    for (const key of marks) {
      expect(dump.get(key)).toEqual([`${t}:${t + lifetime + grace}`]);
      const pttl = await direct.pttl(key);
      expect(pttl, key).toBeGreaterThan(lifetime + grace - 5000);
      expect(pttl, key).toBeLessThanOrEqual(lifetime + grace);
    }
    expect(indexViolations(await redisSnapshot(direct, keyPrefix), t)).toEqual([]);
  });
});

describe("concurrency across isolates", () => {
  it("keeps Redis consistent under 600 overlapping calls from two store instances", async () => {
    const keyPrefix = uniquePrefix("iso");
    const stores = [0, 1].map(
      () =>
        new RedisTokenStore({
          url: endpoint.url,
          token: ENDPOINT_TOKEN,
          keyPrefix,
          now: () => t,
          cleanupBatchSize: 7,
          timeoutMs: TEST_TIMEOUT_MS,
        }),
    );
    const toks = Array.from({ length: 60 }, () => secret("iso"));
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 600; i++) {
      const s = stores[i % 2]!;
      const tok = toks[(i * 37) % toks.length]!;
      const k = (i * 7) % 11;
      if (k < 5)
        ops.push(
          s.store(tok, {
            id: `iso-${(i * 13) % 40}`,
            subject: `s${i % 5}`,
            expiresAt: new Date(t + 500 + (i % 3) * 1000),
          }),
        );
      else if (k < 7) ops.push(s.revoke(tok));
      else if (k < 9) ops.push(s.delete(tok));
      else if (k < 10) ops.push(s.cleanup());
      else ops.push(s.list(`s${i % 5}`));
      if (i === 300) t += 1000;
    }
    const results = await Promise.allSettled(ops);
    const failures = results.filter((r) => r.status === "rejected").map((r) => (r.reason as StorageError).err?.code);
    expect(failures).not.toContain(ErrStoreUnavailable.code);
    expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThan(100);
    expect(indexViolations(await redisSnapshot(direct, keyPrefix), t)).toEqual([]);
    t += 10_000;
    await stores[0]!.cleanup();
    expect(await redisSnapshot(direct, keyPrefix)).toEqual({ tokens: [], ids: [], subjects: [], expiry: [] });
  });
});

describe("failures", () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  interface Target {
    url: string;
    /** Requests the fake endpoint received, where there is one to count them. */
    hits?: () => number;
  }

  /** A local HTTP server that answers every request with `handler`, counting them. */
  async function fakeUpstash(handler: Parameters<typeof createServer>[1]): Promise<Target> {
    let hits = 0;
    const s = createServer((req, res) => {
      hits++;
      handler?.(req, res);
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits: () => hits };
  }
  async function closedPort(): Promise<Target> {
    const { url } = await fakeUpstash(() => {});
    const s = servers.pop()!;
    await new Promise((r) => s.close(r));
    return { url };
  }

  for (const retries of [0, 1, 2]) {
    it(`sends 1 + ${retries} request(s) on a network error when retries is ${retries}`, async () => {
      // the connection is cut before an answer: a network error, the one kind that is retried
      const { url, hits } = await fakeUpstash((req) => req.socket.destroy());
      const store = new RedisTokenStore({
        url,
        token: ENDPOINT_TOKEN,
        keyPrefix: uniquePrefix("retry"),
        timeoutMs: 5000,
        retries,
      });
      const e = await store.get(secret("retry")).then(
        () => expect.unreachable("get resolved"),
        (x: unknown) => x,
      );
      expect((e as StorageError).err).toBe(ErrStoreUnavailable);
      expect(hits!()).toBe(1 + retries);
    });
  }

  const cases: [string, () => Promise<Target>, RegExp][] = [
    ["the endpoint is down", closedPort, /fetch failed|ECONNREFUSED/],
    ["the endpoint is slower than the timeout", () => fakeUpstash(() => {}), /no reply within 150 ms/],
    [
      "the endpoint answers 500 with text",
      () => fakeUpstash((_q, r) => r.writeHead(500).end("Internal Server Error")),
      /not JSON/,
    ],
    ["the endpoint answers 200 with garbage", () => fakeUpstash((_q, r) => r.writeHead(200).end("<html>")), /not JSON/],
    [
      "the endpoint answers 502 with an error body",
      () => fakeUpstash((_q, r) => r.writeHead(502).end('{"error":"bad gateway"}')),
      /bad gateway/,
    ],
    [
      "the endpoint answers the wrong shape",
      () => fakeUpstash((_q, r) => r.writeHead(200).end('[{"result":42}]')),
      /malformed|the reply is not/,
    ],
    ["the token is wrong", async () => ({ url: endpoint.url }), /Unauthorized/],
  ];
  for (const [what, target, detail] of cases) {
    it(`rejects with ErrStoreUnavailable, after one request and no retry, when ${what}`, async () => {
      const tok = secret("fail");
      const token = what === "the token is wrong" ? "wrong" : ENDPOINT_TOKEN;
      const { url, hits } = await target();
      // a short timeout only where the wait is the point, so a loaded machine cannot turn an answer into a timeout
      const timeoutMs = what.includes("slower") ? 150 : 5000;
      const store = new RedisTokenStore({ url, token, keyPrefix: uniquePrefix("fail"), timeoutMs, retries: 1 });
      const calls: [string, () => Promise<unknown>][] = [
        ["get", () => store.get(tok)],
        ["store", () => store.store(tok, { id: "f", subject: "f" })],
        ["isRevoked", () => store.isRevoked(tok)],
        ["revoke", () => store.revoke(tok)],
        ["list", () => store.list("f")],
        ["cleanup", () => store.cleanup()],
      ];
      for (const [i, [op, call]] of calls.entries()) {
        const e = await call().then(
          () => expect.unreachable(`${op} resolved`),
          (x: unknown) => x,
        );
        expect(e, op).toBeInstanceOf(StorageError);
        expect((e as StorageError).err, `${op}: ${(e as Error).message}`).toBe(ErrStoreUnavailable);
        expect((e as StorageError).op).toBe(op);
        expect((e as StorageError).detail).toMatch(detail);
        expect((e as StorageError).message).not.toContain(tok);
        expect((e as StorageError).message).not.toContain("command was");
        // HTTP errors and timeouts are never retried: one request per call, however long it waited
        if (hits !== undefined) expect(hits(), op).toBe(i + 1);
      }
    });
  }
});

describe("config", () => {
  const bad: [string, Partial<RedisStoreConfig> | undefined, string][] = [
    ["no config", undefined, "config"],
    ["no url", { token: "x" }, "url"],
    ["a url that is not http(s)", { url: "redis://127.0.0.1:6379", token: "x" }, "url"],
    ["no token", { url: "http://127.0.0.1:1" }, "token"],
    ["an empty token", { url: "http://127.0.0.1:1", token: "" }, "token"],
    [
      "a keyPrefix that is not a string",
      { url: "http://127.0.0.1:1", token: "x", keyPrefix: 5 as unknown as string },
      "keyPrefix",
    ],
    ["a zero timeoutMs", { url: "http://127.0.0.1:1", token: "x", timeoutMs: 0 }, "timeoutMs"],
    ["negative retries", { url: "http://127.0.0.1:1", token: "x", retries: -1 }, "retries"],
    [
      "a fractional cleanupBatchSize",
      { url: "http://127.0.0.1:1", token: "x", cleanupBatchSize: 2.5 },
      "cleanupBatchSize",
    ],
    ["a negative retentionGrace", { url: "http://127.0.0.1:1", token: "x", retentionGrace: -5 }, "retentionGrace"],
    ["a redis that is not a client", { redis: {} as Redis }, "redis"],
    ["an empty hashKey", { url: "http://127.0.0.1:1", token: "x", hashKey: "" }, "hashKey"],
    ["a negative reuseGraceMs", { url: "http://127.0.0.1:1", token: "x", reuseGraceMs: -1 }, "reuseGraceMs"],
    ["a fractional reuseGraceMs", { url: "http://127.0.0.1:1", token: "x", reuseGraceMs: 0.5 }, "reuseGraceMs"],
    [
      "a reuseGraceMs beyond maxTokenLifetime",
      { url: "http://127.0.0.1:1", token: "x", reuseGraceMs: 3_600_001, maxTokenLifetime: 3_600_000, defaultTtl: 1000 },
      "reuseGraceMs",
    ],
  ];
  for (const [what, config, field] of bad) {
    it(`rejects ${what} with ErrInvalidConfig naming ${field}`, async () => {
      const e = await createTokenStore("redis", config as RedisStoreConfig).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StorageError);
      expect((e as StorageError).err).toBe(ErrInvalidConfig);
      expect((e as StorageError).key).toBe(field);
    });
  }

  it("works with a caller's own client, automatic deserialization and all", async () => {
    const redis = new Redis({ url: endpoint.url, token: ENDPOINT_TOKEN, enableTelemetry: false });
    const store = await createTokenStore("redis", { redis, keyPrefix: uniquePrefix("own"), now: () => t });
    const tok = secret("own");
    await store.store(tok, { id: "1234", subject: "5678", issuer: "true", expiresAt: new Date(t + HOUR) });
    expect(await store.get(tok)).toEqual({
      id: "1234",
      subject: "5678",
      issuer: "true",
      issuedAt: new Date(t),
      expiresAt: new Date(t + HOUR),
    });
    expect(await store.list("5678")).toHaveLength(1);
    expect(await store.isRevoked(tok)).toBe(false);
    await store.revoke(tok);
    expect(await store.isRevoked(tok)).toBe(true);
    t += 2 * HOUR;
    expect(await store.cleanup()).toEqual({ removed: 1 });
  });

  it("answers the console's calls and the audit log with a caller's own client too", async () => {
    const redis = new Redis({ url: endpoint.url, token: ENDPOINT_TOKEN, enableTelemetry: false });
    const store = new RedisTokenStore({ redis, keyPrefix: uniquePrefix("own-console"), now: () => t });
    const tok = secret("own-console");
    await store.store(tok, { id: "own-1", subject: "own", expiresAt: new Date(t + HOUR) });
    await store.revokeById("own-1");
    expect(await store.inspect(tok)).toMatchObject({ state: "revoked", revokedBy: "token" });
    expect((await store.recentChanges(5)).map((c) => c.event.type)).toEqual(["token"]);
    const entry = { at: t, actor: "admin-token", action: "revokeById" as const, target: { id: "own-1" }, result: "ok" };
    await store.audit.append(entry);
    const { records } = await store.audit.list({ limit: 5 });
    expect(records.map(({ id: _id, ...r }) => r)).toEqual([entry]);
  });
});
