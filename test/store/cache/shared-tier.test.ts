/**
 * The data-center tier: verdicts and feed reads shared between isolates through a Cache
 * API-like cache, over two real stores (memory, and Redis through the project's endpoint).
 * Isolates are verdict caches with their own clients over one backend and one shared cache;
 * time moves through an injected clock. Every adoption rule of docs/verdict-cache.md has a test
 * here that fails when the rule is taken out, and a property holds the bound with a tier that
 * drops half its puts and answers old entries.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHANGE_LOG_MAX,
  ErrTokenReused,
  isStorageError,
  MemoryTokenStore,
  withVerdictCache,
  type FeedStore,
  type GetHints,
  type VerdictCache,
} from "../../../src/store/index.js";
import type { UpstashEndpoint } from "../../support/upstash-endpoint.js";
import { startEndpoint } from "../../support/redis.js";
import { LiveHistory } from "../../support/live-history.js";
import { MemoryCache, seeded, type MemoryCacheOptions } from "../../support/shared-cache.js";
import { sentinel } from "../../support/outcome.js";
import { isolateBackends, type IsolateBackend } from "../../support/backends.js";

const BOUND = 1000;
const SECRET = "tier-test-pepper";
let endpoint: UpstashEndpoint;
beforeAll(async () => {
  endpoint = await startEndpoint();
});
afterAll(async () => endpoint.close());

const tok = () => `tier-${crypto.randomUUID()}`;

/** A store whose feed reads and lookups (the calls that cost a round trip on a check) are counted. */
function counting(inner: FeedStore): { store: FeedStore; trips: () => number } {
  let trips = 0;
  const counted = new Set<PropertyKey>(["lookup", "lookupJwt", "changes"]);
  const store = new Proxy(inner, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (counted.has(name)) trips++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, trips: () => trips };
}

interface Isolate {
  cache: VerdictCache;
  trips: () => number;
  get(token: string): Promise<string>;
}

interface IsolateOptions {
  skewMs?: number;
  timeoutMs?: number;
  skewAllowanceMs?: number;
}

interface Fleet {
  clock: { t: number };
  tier: MemoryCache;
  /**
   * A new isolate over the same backend and tier (its own client on Redis), its clock `skewMs`
   * ahead. The tier's wait is long (a loaded machine must not make it a miss) unless a test sets
   * it, and the clock-skew allowance is 0 unless a test sets it, so times are exact.
   */
  isolate(options?: IsolateOptions): Isolate;
  /** Isolates A and B, the feed begun through A (an empty Redis feed has no epoch yet). */
  begin(): Promise<[Isolate, Isolate]>;
  /** A new token stored through `isolate`, of subject `subject`. */
  stored(isolate: Isolate, subject?: string): Promise<string>;
  flush(): Promise<void>;
}

type Backend = IsolateBackend;
const BACKENDS = isolateBackends(() => endpoint, "tier");

function fleet(backend: Backend, tierOptions: MemoryCacheOptions = {}): Fleet {
  const clock = { t: Date.UTC(2026, 11, 7, 12) };
  const storeFor = backend(clock);
  const tier = new MemoryCache(tierOptions);
  const pending: Promise<unknown>[] = [];
  const hints: GetHints = { waitUntil: (p) => void pending.push(p) };
  return {
    clock,
    tier,
    isolate({ skewMs = 0, timeoutMs = 5_000, skewAllowanceMs = 0 } = {}) {
      const { store, trips } = counting(storeFor());
      const cache = withVerdictCache(store, {
        maxStalenessMs: BOUND,
        now: () => clock.t + skewMs,
        shared: tier,
        sharedSecret: SECRET,
        sharedScope: "test",
        sharedTimeoutMs: timeoutMs,
        sharedClockSkewMs: skewAllowanceMs,
      });
      return { cache, trips, get: (token) => sentinel(cache.get(token, hints)) };
    },
    async begin() {
      const [a, b] = [this.isolate(), this.isolate()];
      await a.cache.revokeKey("feed-begins");
      return [a, b];
    },
    async stored(isolate, subject = "s") {
      const token = tok();
      await isolate.cache.store(token, { id: `i-${token}`, subject });
      return token;
    },
    flush: async () => {
      while (pending.length > 0) await Promise.all(pending.splice(0));
    },
  };
}

