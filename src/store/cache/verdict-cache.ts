import { answer, Cached } from "./entry.js";
import type { ChangeBatch, ChangeEvent, FeedCursor, FeedStore, Verdict } from "../core/feed.js";
import type {
  GetHints,
  JwtClaims,
  RevokeOptions,
  StoredTokenMetadata,
  TokenStatus,
  TokenMetadata,
  TokenStore,
} from "../core/types.js";
import { wholeNumber } from "../core/validate.js";
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
   * Most verdicts kept; the least recently used goes first.
   * @default 10_000
   */
  maxEntries?: number;
  /** The clock, in epoch milliseconds. @default Date.now */
  now?: () => number;
}

/** This isolate's counters (each isolate has its own cache). */
export interface VerdictCacheStats {
  checked: number;
  hits: number;
  misses: number;
  syncs: number;
  syncFailures: number;
  resets: number;
  /** Extra feed reads (round trips) spent reading a backlog of more than a page instead of resetting. */
  catchUpPages: number;
  /** Milliseconds since the last successful feed read was sent; null before the first. */
  lastSyncAgeMs: number | null;
  size: number;
}

type Lookup = (since: FeedCursor | undefined) => Promise<{ verdict: Verdict; changes: ChangeBatch }>;

/** A waiter gives up on a shared sync after this long and asks the store itself. */
const SHARED_SYNC_WAIT_MS = 5_000;

/**
 * Wraps a store with a per-isolate verdict cache. The promise it keeps: a cached live verdict
 * is served only while now − syncSentAt < maxStalenessMs, where syncSentAt is when the last
 * feed read that reached the feed's head (a sync, or a miss lookup, which carries the feed) was
 * *sent*. So a change acknowledged at time T is seen by every request that starts after
 * T + maxStalenessMs. A revoked verdict is served until a feed event or a reset drops it (or its
 * token expires); unknown and expired verdicts age on their own, since issuing a token is not
 * in the feed.
 */
export function withVerdictCache(store: FeedStore, options: VerdictCacheOptions = {}): VerdictCache {
  return new VerdictCache(store, options);
}

export class VerdictCache implements TokenStore {
  readonly maxStalenessMs: number;
  readonly maxEntries: number;
  /** `get` straight from the store (one round trip), writes through this cache: for the admin API and OAuth. */
  readonly authoritative: TokenStore;
  private readonly now: () => number;
  private readonly verdicts = new Map<string, Cached>();
  private cursor: FeedCursor | undefined;
  private syncSentAt = Number.NEGATIVE_INFINITY;
  /** Feed reads numbered in the order they are sent, and the number of the one that last moved the cursor. */
  private reads = 0;
  /** The catch-up in progress (follow), if any. */
  private following: Promise<void> | undefined;
  private cursorRead = 0;
  /** The one feed read in flight (a sync, or a miss lookup), shared by every request. */
  private inflight: Promise<unknown> | undefined;
  /** Bumped by every local write: a lookup sent before one must not cache its verdict. */
  private generation = 0;
  private readonly counters = {
    checked: 0,
    hits: 0,
    misses: 0,
    syncs: 0,
    syncFailures: 0,
    resets: 0,
    catchUpPages: 0,
  };

  constructor(
    private readonly inner: FeedStore,
    options: VerdictCacheOptions = {},
  ) {
    this.maxStalenessMs = wholeNumber("maxStalenessMs", options.maxStalenessMs, 1000);
    this.maxEntries = wholeNumber("maxEntries", options.maxEntries, 10_000);
    this.now = options.now ?? (() => Date.now());
    // this cache itself, but for the two reads, which go straight to the store: every write
    // still drops this isolate's cached verdicts, and a method added later is covered as is
    this.authoritative = new Proxy(this, {
      get(cache, name) {
        if (name === "get") return (token: string) => inner.get(token);
        if (name === "checkJwt") return (token: string, claims: JwtClaims) => inner.checkJwt(token, claims);
        const value: unknown = Reflect.get(cache, name, cache);
        return typeof value === "function" ? value.bind(cache) : value;
      },
    });
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
    for (;;) {
      const now = this.now();
      const cached = this.verdicts.get(hash);
      if (cached !== undefined) {
        if (this.usable(cached, now)) {
          this.counters.hits++;
          hints?.onCache?.("hit");
          this.verdicts.delete(hash); // most recently used goes last
          this.verdicts.set(hash, cached);
          if (now - this.syncSentAt < this.maxStalenessMs) this.syncInBackground(now, hints);
          return answer(op, hash, cached, now);
        }
        // a stale live verdict: wait once for the read already in flight, then look again
        if (cached.state === "live" && this.inflight !== undefined && !waited) {
          waited = true;
          await waitAtMost(this.inflight, SHARED_SYNC_WAIT_MS);
          continue;
        }
      }
      this.counters.misses++;
      hints?.onCache?.("miss");
      return answer(op, hash, await this.fetch(hash, hints, lookup), this.now());
    }
  }

