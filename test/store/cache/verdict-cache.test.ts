/**
 * The verdict cache over two real stores (memory, and Redis through the project's endpoint),
 * with two caches standing for two isolates. Time moves through injected clocks, never sleeps.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ErrStoreUnavailable,
  ErrTokenReused,
  isStorageError,
  ErrTokenNotFound,
  ErrTokenRevoked,
  MemoryTokenStore,
  RedisTokenStore,
  StorageError,
  withVerdictCache,
} from "../../../src/index.js";
import type { FeedStore, JwtClaims, VerdictCache } from "../../../src/store/index.js";
import type { UpstashEndpoint } from "../../support/upstash-endpoint.js";
import { ENDPOINT_TOKEN, startEndpoint, TEST_TIMEOUT_MS, uniquePrefix } from "../../support/redis.js";
import { LiveHistory } from "../../support/live-history.js";
import { sentinel } from "../../support/outcome.js";

const BOUND = 1000;
let endpoint: UpstashEndpoint;
beforeAll(async () => {
  endpoint = await startEndpoint();
});
afterAll(async () => endpoint.close());

interface World {
  clock: { t: number };
  /** Two isolates over one backend, each with its own cache (and, on Redis, its own client). */
  a: VerdictCache;
  b: VerdictCache;
  /** Background syncs handed to waitUntil, to be awaited when a test wants them done. */
  pending: Promise<unknown>[];
  flush(): Promise<void>;
}

type FeedOptions = { feedMaxLength?: number; feedPageSize?: number };
type Backend = (clock: { t: number }, feed?: FeedOptions) => [FeedStore, FeedStore];
const BACKENDS: [string, Backend][] = [
  [
    "memory",
    (clock, feed) => {
      const shared = new MemoryTokenStore({ now: () => clock.t, ...feed });
      return [shared, shared];
    },
  ],
  [
    "redis",
    (clock, feed) => {
      const keyPrefix = uniquePrefix("cache");
      const make = () =>
        new RedisTokenStore({
          url: endpoint.url,
          token: ENDPOINT_TOKEN,
          keyPrefix,
          timeoutMs: TEST_TIMEOUT_MS,
          now: () => clock.t,
          ...feed,
        });
      return [make(), make()];
    },
  ],
];

function world(backend: Backend, feed?: FeedOptions): World {
  const clock = { t: Date.UTC(2026, 10, 27, 12) };
  const [sa, sb] = backend(clock, feed);
  const pending: Promise<unknown>[] = [];
  const opts = { maxStalenessMs: BOUND, now: () => clock.t };
  return {
    clock,
    a: withVerdictCache(sa, opts),
    b: withVerdictCache(sb, opts),
    pending,
    flush: async () => {
      await Promise.all(pending.splice(0));
    },
  };
}

const tok = () => `cache-${crypto.randomUUID()}`;

/**
 * Holds back the answer of the next lookup a cache sends (the store has already run it),
 * to order it against other calls: `reached` once it is back, `release` lets the cache see it.
 */
function hold(cache: VerdictCache): { reached: Promise<void>; release(): void } {
  const inner = (cache as unknown as { inner: FeedStore }).inner;
  const original = inner.lookup;
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const back = new Promise<void>((r) => (reached = r));
  inner.lookup = async (...args) => {
    inner.lookup = original;
    const answer = await original.apply(inner, args);
    reached();
    await gate;
    return answer;
  };
  return { reached: back, release };
}
/**
 * Counts the feed reads (`changes`) a cache sends to its store, and fails every one past `limit`:
 * a follower whose cursor does not move stops there, in a bounded number of reads, instead of
 * reading the same page until the suite times out. While `failing`, every read fails.
 */