for (const [name, backend] of BACKENDS) {
  describe(`data-center tier: what isolates share (${name})`, () => {
    it("makes a token one isolate looked up a hit for another, even one just started, with no round trip", async () => {
      const f = fleet(backend);
      const a = f.isolate();
      await a.cache.revokeKey("feed-begins"); // an empty Redis feed has no epoch yet
      const token = tok();
      await a.cache.store(token, { id: `i-${token}`, subject: "s" });
      expect(await a.get(token)).toBe("live");
      await f.flush();
      const c = f.isolate(); // a new isolate: no cursor, no verdicts
      expect(await c.get(token)).toBe("live");
      expect(c.trips()).toBe(0);
      expect(c.cache.stats()).toMatchObject({ hits: 1, misses: 0, sharedHits: 1, sharedFeedReads: 1 });
    });

    it("shares feed reads: past the sync age, an isolate takes another's read instead of asking the store", async () => {
      const f = fleet(backend);
      const [a, b] = await f.begin();
      const token = await f.stored(a);
      expect(await a.get(token)).toBe("live");
      expect(await b.get(token)).toBe("live");
      await f.flush();
      f.clock.t += 0.85 * BOUND; // both are past their sync age (at most 0.8 of the bound)
      expect(await a.get(token)).toBe("live"); // a hit: A syncs in the background and shares it
      await f.flush();
      const trips = b.trips();
      expect(await b.get(token)).toBe("live");
      await f.flush();
      expect(b.trips()).toBe(trips); // B took A's feed read
      expect(b.cache.stats().sharedFeedReads).toBeGreaterThanOrEqual(1);
      expect(b.cache.stats().lastSyncAgeMs).toBeLessThan(0.5 * BOUND);
    });

    it("enforces a revocation through A on every isolate within the bound, whatever the tier still holds", async () => {
      const f = fleet(backend);
      const [a, b] = await f.begin();
      const token = await f.stored(a);
      expect(await a.get(token)).toBe("live");
      await f.flush();
      expect(await b.get(token)).toBe("live"); // from the tier
      await a.cache.revoke(token);
      expect(await a.get(token)).toBe("token_revoked");
      f.clock.t += BOUND;
      // the tier still holds the live verdict and an old feed read: neither proves anything now
      expect(await b.get(token)).toBe("token_revoked");
      expect(await f.isolate().get(token)).toBe("token_revoked");
    });

    it("refuses a shared verdict that a change applied here after its position names: token, subject, key", async () => {
      const f = fleet(backend);
      const [a, b] = await f.begin();
      const jwt = () => `eyJhbGciOiJFUzI1NiJ9.eyJ9.${crypto.randomUUID()}`;
      const claims = (subject: string, keyId: string) => ({
        subject,
        keyId,
        issuedAt: new Date(f.clock.t - 1000),
        expiresAt: new Date(f.clock.t + 3_600_000),
      });
      const opaque = tok();
      await a.cache.store(opaque, { id: `i-${opaque}`, subject: "s" });
      const [bySubject, byKey] = [
        { token: jwt(), claims: claims("tier-cut", "k-1") },
        { token: jwt(), claims: claims("tier-other", "k-2") },
      ];
      expect(await a.get(opaque)).toBe("live");
      for (const j of [bySubject, byKey]) expect(await sentinel(a.cache.checkJwt(j.token, j.claims))).toBe("live");
      await f.flush(); // the tier holds all three live
      await a.cache.revoke(opaque);
      await a.cache.revokeSubject("tier-cut");
      await a.cache.revokeKey("k-2");
      expect(await b.get(tok())).toBe("token_not_found"); // B's miss carries the feed: B applies all three
      const stale = b.cache.stats().sharedStale;
      expect(await b.get(opaque)).toBe("token_revoked");
      for (const j of [bySubject, byKey])
        expect(await sentinel(b.cache.checkJwt(j.token, j.claims)), j.claims.subject).toBe("token_revoked");
      expect(b.cache.stats().sharedStale).toBe(stale + 3);
    });

    it("refuses a shared live verdict from before the changes this isolate still remembers", async () => {
      const f = fleet(backend);
      const [a, b] = await f.begin();
      const token = await f.stored(a, "forgotten");
      expect(await a.get(token)).toBe("live");
      await f.flush();
      expect(await b.get(tok())).toBe("token_not_found"); // B has a cursor
      await a.cache.revokeSubject("forgotten");
      // more changes than an isolate remembers: B's log no longer reaches back to the entry
      for (let i = 0; i < CHANGE_LOG_MAX + 10; i++) await a.cache.revokeKey(`fill-${i}`);
      expect(await b.get(tok())).toBe("token_not_found"); // a miss: its lookup carries the backlog's first page
      await f.flush();
      expect(b.cache.stats().resets).toBe(0); // read the backlog, page by page
      expect(await b.get(token)).toBe("token_revoked");
    });

    it("refuses a shared verdict read at a position this isolate has not reached", async () => {
      const f = fleet(backend);
      const [a, b] = await f.begin();
      const token = await f.stored(a);
      expect(await b.get(tok())).toBe("token_not_found"); // B's cursor: here
      await a.cache.revokeKey("moves-the-feed");
      expect(await a.get(token)).toBe("live"); // A's entry is read after that change
      await f.flush();
      const trips = b.trips();
      expect(await b.get(token)).toBe("live");
      expect(b.trips()).toBe(trips + 1); // B asked the store: its feed cannot vouch for the entry
      expect(b.cache.stats().sharedStale).toBe(1);
    });

    it("sees a write through this isolate at once, whatever the tier holds", async () => {
      const f = fleet(backend);
      const [a, b] = await f.begin();
      const token = await f.stored(a);
      expect(await a.get(token)).toBe("live");
      await f.flush();
      expect(await b.get(token)).toBe("live");
      await b.cache.revoke(token); // the clock does not move: B's feed cannot know yet
      expect(await b.get(token)).toBe("token_revoked");
      const unknown = tok();
      expect(await a.get(unknown)).toBe("token_not_found");
      await f.flush();
      await b.cache.store(unknown, { id: `i-${unknown}`, subject: "s" });
      expect(await b.get(unknown)).toBe("live"); // not the tier's unknown verdict
    });

    it("remembers at most 256 writes awaiting a sync: past them, one that names everything refuses every shared entry", async () => {
      const f = fleet(backend);
      const [a, b] = await f.begin();
      const token = await f.stored(a);
      expect(await a.get(token)).toBe("live");
      await f.flush();
      // B writes much and syncs never (its clock does not move): none of these writes names the token
      for (let i = 0; i < 300; i++) await b.cache.revokeKey(`many-${i}`);
      const remembered = (b.cache as unknown as { localWrites: unknown[] }).localWrites;
      expect(remembered.length).toBeGreaterThan(0);
      expect(remembered.length).toBeLessThanOrEqual(257);
      const [stale, trips] = [b.cache.stats().sharedStale, b.trips()];
      expect(await b.get(token)).toBe("live");
      expect(b.cache.stats().sharedStale).toBeGreaterThan(stale); // the tier's entries were refused
      expect(b.trips()).toBeGreaterThan(trips); // and the store asked
    });

    it("lets a shared unknown verdict age on its own", async () => {
      const f = fleet(backend);
      const [a, b] = await f.begin();
      const token = tok();
      expect(await a.get(token)).toBe("token_not_found");
      await f.flush();
      await f.isolate().cache.store(token, { id: `i-${token}`, subject: "s" });
      f.clock.t += BOUND - 1;
      expect(await b.get(token)).toBe("token_not_found"); // the shared unknown verdict is still young
      expect(b.trips()).toBe(0);
      f.clock.t += 1;
      expect(await f.isolate().get(token)).toBe("live"); // at the bound it is asked again
    });

    it("takes a shared feed read's changes: a verdict it names goes, with no feed read of this isolate's own", async () => {
      const f = fleet(backend);
      const [a, b] = await f.begin();
      const token = await f.stored(a);
      expect(await a.get(token)).toBe("live");
      await f.flush();
      expect(await b.get(token)).toBe("live");
      await a.cache.revoke(token);
      f.clock.t += 0.5 * BOUND;
      expect(await a.get(tok())).toBe("token_not_found"); // A's miss carries the revocation: A shares that read
      await f.flush();
      f.clock.t += 0.35 * BOUND; // B is past its sync age (at most 0.8), within the bound; A's read is younger than any
      const trips = b.trips();
      expect(await b.get(token)).toBe("live"); // still fresh: a hit, and B takes A's read in the background
      await f.flush();
      expect(b.trips()).toBe(trips);
      expect(await b.get(token)).toBe("token_revoked"); // the read's change dropped B's verdict
    });

    it("refuses a shared feed read that begins after this isolate's cursor: it would skip changes", async () => {
      const f = fleet(backend);
      const [a, b] = await f.begin();
      const token = await f.stored(a);
      expect(await b.get(token)).toBe("live"); // B's cursor: here
      await a.cache.revoke(token);
      // more changes than A remembers: A's shared read no longer reaches back to B's cursor
      for (let i = 0; i < CHANGE_LOG_MAX + 10; i++) await a.cache.revokeKey(`gap-${i}`);
      f.clock.t += 0.5 * BOUND;
      expect(await a.get(tok())).toBe("token_not_found");
      await f.flush();
      f.clock.t += 0.35 * BOUND;
      expect(await b.get(token)).toBe("live"); // fresh still; B's background sync cannot take A's read
      await f.flush();
      expect(b.cache.stats().sharedFeedReads).toBe(0);
      f.clock.t += BOUND;
      expect(await b.get(token)).toBe("token_revoked");
    });

    it("refuses a shared read or verdict dated after this clock's now: a clock running ahead buys no freshness", async () => {
      const f = fleet(backend);
      const [ahead, b] = [f.isolate({ skewMs: 10_000 }), f.isolate()];
      await b.cache.revokeKey("feed-begins");
      const [token, unknown] = [tok(), tok()];
      await b.cache.store(token, { id: `i-${token}`, subject: "s" });
      expect(await b.get(token)).toBe("live");
      expect(await ahead.get(unknown)).toBe("token_not_found"); // shares a read and a verdict "sent" 10 s from now
      await f.flush();
      await f.isolate().cache.revoke(token);
      f.clock.t += 0.85 * BOUND;
      expect(await b.get(token)).toBe("live"); // within the bound; B's background sync cannot take that read
      await f.flush();
      expect(b.cache.stats().sharedFeedReads).toBe(0);
      f.clock.t += 0.3 * BOUND;
      expect(await b.get(token)).toBe("token_revoked");
      await b.cache.store(unknown, { id: `i-${unknown}`, subject: "s" });
      const c = f.isolate();
      expect(await c.get(unknown)).toBe("live"); // not the unknown verdict from the future
      expect(c.cache.stats().sharedStale).toBe(1);
    });

    it("counts a shared read from a clock running ahead, within the allowance, as sent that much earlier: the bound holds", async () => {
      const f = fleet(backend);
      const ahead = f.isolate({ skewMs: 40 });
      const b = f.isolate({ skewAllowanceMs: 50 });
      await b.cache.revokeKey("feed-begins");
      const token = tok();
      await b.cache.store(token, { id: `i-${token}`, subject: "s" });
      expect(await b.get(token)).toBe("live");
      f.clock.t += 0.5 * BOUND;
      expect(await ahead.get(tok())).toBe("token_not_found"); // shares a read its clock dates 40 ms late
      await f.flush();
      const revokedAt = f.clock.t;
      await f.isolate().cache.revoke(token); // after that read: it cannot have seen this
      f.clock.t += 0.35 * BOUND;
      expect(await b.get(token)).toBe("live"); // within the bound; B takes the read in the background
      await f.flush();
      expect(b.cache.stats().sharedFeedReads).toBe(1);
      f.clock.t = revokedAt + BOUND; // one bound after the revocation, by the true clock
      expect(await b.get(token)).toBe("token_revoked");
    });

    it("takes nothing from a tier that fails or answers slowly, and asks the store", async () => {
      const f = fleet(backend, { delayMs: 60 });
      const a = f.isolate({ timeoutMs: 25 });
      await a.cache.revokeKey("feed-begins");
      const token = tok();
      await a.cache.store(token, { id: `i-${token}`, subject: "s" });
      expect(await a.get(token)).toBe("live"); // the tier's answer came too late: the store's was taken
      expect(a.cache.stats().sharedFailures).toBeGreaterThanOrEqual(1);
      f.tier.failing = true;
      const b = f.isolate({ timeoutMs: 25 });
      expect(await b.get(token)).toBe("live");
      expect(b.trips()).toBe(1);
      expect(b.cache.stats().sharedFailures).toBeGreaterThanOrEqual(1);
    });
  });

  describe(`data-center tier: the bound with a hostile tier (${name})`, () => {
    it("keeps the bound on every isolate, new ones included, with a tier that drops half its puts and answers old entries", async () => {
      const tokens = [tok(), tok(), tok()];
      const subjects = ["p", "q"];
      const families = ["fa", "fb"];
      const op = fc.oneof(
        // f: the family (2: none)
        fc.record({ kind: fc.constant("store"), t: fc.nat(2), s: fc.nat(1), f: fc.nat(2), via: fc.nat(2) }),
        fc.record({ kind: fc.constantFrom("revoke", "delete"), t: fc.nat(2), via: fc.nat(2) }),
        fc.record({ kind: fc.constant("revokeSubject"), s: fc.nat(1), via: fc.nat(2) }),
        // n: the new token; rotating one already rotated is a reuse, which revokes its family
        fc.record({ kind: fc.constant("rotate"), t: fc.nat(2), n: fc.nat(2), via: fc.nat(2) }),
        fc.record({ kind: fc.constant("revokeFamily"), f: fc.nat(1), via: fc.nat(2) }),
        fc.record({ kind: fc.constant("get"), t: fc.nat(2), via: fc.nat(2) }),
        fc.record({ kind: fc.constant("get"), t: fc.nat(2), via: fc.nat(2) }),
        fc.record({ kind: fc.constant("tick"), ms: fc.integer({ min: 1, max: 800 }) }),
        fc.record({ kind: fc.constant("flush") }),
        fc.record({ kind: fc.constant("replace"), via: fc.nat(2) }),
        // more changes than an isolate remembers (memory only: on Redis that is 300 round trips)
        ...(name === "memory" ? [fc.record({ kind: fc.constant("burst") })] : []),
      );
      let livesServed = 0;
      await fc.assert(
        // long runs: a breach takes a store, a check, a revocation elsewhere, a bound of ticks and a check again
        fc.asyncProperty(
          fc.array(op, { minLength: 20, maxLength: 60, size: "max" }),
          fc.integer(),
          // the third isolate's clock runs ahead, within the allowance the others take (50 ms)
          fc.integer({ min: 0, max: 50 }),
          async (ops, seed, skewMs) => {
            const f = fleet(backend, { dropPuts: 0.5, replay: 0.5, random: seeded(seed) });
            const skews = [0, 0, skewMs];
            const isolates = skews.map((ms) => f.isolate({ skewMs: ms, skewAllowanceMs: 50 }));
            await isolates[0]!.cache.revokeKey("feed-begins");
            const history = new LiveHistory();
            for (const o of ops) {
              const isolate = "via" in o ? isolates[o.via]! : isolates[0]!;
              const token = "t" in o ? tokens[o.t]! : "";
              switch (o.kind) {
                case "tick":
                  f.clock.t += o.ms;
                  break;
                case "flush":
                  await f.flush();
                  break;
                case "replace":
                  isolates[o.via] = f.isolate({ skewMs: skews[o.via], skewAllowanceMs: 50 });
                  break;
                case "burst":
                  for (let i = 0; i < CHANGE_LOG_MAX + 20; i++) await isolates[0]!.cache.revokeKey(`burst-${i}`);
                  break;
                case "store": {
                  const md = { id: `id-${token}`, subject: subjects[o.s]!, family: families[o.f] };
                  if ((await sentinel(isolate.cache.store(token, md))) === "live")
                    history.stored(token, md.subject, f.clock.t, md.family);
                  break;
                }
                case "revoke":
                case "delete":
                  if ((await sentinel(isolate.cache[o.kind](token))) === "live") {
                    history.ended(token, f.clock.t, o.kind === "delete");
                  }
                  break;
                case "revokeSubject":
                  await isolate.cache.revokeSubject(subjects[o.s]!);
                  history.subjectRevoked(subjects[o.s]!, f.clock.t);
                  break;
                case "rotate": {
                  const next = tokens[o.n]!;
                  const family = history.familyOf(token);
                  const md = { id: `id-${next}`, subject: history.subjectOf(token) ?? subjects[0]! };
                  const got = await isolate.cache.rotate(token, next, md).catch((e: unknown) => e as Error);
                  if (!(got instanceof Error)) {
                    history.ended(token, f.clock.t, false);
                    history.stored(next, got.subject, f.clock.t, got.family);
                  } else if (isStorageError(got, ErrTokenReused) && family !== undefined) {
                    history.familyRevoked(family, f.clock.t);
                  } else if (!isStorageError(got)) throw got;
                  break;
                }
                case "revokeFamily":
                  await isolate.cache.revokeFamily(families[o.f]!);
                  history.familyRevoked(families[o.f]!, f.clock.t);
                  break;
                case "get": {
                  const start = f.clock.t;
                  const got = await isolate.get(token);
                  // the promise: nothing refused at or before start − bound is ever served live
                  if (got === "live") {
                    livesServed++;
                    expect(history.liveWithin(token, start - BOUND, start), `${token} at ${start}`).toBe(true);
                  }
                }
              }
            }
            await f.flush();
          },
        ),
        { numRuns: name === "redis" ? 25 : 300 },
      );
      // the property held over live answers: some were served
      expect(livesServed).toBeGreaterThan(0);
    }, 60_000); // hundreds of runs, some with hundreds of changes: seconds on a loaded 2-core machine
  });
}

