/**
 * What each operation costs on Upstash's bill: commands, counting every command a script runs.
 * Counted on a private redis-server (INFO commandstats), after every script is loaded, and held
 * to the budget docs/redis.md states. A change that adds a command fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ErrIDConflict,
  ErrTokenReused,
  ErrTokenRevoked,
  ErrTokenRotated,
  RedisTokenStore,
  type StorageError,
  type StoreSentinel,
} from "../../../src/index.js";
import { commandCounter, type Billed } from "../../support/commands.js";
import { startPrivateRedis } from "../../support/redis-server.js";
import { startUpstashEndpoint, type UpstashEndpoint } from "../../support/upstash-endpoint.js";

const TOKEN = "budget-endpoint-token";
let redis: { url: string; stop: () => void };
let endpoint: UpstashEndpoint;
let counter: ReturnType<typeof commandCounter>;
let store: RedisTokenStore;
let t = Date.now();

beforeAll(async () => {
  redis = await startPrivateRedis();
  endpoint = await startUpstashEndpoint({ token: TOKEN, redisUrl: redis.url });
  counter = commandCounter(redis.url);
  store = new RedisTokenStore({ url: endpoint.url, token: TOKEN, keyPrefix: "budget:", now: () => t });
  // load every script: a Redis that has never seen one answers NOSCRIPT, then EVAL
  const warm = "budget-warm-token";
  await store.store(warm, { id: "warm", subject: "warm", keyId: "k-warm" });
  await store.get(warm);
  await store.getById("warm");
  await store.isRevoked(warm);
  await store.list("warm");
  await store.revoke(warm);
  await store.revokeSubject("warm");
  await store.revokeKey("k-warm");
  const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJ9.budget-warm";
  const claims = { subject: "warm", issuedAt: new Date(t - 1000), expiresAt: new Date(t + 60_000) };
  await store.denyJwt(jwt, claims);
  await store.checkJwt(jwt, claims).catch(() => undefined);
  const { hash } = await store.tokenHashes(warm);
  await store.lookup(hash, (await store.changes()).cursor);
  await store.inspect(warm);
  await store.recentChanges(1);
  await store.store("budget-warm-2", { id: "warm-2", subject: "warm-2" });
  await store.revokeById("warm-2");
  await store.store("budget-warm-3", { id: "warm-3", subject: "warm-3", family: "warm-family" });
  await store.rotate("budget-warm-3", "budget-warm-4", { id: "warm-4" });
  await store.revokeFamily("warm-family");
  await store.delete(warm);
  await store.cleanup();
});
afterAll(async () => {
  counter.close();
  await endpoint.close();
  redis.stop();
});

const billed = async (fn: () => Promise<unknown>): Promise<Billed> => {
  endpoint.resetStats();
  const b = await counter.count(fn);
  expect(endpoint.stats.requests, "round trips").toBe(1);
  return b;
};
/** Resolves when `p` rejects with `sentinel`: a refusal is measured like any other call. */
const refused = (p: Promise<unknown>, sentinel: StoreSentinel) =>
  p.then(
    () => expect.unreachable(`expected ${sentinel.code}`),
    (e: unknown) => expect((e as StorageError).err).toBe(sentinel),
  );
const raw = (label: string) => `budget-${label}-${Math.random().toString(36).slice(2)}`;

