import { answer, Cached } from "./entry.js";
import { FeedFollower } from "./follower.js";
import { SharedTier, type SharedCache, type SharedTierStats, type SharedVerdict } from "./shared-tier.js";
import { names, usable, VerdictMap } from "./verdicts.js";
import type { ChangeEvent, FeedCursor, FeedStore, Verdict, ChangeBatch } from "../core/feed.js";
import type {
  GetHints,
  JwtClaims,
  RevokeOptions,
  StoredTokenMetadata,
  TokenStatus,
  TokenMetadata,
  RotationMetadata,
  TokenStore,
} from "../core/types.js";
import { wholeNumber } from "../core/config.js";
import { waitAtMost } from "../../util/wait.js";

export interface VerdictCacheOptions {
  /**
   * The bound: a live verdict is served only while the last feed read that reached the head
   * was sent less than this many milliseconds ago, and an unknown or expired one only while
   * the read that answered it was. 0 is refused: leave the cache out.
   * @default 1000
   */
  maxStalenessMs?: number;
  /**
   * Most verdicts kept in this isolate; the least recently used goes first.
   * @default 10_000
   */
  maxEntries?: number;
  /** The clock, in epoch milliseconds. @default Date.now */
  now?: () => number;
  /**
   * The data-center tier: a cache shared by the isolates of one data center (on Workers, a named
   * cache from `caches.open`), through which they share verdicts and feed reads. It is never an
   * authority: an entry is used only when it proves it is within the bound
   * (docs/verdict-cache.md). Needs `sharedSecret`.
   */
  shared?: SharedCache;
  /** The secret shared entries are authenticated under (the Worker: TOKEN_HASH_KEY, or without one the Upstash token). */
  sharedSecret?: string;
  /** What shared entries belong to: entries of another scope are ignored. @default "" */
  sharedScope?: string;
  /** The longest a check waits for the shared tier before asking the store. @default 25 */
  sharedTimeoutMs?: number;
  /**
   * How far the clocks of one data center's machines may disagree, in ms. Times in shared
   * entries come from other machines' clocks: each counts as this much earlier, so the bound
   * holds while the clocks agree within it.
   * @default 50
   */
  sharedClockSkewMs?: number;
}

/** This isolate's counters (each isolate has its own cache). */
export interface VerdictCacheStats extends SharedTierStats {
  checked: number;
  /** Checks answered without a store round trip (from this isolate's verdicts or the shared tier). */
  hits: number;
  misses: number;
  /** Feed reads sent to the store to catch up (in the background, or after a lookup's full page). */
  syncs: number;
  syncFailures: number;
  resets: number;
  /** Extra feed reads (round trips) spent reading a backlog of more than a page instead of resetting. */
  catchUpPages: number;
  /** Feed reads another isolate shared through the tier, taken instead of asking the store. */
  sharedFeedReads: number;
  /** Shared verdicts that verified but could not prove they are within the bound here. */
  sharedStale: number;
  /** Milliseconds since the last successful feed read was sent; null before the first. */
  lastSyncAgeMs: number | null;
  size: number;
}

type Lookup = (since: FeedCursor | undefined) => Promise<{ verdict: Verdict; changes: ChangeBatch }>;

/** A waiter gives up on a shared sync after this long and asks the store itself. */
const SHARED_SYNC_WAIT_MS = 5_000;
/** How long the tier keeps a live or revoked verdict (its feed position, not this, bounds its use). */
const SHARED_VERDICT_TTL_MS = 60_000;

/**
 * Wraps a store with a per-isolate verdict cache. The promise it keeps: a cached live verdict
 * is served only while now − syncSentAt < maxStalenessMs, where syncSentAt is when the last
 * feed read that reached the feed's head (a sync, or a miss lookup, which carries the feed) was
 * *sent*. So a change acknowledged at time T is seen by every request that starts after
 * T + maxStalenessMs. A revoked verdict is served until a feed event or a reset drops it (or its
 * token expires); unknown and expired verdicts age on their own, since issuing a token is not
 * in the feed. With a shared tier, the same promise holds for what other isolates share.
 */
export function withVerdictCache(store: FeedStore, options: VerdictCacheOptions = {}): VerdictCache {
  return new VerdictCache(store, options);
}

/**
 * The verdict cache as the admin API and OAuth use it: `get` and `checkJwt` straight from the
 * store; every other method is the cache's own (its other reads already go to the store, and
 * its writes drop this isolate's verdicts for what they change).
 */
