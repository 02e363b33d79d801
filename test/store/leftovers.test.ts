/**
 * Nothing outlives its purpose: a random mix of every write (rotations, reuses and family
 * revocations included), with tokens expiring, on both backends; then the clock goes past every
 * expiry and the retention grace, cleanup runs to the end, and what is left is looked at. On
 * Redis (real redis-server, this run's key prefix, read with SCAN) no key may be left without a
 * TTL but the feed's counters and the feed (and the audit stream, which these writes do not
 * touch); no token, id or subject key at all; nothing but the feed and revocation marks (no
 * per-family data); and a key with a TTL (a cutoff, a key or family revocation, a deny-list
 * entry) no longer than the longest token lifetime plus the grace. On memory, no token, id,
 * subject or expiry entry, and no family revocation (each lapsed, and swept by cleanup).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DENY_GRACE_MS,
  MemoryTokenStore,
  RedisTokenStore,
  StorageError,
  type FeedStore,
} from "../../src/store/index.js";
import { directRedis, ENDPOINT_TOKEN, startEndpoint, TEST_TIMEOUT_MS, uniquePrefix } from "../support/redis.js";
import { memoryMarks, memorySnapshot } from "../support/memory.js";
import type { UpstashEndpoint } from "../support/upstash-endpoint.js";

const GRACE = 60_000;
const LIFETIME = 10 * 60_000;
let endpoint: UpstashEndpoint;
beforeAll(async () => {
  endpoint = await startEndpoint();
});
afterAll(() => endpoint.close());

const SUBJECTS = ["ann", "bob", "cy", "dee"];
const KEYS = ["k1", "k2"];
const FAMILIES = ["grant-1", "grant-2", "grant-3"];
const op = fc.oneof(
  fc.record({
    kind: fc.constant("store"),
    t: fc.nat(7),
    s: fc.nat(3),
    ttl: fc.integer({ min: 1_000, max: LIFETIME }),
    key: fc.option(fc.nat(1), { nil: undefined }),
    f: fc.option(fc.nat(2), { nil: undefined }),
    refresh: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("delete"), t: fc.nat(7) }),
  fc.record({
    kind: fc.constant("revoke"),
    t: fc.nat(7),
    family: fc.constantFrom(undefined, true, "refresh" as const),
  }),
  // a fresh new token (`to` past the stored ones), or one of them: then the store's own refusals
  fc.record({
    kind: fc.constant("rotate"),
    t: fc.nat(7),
    to: fc.nat(11),
    ttl: fc.integer({ min: 1_000, max: LIFETIME }),
  }),
  fc.record({ kind: fc.constant("revokeFamily"), f: fc.nat(2) }),
  fc.record({ kind: fc.constant("revokeSubject"), s: fc.nat(3) }),
  fc.record({ kind: fc.constant("revokeKey"), key: fc.nat(1) }),
  fc.record({
    kind: fc.constant("denyJwt"),
    t: fc.nat(7),
    s: fc.nat(3),
    ttl: fc.integer({ min: 1_000, max: LIFETIME }),
  }),
  fc.record({ kind: fc.constant("tick"), ms: fc.integer({ min: 1, max: 120_000 }) }),
  fc.record({ kind: fc.constant("cleanup") }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** Runs the ops; refusals (a revoked token stored again, an unknown token deleted) are part of the mix. */