function feedReads(cache: VerdictCache, limit: number) {
  const inner = (cache as unknown as { inner: FeedStore }).inner;
  const original = inner.changes;
  const reads = { count: 0, failing: false };
  inner.changes = async (...args) => {
    if (++reads.count > limit) throw new Error(`more than ${limit} feed reads`);
    if (reads.failing) throw new Error("the feed is unreachable");
    return original.apply(inner, args);
  };
  return reads;
}
for (const [name, backend] of BACKENDS) {
  describe(`verdict cache across isolates (${name})`, () => {
    /** Past the bound, B syncs through a miss on some other token: then `token` is served from B's cache alone. */
    const syncB = async (w: World) => {
      w.clock.t += BOUND;
      const misses = w.b.stats().misses;
      await sentinel(w.b.get(tok()));
      expect(w.b.stats().misses).toBe(misses + 1);
    };

    it("enforces a revocation made through A on B once B is past the bound", async () => {
      const w = world(backend);
      const token = tok();
      await w.a.store(token, { id: `i-${token}`, subject: "s" });
      expect(await sentinel(w.b.get(token))).toBe("live"); // B caches it live
      await w.a.revoke(token);
      expect(await sentinel(w.a.get(token))).toBe("token_revoked"); // A's own write is seen at once
      w.clock.t += BOUND;
      expect(await sentinel(w.b.get(token))).toBe("token_revoked"); // stale: B asks the store
    });

    it("drops B's cached verdicts for what changed, through the feed that a miss carries", async () => {
      const w = world(backend);
      // a Redis feed begins with its first revocation; a reader that saw it empty resets once then
      await w.a.revokeKey("feed-begins");
      const [revoked, subjectRevoked, deleted, kept] = [tok(), tok(), tok(), tok()];
      await w.a.store(revoked, { id: `i-${revoked}`, subject: "s" });
      await w.a.store(subjectRevoked, { id: `i-${subjectRevoked}`, subject: "subj-x" });
      await w.a.store(deleted, { id: `i-${deleted}`, subject: "s" });
      await w.a.store(kept, { id: `i-${kept}`, subject: "s" });
      for (const t of [revoked, subjectRevoked, deleted, kept]) expect(await sentinel(w.b.get(t))).toBe("live");
      await w.a.revoke(revoked);
      await w.a.revokeSubject("subj-x");
      await w.a.delete(deleted);
      await syncB(w);
      const misses = w.b.stats().misses;
      expect(await sentinel(w.b.get(kept))).toBe("live");
      expect(w.b.stats().misses).toBe(misses); // untouched by the feed: still a hit
      expect(await sentinel(w.b.get(revoked))).toBe("token_revoked");
      expect(await sentinel(w.b.get(subjectRevoked))).toBe("token_revoked");
      expect(await sentinel(w.b.get(deleted))).toBe("token_not_found");
      expect(w.b.stats().misses).toBe(misses + 3);
    });

    it("enforces every JWT revocation kind made through A on B within the bound: deny-list, subject cutoff, key", async () => {
      const w = world(backend);
      const jwt = () => `eyJhbGciOiJFUzI1NiJ9.eyJ9.${crypto.randomUUID()}`;
      const claims = (subject: string, keyId: string) => ({
        subject,
        keyId,
        issuedAt: new Date(w.clock.t - 1000),
        expiresAt: new Date(w.clock.t + 3_600_000),
      });
      const cases = [
        { token: jwt(), claims: claims("jwt-deny", "k-a"), revoke: (c: JwtClaims, t: string) => w.a.denyJwt(t, c) },
        {
          token: jwt(),
          claims: claims("jwt-cut", "k-b"),
          revoke: () => w.a.revokeSubject("jwt-cut").then(() => undefined),
        },
        { token: jwt(), claims: claims("jwt-key", "k-c"), revoke: () => w.a.revokeKey("k-c") },
      ];
      const kept = { token: jwt(), claims: claims("jwt-kept", "k-d") };
      for (const c of [...cases, kept]) expect(await sentinel(w.b.checkJwt(c.token, c.claims))).toBe("live");
      const misses = w.b.stats().misses;
      for (const c of [...cases, kept]) expect(await sentinel(w.b.checkJwt(c.token, c.claims))).toBe("live");
      expect(w.b.stats().misses).toBe(misses); // all hits, no round trip
      for (const c of cases) await c.revoke(c.claims, c.token);
      for (const c of cases) expect(await sentinel(w.a.checkJwt(c.token, c.claims))).toBe("token_revoked"); // at once on A
      await syncB(w);
      for (const c of cases)
        expect(await sentinel(w.b.checkJwt(c.token, c.claims)), c.claims.subject).toBe("token_revoked");
      expect(await sentinel(w.b.checkJwt(kept.token, kept.claims))).toBe("live");
    });

    it("makes a token stored through A live on B within the bound, though B cached it unknown, with no feed event", async () => {
      const w = world(backend);
      const token = tok();
      await w.a.revokeKey("issue-begins");
      expect(await sentinel(w.b.get(token))).toBe("token_not_found");
      const inner = (w.a as unknown as { inner: FeedStore }).inner;
      const before = (await inner.changes()).cursor;
      await w.a.store(token, { id: `i-${token}`, subject: "s" });
      expect((await inner.changes(before)).events).toEqual([]); // issuing is not in the feed
      w.clock.t += BOUND - 1;
      expect(await sentinel(w.b.get(token))).toBe("token_not_found"); // the unknown verdict is still young
      w.clock.t += 1;
      expect(await sentinel(w.b.get(token))).toBe("live"); // at the bound it is asked again
    });

    it("refuses a cached live verdict past its expiry from memory, whatever the stored type says", async () => {
      const w = world(backend);
      // the type field is the issuer's free label: "jwt" must not skip get's expiry check
      const [plain, labelled] = [tok(), tok()];
      for (const [token, type] of [
        [plain, "access_token"],
        [labelled, "jwt"],
      ] as const)
        await w.a.store(token, { id: `exp-${token}`, subject: "s", type, expiresAt: new Date(w.clock.t + 100) });
      expect(await sentinel(w.a.get(plain))).toBe("live");
      expect(await sentinel(w.a.get(labelled))).toBe("live");
      const misses = w.a.stats().misses;
      w.clock.t += 101;
      expect(await sentinel(w.a.get(plain))).toBe("token_expired");
      expect(await sentinel(w.a.get(labelled))).toBe("token_expired");
      expect(w.a.stats().misses).toBe(misses); // both answered from memory
    });

    it("asks again for an unknown verdict older than the bound, and serves it from memory before", async () => {
      const w = world(backend);
      const token = tok();
      expect(await sentinel(w.b.get(token))).toBe("token_not_found");
      const misses = w.b.stats().misses;
      w.clock.t += BOUND - 1;
      expect(await sentinel(w.b.get(token))).toBe("token_not_found");
      expect(w.b.stats().misses).toBe(misses); // a hit
      w.clock.t += 1;
      expect(await sentinel(w.b.get(token))).toBe("token_not_found");
      expect(w.b.stats().misses).toBe(misses + 1); // too old: asked again
    });

    it("carries a store that replaces a record to B within the bound", async () => {
      const w = world(backend);
      const token = tok();
      await w.a.store(token, { id: `i-${token}`, subject: "before" });
      await w.a.revokeKey("replace-begins");
      expect((await w.b.get(token)).subject).toBe("before");
      await w.a.store(token, { id: `i-${token}`, subject: "after" });
      await syncB(w);
      const misses = w.b.stats().misses;
      expect((await w.b.get(token)).subject).toBe("after");
      expect(w.b.stats().misses).toBe(misses + 1); // dropped by the feed event, asked again
    });

    it("never caches a verdict older than a change already applied, or than a local write", async () => {
      const w = world(backend);
      const [x, y] = [tok(), tok()];
      await w.a.store(x, { id: `i-${x}`, subject: "s" });
      await w.a.store(y, { id: `i-${y}`, subject: "s" });
      await sentinel(w.b.get(tok())); // B has a cursor
      // B's lookup for x runs at the store (live), but its answer is held back...
      const held = hold(w.b);
      const slow = sentinel(w.b.get(x));
      await held.reached;
      // ...while A revokes x and B's next miss applies that change
      await w.a.revoke(x);
      expect(await sentinel(w.b.get(y))).toBe("live");
      held.release();
      expect(await slow).toBe("live"); // true when it was sent
      expect(await sentinel(w.b.get(x))).toBe("token_revoked"); // but not cached

      // the same with B's own write in between
      const z = tok();
      await w.a.store(z, { id: `i-${z}`, subject: "s" });
      const held2 = hold(w.b);
      const slow2 = sentinel(w.b.get(z));
      await held2.reached;
      await w.b.revoke(z);
      held2.release();
      expect(await slow2).toBe("live");
      expect(await sentinel(w.b.get(z))).toBe("token_revoked");
    });

    it("counts the bound from when a feed read was sent, not from when its answer came back", async () => {
      const w = world(backend);
      const token = tok();
      await w.a.store(token, { id: `i-${token}`, subject: "s" });
      w.clock.t += 10;
      expect(await sentinel(w.b.get(token))).toBe("live"); // cached live
      w.clock.t += 10;
      // B's next read (a miss that carries the feed) is sent now and has run at the store...
      const held = hold(w.b);
      const slow = sentinel(w.b.get(tok()));
      await held.reached;
      // ...then A revokes, and the answer takes 100 ms (a slow Upstash) to reach B
      await w.a.revoke(token);
      const revokedAt = w.clock.t;
      w.clock.t += 100;
      held.release();
      expect(await slow).toBe("token_not_found");
      // that read cannot have seen the revocation: its freshness ends one bound after it was sent
      w.clock.t = revokedAt + BOUND + 1;
      expect(await sentinel(w.b.get(token))).toBe("token_revoked");
    });

    it("drops this isolate's verdicts for a key at once when the key is revoked through it", async () => {
      const w = world(backend);
      const token = `eyJhbGciOiJFUzI1NiJ9.eyJ9.${crypto.randomUUID()}`;
      const claims = {
        subject: "key-local",
        keyId: "k",
        issuedAt: new Date(w.clock.t - 1000),
        expiresAt: new Date(w.clock.t + 3_600_000),
      };
      expect(await sentinel(w.a.checkJwt(token, claims))).toBe("live");
      const misses = w.a.stats().misses;
      expect(await sentinel(w.a.checkJwt(token, claims))).toBe("live");
      expect(w.a.stats().misses).toBe(misses); // cached: a hit
      await w.a.revokeKey("k"); // the clock does not move: no sync can help
      expect(await sentinel(w.a.checkJwt(token, claims))).toBe("token_revoked");
    });

    it("drops this isolate's verdict at once for a token revoked through it by id, and only that one", async () => {
      const w = world(backend);
      const [token, other] = [tok(), tok()];
      await w.a.revokeKey("by-id-begins"); // the feed has begun (an empty Redis feed has no epoch yet)
      await w.a.store(token, { id: `by-id-${token}`, subject: "by-id" });
      await w.a.store(other, { id: `by-id-${other}`, subject: "by-id" });
      expect(await sentinel(w.a.get(token))).toBe("live");
      expect(await sentinel(w.a.get(other))).toBe("live");
      const misses = w.a.stats().misses;
      await w.a.revokeById(`by-id-${token}`); // the clock does not move: no sync can help
      expect(await sentinel(w.a.get(token))).toBe("token_revoked");
      expect(await sentinel(w.a.get(other))).toBe("live");
      expect(w.a.stats().misses).toBe(misses + 1); // the other verdict stayed cached
    });

    it("drops the verdict by the hash the id names, even when this isolate cached the token under another id", async () => {
      const w = world(backend);
      const token = tok();
      await w.a.revokeKey("by-id-moved-begins"); // the feed has begun
      await w.a.store(token, { id: `old-${token}`, subject: "by-id-moved" });
      expect(await sentinel(w.a.get(token))).toBe("live"); // cached on A as old-…
      await w.b.store(token, { id: `new-${token}`, subject: "by-id-moved" }); // B re-stores it under a new id
      await w.a.revokeById(`new-${token}`); // the clock does not move: no sync can help
      expect(await sentinel(w.a.get(token))).toBe("token_revoked");
    });

    it("resets a reader behind a trimmed feed, dropping its live verdicts", async () => {
      const w = world(backend, { feedMaxLength: 3 });
      const [token, other] = [tok(), tok()];
      await w.a.revokeKey("trim-begins");
      await w.a.store(token, { id: `i-${token}`, subject: "s" });
      await w.a.store(other, { id: `i-${other}`, subject: "s" });
      expect(await sentinel(w.b.get(token))).toBe("live");
      expect(await sentinel(w.b.get(other))).toBe("live");
      // more revocations than the feed keeps (Redis trims every 32 appends)
      for (let i = 0; i < 40; i++) await w.a.revokeKey(`fill-${i}-${token}`);
      await w.a.revoke(token); // its event is kept, but B cannot know what else it missed
      const resets = w.b.stats().resets;
      await syncB(w);
      expect(w.b.stats().resets).toBe(resets + 1);
      const misses = w.b.stats().misses;
      expect(await sentinel(w.b.get(other))).toBe("live");
      expect(w.b.stats().misses).toBe(misses + 1); // dropped by the reset, asked again
      expect(await sentinel(w.b.get(token))).toBe("token_revoked");
    });

    it("syncs in the background past half the bound, so a busy isolate sees changes without a miss", async () => {
      const w = world(backend);
      const token = tok();
      await w.a.store(token, { id: `i-${token}`, subject: "s" });
      expect(await sentinel(w.b.get(token))).toBe("live");
      await w.a.revoke(token);
      w.clock.t += BOUND / 2;
      // still fresh: served from the cache, and one background sync starts
      expect(await sentinel(w.b.get(token, { waitUntil: (p) => w.pending.push(p) }))).toBe("live");
      expect(w.pending).toHaveLength(1);
      await w.flush();
      expect(w.b.stats()).toMatchObject({ syncs: 1, syncFailures: 0 });
      expect(await sentinel(w.b.get(token))).toBe("token_revoked");
    });

    it("lets a revocation lifted by a delete that a reset hid go: the token stored again is live on B", async () => {
      const w = world(backend, { feedMaxLength: 3 });
      const token = tok();
      await w.a.revokeKey("lift-begins");
      await w.a.store(token, { id: `i-${token}`, subject: "s" });
      await w.a.revoke(token);
      expect(await sentinel(w.b.get(token))).toBe("token_revoked"); // B caches the refusal
      await w.a.delete(token); // the event that lifts it...
      await w.a.store(token, { id: `i-${token}`, subject: "s" });
      for (let i = 0; i < 40; i++) await w.a.revokeKey(`lift-${i}-${token}`); // ...is lost to a reset
      const resets = w.b.stats().resets;
      await syncB(w);
      expect(w.b.stats().resets).toBe(resets + 1);
      expect(await sentinel(w.b.get(token))).toBe("live");
    });

    it("reads a backlog of more than a page a page at a time, without a reset, keeping its verdicts", async () => {
      const w = world(backend, { feedPageSize: 3 });
      const [token, kept] = [tok(), tok()];
      await w.a.revokeKey("page-begins");
      await w.a.store(token, { id: `i-${token}`, subject: "s" });
      await w.a.store(kept, { id: `i-${kept}`, subject: "s" });
      expect(await sentinel(w.b.get(token))).toBe("live");
      expect(await sentinel(w.b.get(kept))).toBe("live");
      for (let i = 0; i < 7; i++) await w.a.revokeKey(`page-${i}-${token}`);
      await w.a.revoke(token); // 8 changes waiting: three pages
      const resets = w.b.stats().resets; // B's first read counts as one
      const reads = feedReads(w.b, 10);
      w.clock.t += BOUND / 2;
      expect(await sentinel(w.b.get(kept, { waitUntil: (p) => w.pending.push(p) }))).toBe("live");
      await w.flush(); // the background sync reads the whole backlog
      // one read a page, each from where the last one ended: a cursor that does not move would read page one until the limit
      expect(reads.count).toBe(3);
      expect(w.b.stats()).toMatchObject({ resets, catchUpPages: 2, syncs: 1, syncFailures: 0 });
      const misses = w.b.stats().misses;
      expect(await sentinel(w.b.get(kept))).toBe("live");
      expect(w.b.stats().misses).toBe(misses); // still cached: nothing dropped it
      expect(await sentinel(w.b.get(token))).toBe("token_revoked");
      // only the last page makes the cache fresh: at its send time, not before
      w.clock.t += BOUND / 2 + 1;
      expect(w.b.stats().lastSyncAgeMs).toBe(BOUND / 2 + 1);
    });

    it("does not count a partial page of a backlog as caught up: a live verdict is stale a bound after the last read that reached the head", async () => {
      const w = world(backend, { feedPageSize: 3 });
      const token = tok();
      await w.a.revokeKey("partial-begins");
      await w.a.store(token, { id: `i-${token}`, subject: "s" });
      expect(await sentinel(w.b.get(token))).toBe("live"); // B's read reaches the head now
      for (let i = 0; i < 7; i++) await w.a.revokeKey(`partial-${i}-${token}`);
      await w.a.revoke(token); // 8 changes waiting: three pages
      // half a bound later a miss reads the first page; the store then becomes unreachable for the rest
      w.clock.t += BOUND / 2;
      const reads = feedReads(w.b, 10);
      reads.failing = true;
      expect(await sentinel(w.b.get(tok(), { waitUntil: (p) => w.pending.push(p) }))).toBe(ErrTokenNotFound.code);
      await w.flush();
      expect(reads.count).toBe(1); // the read of the second page, which failed
      reads.failing = false;
      expect(w.b.stats()).toMatchObject({ syncFailures: 1, catchUpPages: 0 });
      // the partial page does not make the cache fresh: its age counts from the read that reached the head
      expect(w.b.stats().lastSyncAgeMs).toBe(BOUND / 2);
      // a bound after that read (half a bound after the partial one) the live verdict is stale: B asks the store
      w.clock.t += BOUND / 2;
      const misses = w.b.stats().misses;
      expect(await sentinel(w.b.get(token, { waitUntil: (p) => w.pending.push(p) }))).toBe("token_revoked");
      expect(w.b.stats().misses).toBe(misses + 1);
      await w.flush(); // that lookup carried the second page; the third reaches the head
      expect(reads.count).toBe(2);
      expect(w.b.stats()).toMatchObject({ syncFailures: 1, lastSyncAgeMs: 0 });
    });

    it("keeps the bound under any interleaving of writes, rotations, family revocations, reads and clock moves on both isolates", async () => {
      const w = world(backend);
      const subjects = ["p", "q"];
      const history = new LiveHistory();
      let run = 0;
      const op = fc.oneof(
        // f: the family (2: none)
        {
          arbitrary: fc.record({
            kind: fc.constant("store"),
            t: fc.nat(3),
            s: fc.nat(1),
            f: fc.nat(2),
            via: fc.boolean(),
          }),
          weight: 2,
        },
        fc.record({ kind: fc.constant("revoke"), t: fc.nat(3), family: fc.boolean(), via: fc.boolean() }),
        fc.record({ kind: fc.constant("delete"), t: fc.nat(3), via: fc.boolean() }),
        fc.record({ kind: fc.constant("revokeSubject"), s: fc.nat(1), via: fc.boolean() }),
        // n: the new token; rotating one already rotated is a reuse, which revokes its family
        {
          arbitrary: fc.record({ kind: fc.constant("rotate"), t: fc.nat(3), n: fc.nat(3), via: fc.boolean() }),
          weight: 2,
        },
        fc.record({ kind: fc.constant("revokeFamily"), f: fc.nat(1), via: fc.boolean() }),
        { arbitrary: fc.record({ kind: fc.constant("get"), t: fc.nat(3), via: fc.boolean() }), weight: 4 },
        { arbitrary: fc.record({ kind: fc.constant("checkJwt"), j: fc.nat(1), via: fc.boolean() }), weight: 2 },
        { arbitrary: fc.record({ kind: fc.constant("tick"), ms: fc.integer({ min: 1, max: 1500 }) }), weight: 2 },
        fc.record({ kind: fc.constant("flush") }),
      );
      let livesServed = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 40, size: "max" }), async (ops) => {
          // each run has tokens and families of its own (a family revocation lasts maxTokenLifetime)
          run++;
          const tokens = [tok(), tok(), tok(), tok()];
          const families = [`fa-${run}`, `fb-${run}`];
          // two JWTs the store never saw, one per family, live from the start until a revocation reaches them
          const jwts = families.map((family, j) => ({
            token: `eyJhbGciOiJFUzI1NiJ9.eyJ9.${crypto.randomUUID()}`,
            claims: {
              subject: subjects[j]!,
              family,
              issuedAt: new Date(w.clock.t - 1000),
              expiresAt: new Date(w.clock.t + 3_600_000),
            },
          }));
          for (const j of jwts) history.stored(j.token, j.claims.subject, Number.NEGATIVE_INFINITY, j.claims.family);
          const hints = { waitUntil: (p: Promise<unknown>) => w.pending.push(p) };
          for (const o of ops) {
            const cache = "via" in o && o.via ? w.a : w.b;
            const token = "t" in o ? tokens[o.t]! : "";
            switch (o.kind) {
              case "tick":
                w.clock.t += o.ms;
                break;
              case "flush":
                await w.flush();
                break;
              case "store": {
                const md = { id: `id-${token}`, subject: subjects[o.s]!, family: families[o.f] };
                if ((await sentinel(cache.store(token, md))) === "live")
                  history.stored(token, md.subject, w.clock.t, md.family);
                break;
              }
              case "revoke": {
                const family = history.familyOf(token);
                if ((await sentinel(cache.revoke(token, { family: o.family }))) === "live") {
                  history.ended(token, w.clock.t, false);
                  if (o.family && family !== undefined) history.familyRevoked(family, w.clock.t);
                }
                break;
              }
              case "delete":
                if ((await sentinel(cache.delete(token))) === "live") history.ended(token, w.clock.t, true);
                break;
              case "revokeSubject":
                await cache.revokeSubject(subjects[o.s]!);
                history.subjectRevoked(subjects[o.s]!, w.clock.t);
                break;
              case "rotate": {
                const next = tokens[o.n]!;
                const family = history.familyOf(token);
                const md = { id: `id-${next}`, subject: history.subjectOf(token) ?? subjects[0]! };
                const got = await cache.rotate(token, next, md).catch((e: unknown) => e as Error);
                if (!(got instanceof Error)) {
                  history.ended(token, w.clock.t, false);
                  history.stored(next, got.subject, w.clock.t, got.family);
                } else if (isStorageError(got, ErrTokenReused) && family !== undefined) {
                  history.familyRevoked(family, w.clock.t);
                } else if (!isStorageError(got)) throw got;
                break;
              }
              case "revokeFamily":
                await cache.revokeFamily(families[o.f]!);
                history.familyRevoked(families[o.f]!, w.clock.t);
                break;
              case "get":
              case "checkJwt": {
                const start = w.clock.t;
                const jwt = o.kind === "checkJwt" ? jwts[o.j]! : undefined;
                const checked = jwt?.token ?? token;
                const got = await sentinel(
                  jwt === undefined ? cache.get(token, hints) : cache.checkJwt(jwt.token, jwt.claims, hints),
                );
                // the promise: nothing refused at or before start − bound is ever served live
                if (got === "live") {
                  livesServed++;
                  expect(history.liveWithin(checked, start - BOUND, start), `${checked} at ${start}`).toBe(true);
                }
              }
            }
          }
        }),
        { numRuns: name === "redis" ? 25 : 150 },
      );
      // the property held over live answers: some were served
      expect(livesServed).toBeGreaterThan(0);
    });
  });
}