function authoritative(cache: VerdictCache, inner: FeedStore): TokenStore {
  const own = { get: (t: string) => inner.get(t), checkJwt: (t: string, c: JwtClaims) => inner.checkJwt(t, c) };
  return new Proxy(cache, { get: (target, name) => own[name as keyof typeof own] ?? (target as never)[name] });
}

/** A write made through this isolate, remembered until no shared entry can predate it. */
interface LocalWrite {
  at: number;
  /** What the write changed; undefined stands for writes forgotten past LOCAL_WRITES_MAX: it names every entry. */
  event: ChangeEvent | undefined;
}

/** Local writes kept for the tier's adoption rule; more, and one write that names everything replaces them. */
const LOCAL_WRITES_MAX = 256;

export class VerdictCache implements TokenStore {
  readonly maxStalenessMs: number;
  readonly maxEntries: number;
  /** `get` straight from the store (one round trip), writes through this cache: for the admin API and OAuth. */
  readonly authoritative: TokenStore;
  private readonly now: () => number;
  private readonly verdicts: VerdictMap;
  private readonly follower: FeedFollower;
  private readonly tier: SharedTier | undefined;
  private readonly clockSkewMs: number;
  /** Bumped by every local write: a lookup sent before one must not cache or share its verdict. */
  private generation = 0;
  private localWrites: LocalWrite[] = [];
  private readonly counters = { checked: 0, hits: 0, misses: 0, sharedStale: 0 };

  constructor(
    private readonly inner: FeedStore,
    options: VerdictCacheOptions = {},
  ) {
    this.maxStalenessMs = wholeNumber("maxStalenessMs", options.maxStalenessMs, 1000);
    this.maxEntries = wholeNumber("maxEntries", options.maxEntries, 10_000);
    this.now = options.now ?? (() => Date.now());
    this.tier =
      options.shared === undefined
        ? undefined
        : new SharedTier({
            cache: options.shared,
            secret: options.sharedSecret as string,
            scope: options.sharedScope ?? "",
            timeoutMs: options.sharedTimeoutMs,
          });
    this.verdicts = new VerdictMap(this.maxEntries);
    this.clockSkewMs = wholeNumber("sharedClockSkewMs", options.sharedClockSkewMs, 50, 0);
    this.follower = new FeedFollower(inner, this.verdicts, this.maxStalenessMs, this.now, this.tier, this.clockSkewMs);
    this.authoritative = authoritative(this, inner);
  }

  /** The cached check: no round trip on a fresh hit, one on a miss (which also syncs). */
  async get(token: string, hints?: GetHints): Promise<StoredTokenMetadata> {
    const { hash, previous } = await this.inner.tokenHashes(token, "get");
    return this.check("get", hash, hints, (since) => this.inner.lookup(hash, since, previous));
  }

  /** A verified JWT's revocation check, cached like `get`: the verdict depends on the token, its subject and its key. */
  async checkJwt(token: string, claims: JwtClaims, hints?: GetHints): Promise<StoredTokenMetadata> {
    const { hash, previous } = await this.inner.tokenHashes(token, "checkJwt");
    return this.check("checkJwt", hash, hints, (since) => this.inner.lookupJwt(hash, claims, since, previous));
  }

  private async check(
    op: "get" | "checkJwt",
    hash: string,
    hints: GetHints | undefined,
    lookup: Lookup,
  ): Promise<StoredTokenMetadata> {
    this.counters.checked++;
    let waited = false;
    let askedTier = this.tier === undefined;
    for (;;) {
      const now = this.now();
      const cached = this.verdicts.get(hash);
      if (cached !== undefined) {
        if (usable(cached, now, this.follower.syncSentAt, this.maxStalenessMs)) {
          this.counters.hits++;
          hints?.onCache?.("hit");
          this.verdicts.touch(hash, cached);
          if (now - this.follower.syncSentAt < this.maxStalenessMs) this.syncInBackground(now, hints);
          return answer(op, hash, cached, now);
        }
        // a stale live verdict: wait once for the read already in flight, then look again
        if (cached.state === "live" && this.follower.inflight !== undefined && !waited) {
          waited = true;
          await waitAtMost(this.follower.inflight, SHARED_SYNC_WAIT_MS);
          continue;
        }
      }
      // then once the data-center tier: another isolate may have read this token, or the feed
      if (!askedTier) {
        askedTier = true;
        await this.fromTier(hash);
        continue;
      }
      this.counters.misses++;
      hints?.onCache?.("miss");
      return answer(op, hash, await this.fetch(hash, hints, lookup), this.now());
    }
  }