describe("commands billed per operation", () => {
  it("store ≤ 8 for a new token, with or without a key id, and writes nothing to the feed", async () => {
    const plain = await billed(() => store.store(raw("s"), { id: raw("id"), subject: "alice" }));
    const keyed = await billed(() => store.store(raw("s"), { id: raw("id"), subject: "alice", keyId: "k1" }));
    for (const b of [plain, keyed]) {
      expect(b.total, JSON.stringify(b.byCommand)).toBeLessThanOrEqual(8);
      expect(b.byCommand.HINCRBY).toBeUndefined();
    }
  });

  it("keeps every write within budget on the appends that also trim the feed (every 32nd)", async () => {
    const most: Record<string, number> = { revoke: 0, delete: 0, revokeSubject: 0, "store (again)": 0 };
    const trimmed = new Set<string>();
    const measure = async (op: string, write: () => Promise<unknown>) => {
      const b = await billed(write);
      most[op] = Math.max(most[op]!, b.total);
      if ((b.byCommand.ZREMRANGEBYSCORE ?? 0) > 0) trimmed.add(op);
    };
    for (let i = 0; i < 40; i++) {
      t += 1; // after the last cutoff
      const tok = raw("trim");
      await store.store(tok, { id: raw("id"), subject: "trim" });
      await measure("store (again)", () => store.store(tok, { id: raw("id"), subject: "trim" }));
      await measure("revoke", () => store.revoke(tok));
      await measure("delete", () => store.delete(tok));
      await measure("revokeSubject", () => store.revokeSubject("trim"));
      // a fifth append a round (5 and 32 share no factor): each write above meets a trimming append
      await store.revokeKey(raw("shift"));
    }
    expect([...trimmed].sort()).toEqual(["delete", "revoke", "revokeSubject", "store (again)"]);
    expect(most.revoke).toBeLessThanOrEqual(6);
    expect(most.delete).toBeLessThanOrEqual(8);
    expect(most.revokeSubject).toBeLessThanOrEqual(8);
    // storing a token again replaces its record (more work than a new token; no budget of its own)
    expect(most["store (again)"]).toBeLessThanOrEqual(14);
  });

  it("denyJwt and a JWT check stay within what their script headers state (no budget of their own)", async () => {
    let deny = 0;
    let check = 0;
    for (let i = 0; i < 40; i++) {
      const jwt = `eyJhbGciOiJFUzI1NiJ9.eyJ9.${raw("jwt")}`;
      const claims = {
        subject: "jwt-budget",
        keyId: "k-budget",
        issuedAt: new Date(t - 1000),
        expiresAt: new Date(t + 60_000),
      };
      check = Math.max(check, (await billed(() => store.checkJwt(jwt, claims))).total);
      deny = Math.max(deny, (await billed(() => store.denyJwt(jwt, claims))).total);
      deny = Math.max(deny, (await billed(() => store.denyJwt(jwt, claims))).total); // denied before: PEXPIRE GT
    }
    expect(check).toBeLessThanOrEqual(6); // EXISTS d, HEXISTS t r, MGET, HMGET fm, [ZRANGEBYSCORE f]
    expect(deny).toBeLessThanOrEqual(8); // SET NX, [PEXPIRE GT], EXISTS t, feed append, [trim]
  });

  it("get and isRevoked ≤ 3, revoke ≤ 6, delete ≤ 8", async () => {
    const tok = raw("g");
    await store.store(tok, { id: raw("id"), subject: "bob", keyId: "k2" });
    const counts = {
      get: (await billed(() => store.get(tok))).total,
      isRevoked: (await billed(() => store.isRevoked(tok))).total,
      revoke: (await billed(() => store.revoke(tok))).total,
      "get (revoked)": (await billed(() => store.get(tok).catch(() => undefined))).total,
      delete: (await billed(() => store.delete(tok))).total,
    };
    expect(counts.get).toBeLessThanOrEqual(3);
    expect(counts.isRevoked).toBeLessThanOrEqual(3);
    expect(counts["get (revoked)"]).toBeLessThanOrEqual(3);
    expect(counts.revoke).toBeLessThanOrEqual(6);
    expect(counts.delete).toBeLessThanOrEqual(8);
  });

  it("list(N) ≤ N + 4 and revokeSubject ≤ 8 whatever the subject holds", async () => {
    for (const n of [0, 1, 50]) {
      const subject = raw("subj");
      for (let i = 0; i < n; i++) await store.store(raw("l"), { id: raw("id"), subject, keyId: `k${i % 3}` });
      expect((await billed(() => store.list(subject))).total, `list(${n})`).toBeLessThanOrEqual(n + 4);
      const cut = await billed(() => store.revokeSubject(subject));
      expect(cut.total, `revokeSubject(${n})`).toBeLessThanOrEqual(8);
    }
  });

  it("a sync ≤ 3, with or without news, and a cache miss (lookup with the feed) ≤ 5", async () => {
    const cursor = (await store.changes()).cursor;
    expect((await billed(() => store.changes(cursor))).total).toBeLessThanOrEqual(3);
    await store.revokeKey("k-news");
    expect((await billed(() => store.changes(cursor))).total).toBeLessThanOrEqual(3);
    const tok = raw("m");
    await store.store(tok, { id: raw("id"), subject: "carol" });
    const { hash } = await store.tokenHashes(tok);
    expect((await billed(() => store.lookup(hash, cursor))).total).toBeLessThanOrEqual(5);
  });

  it("the console's reads and writes: inspect ≤ 3, revokeById ≤ 6 (7 on a trimming append), recentChanges 2", async () => {
    let byId = 0;
    for (let i = 0; i < 40; i++) {
      const id = raw("rbi");
      await store.store(raw("rbi"), { id, subject: "console" });
      byId = Math.max(byId, (await billed(() => store.revokeById(id))).total);
    }
    const tok = raw("i");
    await store.store(tok, { id: raw("id"), subject: "dave", keyId: "k3" });
    const inspect = (await billed(() => store.inspect(tok))).total;
    await store.revoke(tok);
    const inspectRevoked = (await billed(() => store.inspect(tok))).total;
    const recent = await billed(() => store.recentChanges(50));
    expect(inspect).toBeLessThanOrEqual(3); // HMGET t, MGET c k
    expect(inspectRevoked).toBeLessThanOrEqual(2); // marked: no MGET
    expect(byId).toBeLessThanOrEqual(7); // GET i, EXISTS t, HSETNX, HINCRBY, ZADD, [ZREMRANGEBYSCORE]
    expect(recent.total).toBe(2); // ZREVRANGE
  });

  it("revoke without its family bills exactly what it did before families: HGET, HSETNX and a feed append", async () => {
    const tok = raw("plain");
    await store.store(tok, { id: raw("id"), subject: "plain", family: raw("fam"), type: "refresh_token" });
    const b = await billed(() => store.revoke(tok));
    const again = await billed(() => store.revoke(tok));
    const refreshOnly = raw("access");
    await store.store(refreshOnly, { id: raw("id"), subject: "plain", family: raw("fam"), type: "access_token" });
    const notRefresh = await billed(() => store.revoke(refreshOnly, { family: "refresh" }));
    // the trimming append (every 32nd) adds a ZREMRANGEBYSCORE: leave it out of an exact count
    for (const x of [b, notRefresh]) delete x.byCommand.ZREMRANGEBYSCORE;
    expect(b.byCommand).toEqual({ EVALSHA: 1, HGET: 1, HSETNX: 1, HINCRBY: 1, ZADD: 1 });
    expect(again.byCommand).toEqual({ EVALSHA: 1, HGET: 1, HSETNX: 1 });
    // "refresh" on an access token: decoding the record costs nothing billed
    expect(notRefresh.byCommand).toEqual(b.byCommand);
  });

  it("rotate ≤ 14 on success, a reuse ≤ 6, a retry within the grace 2, on the appends that trim the feed too", async () => {
    const graced = new RedisTokenStore({
      url: endpoint.url,
      token: TOKEN,
      keyPrefix: "budget:",
      now: () => t,
      reuseGraceMs: 1000,
    });
    const most = { rotate: 0, "rotate (keyed, issued before now)": 0, reuse: 0, retry: 0 };
    for (let i = 0; i < 40; i++) {
      t += 1;
      const [a, b, c] = [raw("rot"), raw("rot"), raw("rot")];
      await store.store(a, { id: raw("id"), subject: "rot", family: raw("fam"), type: "refresh_token" });
      most.rotate = Math.max(most.rotate, (await billed(() => store.rotate(a, b, { id: raw("id") }))).total);
      const keyed = { id: raw("id"), keyId: "k-rot", issuedAt: new Date(t - 1000) };
      const rotated = (await billed(() => store.rotate(b, c, keyed))).total;
      most["rotate (keyed, issued before now)"] = Math.max(most["rotate (keyed, issued before now)"], rotated);
      const retry = await billed(() => refused(graced.rotate(a, raw("rot"), { id: raw("id") }), ErrTokenRotated));
      most.retry = Math.max(most.retry, retry.total);
      const reuse = await billed(() => refused(store.rotate(a, raw("rot"), { id: raw("id") }), ErrTokenReused));
      most.reuse = Math.max(most.reuse, reuse.total);
      expect(reuse.byCommand.SET, "a reuse revokes the family").toBe(1);
    }
    expect(most.rotate).toBeLessThanOrEqual(14);
    expect(most["rotate (keyed, issued before now)"]).toBeLessThanOrEqual(14);
    expect(most.reuse).toBeLessThanOrEqual(6); // HMGET t, SET g, HINCRBY, ZADD, [ZREMRANGEBYSCORE]
    expect(most.retry).toBe(2); // HMGET t
  });

  it("rotate's refusals cost what its script header says, and write nothing", async () => {
    t += 1;
    const family = raw("fam");
    const [a, b, held] = [raw("rot"), raw("rot"), raw("rot")];
    await store.store(a, { id: raw("id"), subject: "rot", family, type: "refresh_token" });
    const heldId = raw("id");
    await store.store(held, { id: heldId, subject: "rot" });
    // the new token's id held by another live token: every check of the old one, then store_token's
    const conflict = await billed(() => refused(store.rotate(a, b, { id: heldId }), ErrIDConflict));
    expect(conflict.total, JSON.stringify(conflict.byCommand)).toBe(7); // HMGET, MGET, HMGET t new, MGET, SET i, HGET
    await store.revoke(a);
    // a revoked old token: read and refused
    const revoked = await billed(() => refused(store.rotate(a, b, { id: raw("id") }), ErrTokenRevoked));
    expect(revoked.byCommand).toEqual({ EVALSHA: 1, HMGET: 1 });
    expect(conflict.byCommand.HSET ?? 0).toBe(0);
  });

  it("revokeFamily ≤ 5 whatever the family holds, and revoke with its family ≤ 9", async () => {
    let withFamily = 0;
    for (const n of [0, 1, 50]) {
      const family = raw("fam");
      const toks = Array.from({ length: n }, () => raw("f"));
      for (const tok of toks) await store.store(tok, { id: raw("id"), subject: raw("subj"), family });
      for (let i = 0; i < 20; i++) {
        const b = await billed(() => store.revokeFamily(family));
        expect(b.total, `revokeFamily(${n})`).toBeLessThanOrEqual(5); // SET g, HINCRBY, ZADD, [ZREMRANGEBYSCORE]
      }
    }
    for (let i = 0; i < 40; i++) {
      const tok = raw("rf");
      await store.store(tok, { id: raw("id"), subject: "rf", family: raw("fam"), type: "refresh" });
      const b = await billed(() => store.revoke(tok, { family: i % 2 === 0 ? true : "refresh" }));
      expect(b.byCommand.SET).toBe(1);
      withFamily = Math.max(withFamily, b.total);
    }
    // HGET, HSETNX, two feed appends (HINCRBY, ZADD; one of them may trim), SET g
    expect(withFamily).toBeLessThanOrEqual(9);
  });

  it("auditing adds 1 command per admin or OAuth write (XADD with MAXLEN ~), and a page of records is 1", async () => {
    const entry = {
      at: t,
      actor: "admin-token",
      action: "revoke" as const,
      target: { fingerprint: "0123456789ab" },
      result: "ok",
    };
    const counted = async (fn: () => Promise<unknown>) => {
      endpoint.resetStats();
      const b = await counter.count(fn);
      expect(endpoint.stats.requests, "round trips").toBe(1);
      return b;
    };
    const append = await counted(() => store.audit.append(entry));
    expect(append.byCommand).toEqual({ XADD: 1 });
    const list = await counted(() => store.audit.list({ limit: 50 }));
    expect(list.byCommand).toEqual({ XREVRANGE: 1 });
  });
});