async function drive(store: FeedStore, clock: { t: number }, ops: Op[], run: string): Promise<void> {
  const token = (i: number) => `leftover-${run}-${i}`;
  const refused = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => {
        if (!(e instanceof StorageError)) throw e;
      },
    );
  for (const o of ops) {
    switch (o.kind) {
      case "store":
        await refused(
          store.store(token(o.t), {
            id: `id-${run}-${o.t}`,
            subject: SUBJECTS[o.s]!,
            expiresAt: new Date(clock.t + o.ttl),
            ...(o.key === undefined ? {} : { keyId: KEYS[o.key] }),
            ...(o.f === undefined ? {} : { family: FAMILIES[o.f] }),
            ...(o.refresh ? { type: "refresh_token" } : {}),
          }),
        );
        break;
      case "delete":
        await refused(store.delete(token(o.t)));
        break;
      case "revoke":
        await refused(store.revoke(token(o.t), { family: o.family }));
        break;
      case "rotate":
        await refused(
          store.rotate(token(o.t), token(o.to), { id: `id-${run}-${o.to}`, expiresAt: new Date(clock.t + o.ttl) }),
        );
        break;
      case "revokeFamily":
        await store.revokeFamily(FAMILIES[o.f]!);
        break;
      case "revokeSubject":
        await store.revokeSubject(SUBJECTS[o.s]!);
        break;
      case "revokeKey":
        await store.revokeKey(KEYS[o.key]!);
        break;
      case "denyJwt":
        await refused(
          store.denyJwt(`eyJhbGciOiJFUzI1NiJ9.eyJ9.${run}-${o.t}`, {
            subject: SUBJECTS[o.s]!,
            issuedAt: new Date(clock.t - 1000),
            expiresAt: new Date(clock.t + o.ttl),
          }),
        );
        break;
      case "tick":
        clock.t += o.ms;
        break;
      case "cleanup":
        await store.cleanup();
    }
  }
  // past every expiry and the grace (a family mark's: DENY_GRACE_MS in memory), then cleanup to the end
  clock.t += LIFETIME + Math.max(GRACE, DENY_GRACE_MS) + 1;
  await store.cleanup();
  expect(await store.cleanup()).toEqual({ removed: 0 });
}

const ops = fc.array(op, { minLength: 10, maxLength: 60, size: "max" });

describe("nothing outlives its purpose", () => {
  it("leaves no key without a TTL on Redis but the feed and its counters, after any mix of writes and expiry", async () => {
    const redis = directRedis();
    try {
      await fc.assert(
        fc.asyncProperty(ops, async (list) => {
          const clock = { t: Date.UTC(2026, 11, 7, 12) };
          const keyPrefix = uniquePrefix("left");
          const store = new RedisTokenStore({
            url: endpoint.url,
            token: ENDPOINT_TOKEN,
            keyPrefix,
            now: () => clock.t,
            retentionGrace: GRACE,
            maxTokenLifetime: LIFETIME,
            defaultTtl: LIFETIME,
            timeoutMs: TEST_TIMEOUT_MS,
          });
          await drive(store, clock, list, keyPrefix);
          const keys: string[] = [];
          let cursor = "0";
          do {
            const [next, found] = await redis.scan(
              cursor,
              "MATCH",
              `${keyPrefix.replace(/[*?[\]\\]/g, "\\$&")}*`,
              "COUNT",
              1000,
            );
            keys.push(...found);
            cursor = next;
          } while (cursor !== "0");
          const left = await Promise.all(
            keys.map(async (k) => ({ name: k.slice(keyPrefix.length), ttl: await redis.pttl(k) })),
          );
          const lasting = left.filter((k) => k.ttl === -1).map((k) => k.name);
          expect(lasting.filter((n) => n !== "f" && n !== "fm")).toEqual([]);
          // no token record, id or subject set is left at all, with or without a TTL; nothing but the
          // feed and revocation marks (c: cutoffs, k: keys, g: families, d: deny-listed JWTs)
          expect(left.map((k) => k.name).filter((n) => /^(t|i|s):/.test(n))).toEqual([]);
          expect(left.map((k) => k.name).filter((n) => !/^(f|fm|[ckgd]:.+)$/.test(n))).toEqual([]);
          // within the longest it may need: a token's lifetime and the grace (a deny-list entry's own
          // grace is DENY_GRACE_MS, docs/redis.md), with a second for the time the test took
          for (const k of left.filter((k) => k.ttl !== -1))
            expect(k.ttl, k.name).toBeLessThanOrEqual(LIFETIME + Math.max(GRACE, DENY_GRACE_MS) + 1000);
        }),
        { numRuns: 25 },
      );
    } finally {
      redis.disconnect();
    }
  });

  it("leaves no token, id, subject or expiry entry in the memory store after any mix of writes and expiry", async () => {
    await fc.assert(
      fc.asyncProperty(ops, async (list) => {
        const clock = { t: Date.UTC(2026, 11, 7, 12) };
        const store = new MemoryTokenStore({ now: () => clock.t, maxTokenLifetime: LIFETIME, defaultTtl: LIFETIME });
        await drive(store, clock, list, "memory");
        expect(memorySnapshot(store)).toEqual({ tokens: [], ids: [], subjects: [], expiry: [] });
        // every family revocation lapsed a lifetime after its latest call, and cleanup swept it
        expect(memoryMarks(store).families).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});