  async store(token: string, metadata: TokenMetadata): Promise<StoredTokenMetadata> {
    return this.writing(token, "store", () => this.inner.store(token, metadata));
  }

  /**
   * With the `family` option the store may revoke the token's family too: that reaches the
   * family's other verdicts here through the feed, within the bound, as at every other isolate
   * (reading the family back first would bill every OAuth revocation a second read).
   */
  async revoke(token: string, options?: RevokeOptions): Promise<void> {
    return this.writing(token, "revoke", () => this.inner.revoke(token, options));
  }

  async delete(token: string): Promise<void> {
    return this.writing(token, "delete", () => this.inner.delete(token));
  }

  async revokeSubject(subject: string): Promise<{ revoked: number }> {
    try {
      return await this.inner.revokeSubject(subject);
    } finally {
      this.wrote({ type: "subject", subject });
    }
  }

  async revokeKey(keyId: string): Promise<void> {
    try {
      await this.inner.revokeKey(keyId);
    } finally {
      this.wrote({ type: "key", keyId });
    }
  }

  /**
   * Both tokens' verdicts go, whatever the outcome: the old one is refused once rotated, and the
   * new one may be cached unknown. A reuse revokes the old token's family, which the arguments do
   * not name: the family's event reaches this isolate through the feed, within the bound, as it
   * reaches every other.
   */
  rotate(oldToken: string, newToken: string, metadata: RotationMetadata): Promise<StoredTokenMetadata> {
    return this.writing(oldToken, "rotate", () =>
      this.writing(newToken, "rotate", () => this.inner.rotate(oldToken, newToken, metadata)),
    );
  }

  async revokeFamily(family: string): Promise<void> {
    try {
      await this.inner.revokeFamily(family);
    } finally {
      this.wrote({ type: "family", family });
    }
  }

  async denyJwt(token: string, claims: JwtClaims): Promise<void> {
    return this.writing(token, "denyJwt", () => this.inner.denyJwt(token, claims));
  }

  /** The marked token's verdict goes at once: the backend says which hash the id named. */
  async revokeById(id: string): Promise<void> {
    let hash: string | undefined;
    try {
      hash = await this.inner.revokeByIdHash(id);
    } finally {
      if (hash === undefined) this.generation++;
      else this.wrote({ type: "token", hash });
    }
  }

  getById(id: string): Promise<StoredTokenMetadata> {
    return this.inner.getById(id);
  }

  inspect(token: string): Promise<TokenStatus> {
    return this.inner.inspect(token);
  }

  list(subject: string): Promise<StoredTokenMetadata[]> {
    return this.inner.list(subject);
  }

  isRevoked(token: string): Promise<boolean> {
    return this.inner.isRevoked(token);
  }

  cleanup(): Promise<{ removed: number }> {
    return this.inner.cleanup();
  }

  async close(): Promise<void> {
    this.verdicts.clear();
    await this.inner.close();
  }

  stats(): VerdictCacheStats {
    const age = this.now() - this.follower.syncSentAt;
    const tier = this.tier?.stats() ?? { sharedHits: 0, sharedMisses: 0, sharedRejected: 0, sharedFailures: 0 };
    return {
      ...this.counters,
      ...this.follower.counters,
      ...tier,
      lastSyncAgeMs: Number.isFinite(age) ? age : null,
      size: this.verdicts.size,
    };
  }

  /** A write through this cache: the token's cached verdict goes, whatever the outcome. */
  private async writing<T>(token: string, op: string, write: () => Promise<T>): Promise<T> {
    const hash = await this.inner.hashToken(token, op);
    try {
      return await write();
    } finally {
      this.wrote({ type: "token", hash });
    }
  }