  async store(token: string, metadata: TokenMetadata): Promise<StoredTokenMetadata> {
    return this.writing(token, "store", () => this.inner.store(token, metadata));
  }

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
      this.generation++;
      this.drop({ type: "subject", subject });
    }
  }

  async revokeKey(keyId: string): Promise<void> {
    try {
      await this.inner.revokeKey(keyId);
    } finally {
      this.generation++;
      this.drop({ type: "key", keyId });
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
      this.generation++;
      if (hash !== undefined) this.verdicts.delete(hash);
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
    const age = this.now() - this.syncSentAt;
    return { ...this.counters, lastSyncAgeMs: Number.isFinite(age) ? age : null, size: this.verdicts.size };
  }

  /**
   * Whether a cached verdict may answer at `now` without a round trip. A live one: while the
   * last complete feed read is younger than the bound. A revoked one that has not expired: until
   * a feed event for it (only a delete can lift it). Unknown and expired ones: while the read
   * that answered them is younger than the bound, because issuing a token appends nothing to
   * the feed (and an expired token's record may be cleaned up and the token issued again).
   */
  private usable(c: Cached, now: number): boolean {
    if (c.state === "live") return now - this.syncSentAt < this.maxStalenessMs;
    if (c.state === "revoked" && now <= c.expiresAt) return true;
    return now - c.fetchedAt < this.maxStalenessMs;
  }

  /** A write through this cache: the token's cached verdict goes, whatever the outcome. */
  private async writing<T>(token: string, op: string, write: () => Promise<T>): Promise<T> {
    const hash = await this.inner.hashToken(token, op);
    try {
      return await write();
    } finally {
      this.generation++;
      this.verdicts.delete(hash);
    }
  }

  /** One lookup that doubles as a sync; its verdict is cached only if nothing newer was applied. */
  private async fetch(hash: string, hints: GetHints | undefined, lookup: Lookup): Promise<Cached> {
    const sentAt = this.now();
    const readNo = ++this.reads;
    const generation = this.generation;
    const read = lookup(this.cursor).then((r) => {
      this.apply(r.changes, sentAt, readNo);
      return r;
    });
    // a full page leaves the rest of the backlog to read, in the background, a page at a time
    this.share(
      read.then((r) => (r.changes.more ? this.follow() : undefined)),
      hints,
      false,
    );
    const { verdict, changes } = await read;
    const cached = new Cached(verdict, sentAt);
    const current = this.cursor;
    if (
      generation === this.generation &&
      current?.epoch === changes.cursor.epoch &&
      current.seq === changes.cursor.seq
    ) {
      this.verdicts.set(hash, cached);
      if (this.verdicts.size > this.maxEntries) this.verdicts.delete(this.verdicts.keys().next().value!);
    }
    return cached;
  }

  /** Past half the bound, one background feed read, single-flight, kept alive by waitUntil. */
  private syncInBackground(now: number, hints: GetHints | undefined): void {
    if (this.inflight !== undefined || now - this.syncSentAt < this.maxStalenessMs / 2) return;
    this.share(this.follow(), hints, true);
  }

  /**
   * Reads the feed until caught up: a reader behind by more than a page reads the backlog a
   * page (one round trip) at a time instead of resetting, as long as the feed still holds it.
   */
  private follow(): Promise<void> {
    // one reader of the backlog at a time: a second would download the same pages again
    this.following ??= this.readBacklog().finally(() => (this.following = undefined));
    return this.following;
  }

  private async readBacklog(): Promise<void> {
    for (;;) {
      const sentAt = this.now();
      const readNo = ++this.reads;
      const batch = await this.inner.changes(this.cursor);
      this.apply(batch, sentAt, readNo);
      if (!batch.more) return;
      this.counters.catchUpPages++;
    }
  }

  /** Makes a feed read the shared in-flight one (unless one is), keeps it alive, and counts it. */
  private share(read: Promise<unknown>, hints: GetHints | undefined, sync: boolean): void {
    if (sync) this.counters.syncs++;
    const settled = read.then(
      () => undefined,
      () => void this.counters.syncFailures++,
    );
    hints?.waitUntil?.(settled);
    if (this.inflight !== undefined) return;
    this.inflight = settled;
    void settled.then(() => {
      if (this.inflight === settled) this.inflight = undefined;
    });
  }

  /**
   * Applies a feed read sent at `sentAt`: drops what changed, or every live verdict on a reset.
   * Only a read that reached the feed's head (`more: false`) makes live verdicts fresh.
   */
  private apply(batch: ChangeBatch, sentAt: number, readNo: number): void {
    const current = this.cursor;
    if (batch.reset || current === undefined || current.epoch !== batch.cursor.epoch) {
      // an answer sent before the read that set the cursor cannot move it (back) to another
      // epoch or reset it: that newer read already saw what this one saw
      if (current !== undefined && readNo < this.cursorRead) return;
      if (batch.reset) this.counters.resets++;
      // a reset may hide any event: a revocation (live verdicts go) or a delete that lifted a
      // revocation (revoked ones go too); unknown and expired verdicts age on their own
      for (const [hash, v] of this.verdicts)
        if (v.state === "live" || v.state === "revoked") this.verdicts.delete(hash);
      this.moveCursor(batch.cursor, readNo);
    } else {
      for (const event of batch.events) this.drop(event);
      if (batch.cursor.seq > current.seq) this.moveCursor(batch.cursor, readNo);
    }
    if (!batch.more && sentAt > this.syncSentAt) this.syncSentAt = sentAt;
  }

  private moveCursor(cursor: FeedCursor, readNo: number): void {
    this.cursor = cursor;
    this.cursorRead = Math.max(this.cursorRead, readNo);
  }

  /** A subject cutoff or a key revocation reaches every live verdict of that subject or key. */
  private drop(event: ChangeEvent): void {
    if (event.type === "token") this.verdicts.delete(event.hash);
    else {
      for (const [hash, v] of this.verdicts) {
        if (v.state === "live" && (event.type === "subject" ? v.subject === event.subject : v.keyId === event.keyId))
          this.verdicts.delete(hash);
      }
    }
  }
}