describe("verdict cache round trips (Redis, counted at the endpoint)", () => {
  const count = async (fn: () => Promise<unknown>) => {
    endpoint.resetStats();
    await fn();
    return endpoint.stats.requests;
  };

  it("costs exactly one round trip for a cold lookup and none for a fresh hit", async () => {
    const w = world(BACKENDS[1]![1]);
    const token = tok();
    await w.a.store(token, { id: `i-${token}`, subject: "s" });
    await w.b.get(tok()).catch(() => undefined); // loads the scripts once
    expect(await count(() => w.b.get(token))).toBe(1);
    expect(await count(() => w.b.get(token))).toBe(0);
  });

  it("serves 1,000 requests for 100 live tokens within one bound with at most 1 sync plus 100 misses", async () => {
    const w = world(BACKENDS[1]![1]);
    const tokens = Array.from({ length: 100 }, tok);
    for (const t of tokens) await w.a.store(t, { id: `i-${t}`, subject: "s" });
    await w.b.get(tok()).catch(() => undefined); // warm: scripts loaded, cursor known
    const hints = { waitUntil: (p: Promise<unknown>) => w.pending.push(p) };
    const used = await count(async () => {
      for (let i = 0; i < 1000; i++) {
        if (i % 100 === 0) w.clock.t += 9; // time passes, within one bound: 990 ms in all
        expect(await sentinel(w.b.get(tokens[(i * 37) % 100]!, hints))).toBe("live");
        await w.flush();
      }
    });
    expect(used).toBeLessThanOrEqual(101);
    expect(w.b.stats()).toMatchObject({ checked: 1001, misses: 101, hits: 900 });
  });

  it("stops serving live verdicts within the bound when the store is down, keeps refusing revoked ones, and recovers", async () => {
    const w = world(BACKENDS[1]![1]);
    const [live, revoked] = [tok(), tok()];
    await w.a.store(live, { id: `i-${live}`, subject: "s" });
    await w.a.store(revoked, { id: `i-${revoked}`, subject: "s" });
    await w.a.revoke(revoked);
    expect(await sentinel(w.b.get(live))).toBe("live");
    expect(await sentinel(w.b.get(revoked))).toBe("token_revoked");
    endpoint.control.down = true;
    try {
      w.clock.t += BOUND - 1;
      expect(await sentinel(w.b.get(live))).toBe("live"); // the last good sync is within the bound
      w.clock.t += 1;
      expect(await sentinel(w.b.get(live))).toBe(ErrStoreUnavailable.code); // never stale data on error
      expect(await sentinel(w.b.get(revoked))).toBe(ErrTokenRevoked.code);
      expect(await sentinel(w.b.get(tok()))).toBe(ErrStoreUnavailable.code);
      expect(w.b.stats().syncFailures).toBeGreaterThanOrEqual(1);
    } finally {
      endpoint.control.down = false;
    }
    expect(await sentinel(w.b.get(live))).toBe("live");
    expect(await sentinel(w.b.get(tok()))).toBe(ErrTokenNotFound.code);
  });
});