  /**
   * After a write through this isolate: its verdicts for what changed go at once, no lookup sent
   * before it may cache its answer, and no shared entry that could predate it is taken until a
   * feed read sent after it has arrived and the bound has passed.
   */
  private wrote(event: ChangeEvent): void {
    this.generation++;
    this.verdicts.drop(event);
    if (this.tier === undefined) return;
    const now = this.now();
    this.forgetLocalWrites(now);
    // an isolate that writes much and syncs little: the oldest go, and a write naming everything,
    // as late as this one, stands for them as long as any of them would have
    if (this.localWrites.length >= LOCAL_WRITES_MAX) this.localWrites = [{ at: now, event: undefined }];
    this.localWrites.push({ at: now, event });
  }

  /** Local writes that a feed read sent after them has covered, and the bound has passed since. */
  private forgetLocalWrites(now: number): void {
    const syncSentAt = this.follower.syncSentAt;
    this.localWrites = this.localWrites.filter((w) => w.at >= syncSentAt || now - w.at < this.maxStalenessMs);
  }

  /** Takes a shared verdict (and, if a sync is due, the shared feed) when it proves it is within the bound. */
  private async fromTier(hash: string): Promise<void> {
    const tier = this.tier!;
    const generation = this.generation;
    const feedDue = this.now() - this.follower.syncSentAt >= this.follower.syncAfterMs;
    const [read, entry] = await Promise.all([feedDue ? tier.feed() : undefined, tier.verdict(hash)]);
    if (read !== undefined) this.follower.adopt(read);
    if (entry === undefined) return;
    const now = this.now();
    // read by another machine's clock: it counts as read clockSkewMs earlier
    const cached: Cached = { ...entry.cached, fetchedAt: entry.cached.fetchedAt - this.clockSkewMs };
    if (generation === this.generation && this.admissible(hash, cached, entry, now)) this.verdicts.set(hash, cached);
    else this.counters.sharedStale++;
  }

  /**
   * The adoption rules (docs/verdict-cache.md): not read after this clock's now; no write through this isolate that could postdate
   * the entry names it; a live or revoked verdict needs this isolate's feed to vouch for it (same
   * epoch, cursor at or past its position, no change applied since then names it). Unknown and
   * expired verdicts then age on their own, by `usable`, like this isolate's.
   */
  private admissible(hash: string, cached: Cached, entry: SharedVerdict, now: number): boolean {
    // read after this clock's now even so: that clock runs ahead further (it would never age)
    if (cached.fetchedAt > now) return false;
    this.forgetLocalWrites(now);
    for (const w of this.localWrites) if (w.event === undefined || names(w.event, hash, cached)) return false;
    if (cached.state === "live" || cached.state === "revoked")
      return this.follower.vouchesFor(hash, cached, entry.epoch, entry.position);
    return true;
  }

  /** One lookup that doubles as a sync; its verdict is cached (and shared) only if nothing newer was applied. */
  private async fetch(hash: string, hints: GetHints | undefined, lookup: Lookup): Promise<Cached> {
    const ticket = this.follower.ticket();
    const generation = this.generation;
    const read = lookup(this.follower.cursor).then((r) => {
      this.follower.apply(r.changes, ticket);
      return r;
    });
    // a full page leaves the rest of the backlog to read, in the background, a page at a time
    this.follower.share(
      read.then((r) => (r.changes.more ? this.follower.follow(hints) : undefined)),
      hints,
    );
    const { verdict, changes } = await read;
    const cached = new Cached(verdict, ticket.sentAt);
    const current = this.follower.cursor;
    if (
      generation === this.generation &&
      current?.epoch === changes.cursor.epoch &&
      current.seq === changes.cursor.seq
    ) {
      this.verdicts.set(hash, cached);
    }
    if (this.tier !== undefined && generation === this.generation) {
      const lasting = cached.state === "live" || cached.state === "revoked";
      const ttl = lasting ? SHARED_VERDICT_TTL_MS : this.maxStalenessMs;
      // started whether or not there is a waitUntil (an optional call would skip its argument)
      const put = this.tier.publishVerdict(
        hash,
        { epoch: changes.cursor.epoch, position: changes.cursor.seq, cached },
        ttl,
      );
      hints?.waitUntil?.(put);
      if (!changes.more) this.follower.publish(hints);
    }
    return cached;
  }

  /** Past the sync age (follower.syncAfterMs), one background feed read, single-flight, kept alive by waitUntil. */
  private syncInBackground(now: number, hints: GetHints | undefined): void {
    if (this.follower.inflight !== undefined || now - this.follower.syncSentAt < this.follower.syncAfterMs) return;
    this.follower.share(this.follower.follow(hints), hints);
  }
}