describe("data-center tier: a feed that began again (another epoch)", () => {
  /** Two memory stores stand for one feed before and after it was lost: each has its own epoch. */
  const isolateOver = (store: FeedStore, tier: MemoryCache, clock: { t: number }) =>
    withVerdictCache(store, {
      maxStalenessMs: BOUND,
      now: () => clock.t,
      shared: tier,
      sharedSecret: SECRET,
      sharedTimeoutMs: 5_000,
    });

  it("refuses a verdict or a feed read of another epoch, though it verifies", async () => {
    const clock = { t: Date.UTC(2026, 11, 7, 12) };
    const [before, after] = [
      new MemoryTokenStore({ now: () => clock.t }),
      new MemoryTokenStore({ now: () => clock.t }),
    ];
    const tier = new MemoryCache();
    const pending: Promise<unknown>[] = [];
    const hints: GetHints = { waitUntil: (p) => void pending.push(p) };
    const [old, fresh] = [isolateOver(before, tier, clock), isolateOver(after, tier, clock)];
    const [token, kept] = [tok(), tok()];
    // the same position in both: one change each
    await old.revokeKey("one");
    await fresh.revokeKey("one");
    await before.store(token, { id: "x", subject: "s" });
    await after.store(kept, { id: "y", subject: "s" });
    expect(await sentinel(fresh.get(kept, hints))).toBe("live");
    expect(await sentinel(old.get(token, hints))).toBe("live"); // shared, of the old epoch
    await Promise.all(pending.splice(0));
    expect(await sentinel(fresh.get(token, hints))).toBe("token_not_found");
    expect(fresh.stats().sharedStale).toBe(1);
    // the old epoch's reads go on being shared and fresh: the new one's isolate takes none
    await fresh.revoke(kept);
    clock.t += 0.85 * BOUND; // past every sync age: the tier is asked for a feed read
    expect(await sentinel(old.get(tok(), hints))).toBe("token_not_found");
    await Promise.all(pending.splice(0));
    await after.revoke(kept);
    expect(await sentinel(fresh.get(kept, hints))).toBe("token_revoked");
    await Promise.all(pending.splice(0));
    expect(fresh.stats().sharedFeedReads).toBe(0);
  });
});