describe("verdict cache as a TokenStore", () => {
  it("answers every field as the store does, in fresh objects, and names tokens only by fingerprint", async () => {
    const store = new MemoryTokenStore();
    const cache = withVerdictCache(store);
    const token = tok();
    const md = {
      id: "full",
      subject: "s",
      issuer: "https://idp",
      keyId: "k1",
      type: "access",
      status: "active",
      issuedAt: new Date(1_000),
      expiresAt: new Date(Date.now() + 60_000),
    };
    await cache.store(token, md);
    for (let i = 0; i < 2; i++) {
      const got = await cache.get(token); // a miss, then a hit
      expect(got).toEqual(md);
      got.expiresAt.setTime(0);
      got.subject = "mallory";
    }
    expect(await cache.get(token)).toEqual(md);
    const e = await cache.get(`${token}-unknown`).catch((x: unknown) => x as StorageError);
    expect((e as StorageError).err).toBe(ErrTokenNotFound);
    expect((e as StorageError).key).toBe(await store.hashToken(`${token}-unknown`).then((h) => h.slice(0, 12)));
    expect(JSON.stringify([(e as StorageError).message, (e as StorageError).stack])).not.toContain(token);
  });

  it("keeps at most maxEntries verdicts, dropping the least recently used", async () => {
    const cache = withVerdictCache(new MemoryTokenStore(), { maxEntries: 3 });
    const tokens = [tok(), tok(), tok(), tok()];
    for (const t of tokens) await cache.store(t, { id: `i-${t}`, subject: "s" });
    for (const t of tokens.slice(0, 3)) await cache.get(t);
    await cache.get(tokens[0]!); // most recent now; tokens[1] is the oldest
    await cache.get(tokens[3]!);
    expect(cache.stats().size).toBe(3);
    const misses = cache.stats().misses;
    await cache.get(tokens[0]!);
    await cache.get(tokens[2]!);
    expect(cache.stats().misses).toBe(misses);
    await cache.get(tokens[1]!);
    expect(cache.stats().misses).toBe(misses + 1);
  });

  it("refuses bad options when it is built", () => {
    for (const o of [{ maxStalenessMs: 0 }, { maxStalenessMs: 1.5 }, { maxEntries: 0 }, { maxEntries: -1 }]) {
      expect(() => withVerdictCache(new MemoryTokenStore(), o)).toThrow(StorageError);
    }
  });
});