describe("data-center tier: entries that do not verify", () => {
  const world = () => {
    const clock = { t: Date.UTC(2026, 11, 7, 12) };
    const store = new MemoryTokenStore({ now: () => clock.t, hashKey: "pepper" });
    const tier = new MemoryCache();
    const pending: Promise<unknown>[] = [];
    const hints: GetHints = { waitUntil: (p) => void pending.push(p) };
    const isolate = (options: { secret?: string; scope?: string } = {}) => {
      const cache = withVerdictCache(store, {
        maxStalenessMs: BOUND,
        now: () => clock.t,
        shared: tier,
        sharedSecret: options.secret ?? SECRET,
        sharedScope: options.scope ?? "prod:tokens:",
        sharedTimeoutMs: 5_000,
      });
      return { cache, get: (token: string) => sentinel(cache.get(token, hints)) };
    };
    return { clock, store, tier, isolate, flush: async () => void (await Promise.all(pending.splice(0))) };
  };

  it("ignores and counts a tampered, moved, foreign or garbled entry, and a revoked token stays refused", async () => {
    const w = world();
    const a = w.isolate();
    const [revoked, live] = [tok(), tok()];
    await a.cache.store(revoked, { id: `i-${revoked}`, subject: "s" });
    await a.cache.store(live, { id: `i-${live}`, subject: "s" });
    await a.cache.revoke(revoked);
    expect(await a.get(revoked)).toBe("token_revoked");
    expect(await a.get(live)).toBe("live");
    // another deployment (its own pepper and key prefix) on the same zone reads the live token too
    const foreign = w.isolate({ secret: "another-pepper", scope: "staging:tokens:" });
    expect(await foreign.get(live)).toBe("live");
    await w.flush();
    const [revokedHash, liveHash] = [await w.store.hashToken(revoked), await w.store.hashToken(live)];
    const urls = [...w.tier.versions.keys()];
    const ours = urls.find((u) => u.endsWith(`/v/${revokedHash}`))!;
    const bodyAt = (url: string) => w.tier.versions.get(url)!.at(-1)!;
    const liveBody = bodyAt(urls.find((u) => u.endsWith(`/v/${liveHash}`) && u.startsWith(ours.split("/v/")[0]!))!);
    const foreignBody = bodyAt(urls.find((u) => u.endsWith(`/v/${liveHash}`) && !u.startsWith(ours.split("/v/")[0]!))!);
    const revokedBody = bodyAt(ours);
    // an entry is 64 hex digits of HMAC, then the JSON it signs (shared-tier.ts)
    const signature = (body: string) => body.slice(0, 64);
    const payload = (body: string) => body.slice(64);
    expect(payload(liveBody)).toMatch(/^\{/);
    expect(payload(revokedBody)).not.toBe(payload(liveBody));
    const attacks: [string, string][] = [
      // the live token's entry, signature and all, moved to the revoked token's URL
      ["moved", liveBody],
      // the revoked token's signature over a live verdict's fields
      ["tampered", signature(revokedBody) + payload(liveBody)],
      // a live entry signed by another deployment or key prefix, planted at this one's URL
      ["foreign", foreignBody],
      ["garbled", "not-a-signature.{"],
      // a well-formed signature over nothing this URL holds
      ["forged", "0".repeat(64) + payload(liveBody)],
    ];
    for (const [attack, body] of attacks) {
      await w.flush(); // the last isolate's own entries land first
      w.tier.versions.set(ours, [body]);
      const b = w.isolate();
      expect(await b.get(revoked), attack).toBe("token_revoked");
      expect(b.cache.stats().sharedRejected, attack).toBe(1);
    }
  });

  it("never throws on any body the cache answers, and takes none of them", async () => {
    const w = world();
    const token = tok();
    await w.store.store(token, { id: `i-${token}`, subject: "s" });
    await w.store.revoke(token);
    const hash = await w.store.hashToken(token);
    const a = w.isolate();
    expect(await a.get(tok())).toBe("token_not_found");
    await w.flush();
    const url = [...w.tier.versions.keys()].find((u) => u.includes("/v/"))!.replace(/\/v\/[0-9a-f]+$/, `/v/${hash}`);
    const base = url.replace(/\/v\/[0-9a-f]+$/, "");
    // any text, and text that looks like an entry: 64 hex digits, then JSON of any shape
    const body = fc.oneof(
      fc.string({ unit: "binary", maxLength: 300 }),
      fc.tuple(fc.stringMatching(/^[0-9a-f]{64}$/), fc.json({ maxDepth: 3 })).map(([sig, json]) => sig + json),
    );
    await fc.assert(
      // the verdict's URL, and the shared feed read and sync hint beside it
      fc.asyncProperty(body, body, body, async (verdict, feed, sync) => {
        w.tier.versions.set(url, [verdict]);
        w.tier.versions.set(`${base}/feed`, [feed]);
        w.tier.versions.set(`${base}/sync`, [sync]);
        expect(await w.isolate().get(token)).toBe("token_revoked");
      }),
      { numRuns: 200 },
    );
  });

  it("keeps no raw token in any URL or entry of the tier", async () => {
    const w = world();
    const a = w.isolate();
    const tokens = [tok(), tok(), tok()];
    for (const [i, t] of tokens.entries()) await a.cache.store(t, { id: `raw-${i}`, subject: "s" });
    await a.cache.revoke(tokens[0]!);
    for (const t of [...tokens, tok()]) await a.get(t);
    await w.flush();
    const everything = [...w.tier.versions].flatMap(([url, bodies]) => [url, ...bodies]).join("\n");
    expect(w.tier.versions.size).toBeGreaterThanOrEqual(4);
    for (const t of tokens) expect(everything).not.toContain(t);
  });

  it("refuses to be built without a secret", () => {
    const store = new MemoryTokenStore();
    expect(() => withVerdictCache(store, { shared: new MemoryCache() })).toThrow(/needs a secret and a cache/);
    expect(() => withVerdictCache(store, { shared: {} as MemoryCache, sharedSecret: "x" })).toThrow(
      /needs a secret and a cache/,
    );
  });
});
