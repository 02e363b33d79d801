import { ErrInvalidMetadata, ErrStoreUnavailable, NO_KEY, refusal, StorageError } from "../core/errors.js";
import {
  checkHash,
  resolveFeedConfig,
  verdictOf,
  type ChangeBatch,
  type FeedCursor,
  checkRecentLimit,
  type FeedStore,
  type RecentChange,
  type Verdict,
} from "../core/feed.js";
import { createHashers, fingerprint, tokenKeys, type Hashers } from "../core/hash.js";
import { MemoryFeed } from "./feed.js";
import { MinHeap } from "./heap.js";
import { Entry } from "./entry.js";
import { MemoryRevocations } from "./revocations.js";
import { MemoryAuditLog } from "./audit.js";
import { checkFamily, familyOption, INHERITED, reuseGrace, rotationMetadata } from "../core/families.js";
import { DEFAULT_AUDIT_RECORDS } from "../core/audit.js";
import {
  REFRESH_TYPES,
  type JwtClaims,
  type MemoryStoreConfig,
  type RevokeOptions,
  type StoredTokenMetadata,
  type TokenMetadata,
  type TokenStatus,
} from "../core/types.js";
import { resolveBaseConfig, wholeNumber } from "../core/config.js";
import { checkName } from "../core/inputs.js";
import { byIssuedAtThenId, normalizeClaims, normalizeMetadata, toMetadata, type TokenRecord } from "../core/records.js";

/**
 * The per-isolate backend. Every method hashes the token first (the only `await`), then reads
 * and writes its maps in one synchronous step, so interleaved calls cannot tear the indexes.
 *
 * Entries are replaced, never changed in place (but for `revokedAt` and `rotatedAt`), so the expiry heap can
 * hold stale entries: an entry is current only while `byHash` maps its hash to that very object.
 */
export class MemoryTokenStore implements FeedStore {
  private readonly byHash = new Map<string, Entry>();
  private readonly byId = new Map<string, Entry>();
  private readonly bySubject = new Map<string, Set<Entry>>();
  private readonly expiry = new MinHeap<Entry>((e) => e.expiresAt);
  /** Not readonly: test/support/memory.ts swaps it to test key rotation over the same data. */
  private hashers: Hashers;
  private readonly now: () => number;
  private readonly defaultTtl: number;
  private readonly cleanupBatchSize: number;
  private readonly maxTokenLifetime: number;
  private readonly reuseGraceMs: number;
  private readonly revocations: MemoryRevocations;
  /** Every write that can make a served verdict unsafe appends to it in the same synchronous step. */
  private readonly feed: MemoryFeed;
  /** Who wrote what through the admin API and OAuth. */
  readonly audit: MemoryAuditLog;
  private readonly lookupPageSize: number;
  private closed = false;

  /** Throws StorageError / ErrInvalidConfig naming a malformed setting. */
  constructor(config?: MemoryStoreConfig) {
    const base = resolveBaseConfig(config);
    this.hashers = createHashers(base);
    this.now = base.now;
    this.defaultTtl = base.defaultTtl;
    this.maxTokenLifetime = base.maxTokenLifetime;
    this.reuseGraceMs = reuseGrace(config?.reuseGraceMs, base.maxTokenLifetime);
    this.revocations = new MemoryRevocations(base.maxTokenLifetime);
    this.cleanupBatchSize = wholeNumber("cleanupBatchSize", config?.cleanupBatchSize, 10_000);
    const feed = resolveFeedConfig(config);
    this.feed = new MemoryFeed(feed);
    this.lookupPageSize = feed.lookupPageSize;
    this.audit = new MemoryAuditLog(wholeNumber("auditMaxRecords", config?.auditMaxRecords, DEFAULT_AUDIT_RECORDS));
  }

  async store(token: string, metadata: TokenMetadata): Promise<StoredTokenMetadata> {
    const [hash, key] = await this.lookupKey("store", token);
    const now = this.now();
    const rec = normalizeMetadata("store", key, metadata, now, this.defaultTtl, this.maxTokenLifetime);
    this.put("store", hash, key, rec, now);
    return toMetadata(rec);
  }

  async get(token: string): Promise<StoredTokenMetadata> {
    const [hash, key] = await this.lookupKey("get", token);
    return toMetadata(this.live("get", key, this.byHash.get(hash)));
  }

  async getById(id: string): Promise<StoredTokenMetadata> {
    checkName("getById", "id", id);
    this.assertOpen("getById", id);
    return toMetadata(this.live("getById", id, this.byId.get(id)));
  }

  async inspect(token: string): Promise<TokenStatus> {
    const [hash] = await this.lookupKey("inspect", token);
    const e = this.byHash.get(hash);
    if (e === undefined) return { state: "unknown" };
    const now = this.now();
    const metadata = toMetadata(e);
    if (now > e.expiresAt) return { state: "expired", metadata };
    if (e.revokedAt !== undefined)
      return { state: "revoked", metadata, revokedAt: new Date(e.revokedAt), revokedBy: "token" };
    const covered = this.revocations.coveredBy(e, now);
    if (covered !== undefined)
      return { state: "revoked", metadata, revokedAt: new Date(covered.at), revokedBy: covered.by };
    return { state: "live", metadata };
  }

  async delete(token: string): Promise<void> {
    const [hash, key] = await this.lookupKey("delete", token);
    this.unlink(this.existing("delete", key, this.byHash.get(hash)));
    this.feed.append({ type: "token", hash }, this.now());
  }

  async list(subject: string): Promise<StoredTokenMetadata[]> {
    checkName("list", "subject", subject);
    this.assertOpen("list", subject);
    const now = this.now();
    const live: Entry[] = [];
    for (const e of this.bySubject.get(subject) ?? []) {
      if (now <= e.expiresAt && e.revokedAt === undefined && !this.revocations.covers(e, now)) live.push(e);
    }
    return live.sort(byIssuedAtThenId).map(toMetadata);
  }

  async revoke(token: string, options?: RevokeOptions): Promise<void> {
    const [hash, key] = await this.lookupKey("revoke", token);
    const withFamily = familyOption("revoke", key, options);
    const entry = this.existing("revoke", key, this.byHash.get(hash));
    const clientId = options?.clientId;
    if (clientId !== undefined && entry.clientId !== undefined && entry.clientId !== clientId) {
      throw refusal("revoke", key, "client");
    }
    const now = this.now();
    if (entry.revokedAt === undefined) {
      entry.revokedAt = now;
      this.feed.append({ type: "token", hash }, now);
    }
    const family = entry.family;
    if (family === undefined || withFamily === false) return;
    if (withFamily === "refresh" && (entry.type === undefined || !REFRESH_TYPES.includes(entry.type))) return;
    this.revokeFamilyNow(family, now);
  }

  async revokeById(id: string): Promise<void> {
    await this.revokeByIdHash(id);
  }

  async revokeByIdHash(id: string): Promise<string> {
    checkName("revokeById", "id", id);
    this.assertOpen("revokeById", id);
    const entry = this.existing("revokeById", id, this.byId.get(id));
    if (entry.revokedAt === undefined) {
      entry.revokedAt = this.now();
      this.feed.append({ type: "token", hash: entry.hash }, entry.revokedAt);
    }
    return entry.hash;
  }

  async revokeSubject(subject: string): Promise<{ revoked: number }> {
    checkName("revokeSubject", "subject", subject);
    this.assertOpen("revokeSubject", subject);
    const now = this.now();
    // the cutoff refuses every token issued at or before it, and no record is touched; it is
    // never earlier than a token already stored, whatever clock stored it (as on Redis)
    let cut = now;
    let revoked = 0;
    for (const e of this.bySubject.get(subject) ?? []) {
      cut = Math.max(cut, e.coveredFrom);
      if (now <= e.expiresAt) revoked++;
    }
    this.revocations.cutSubject(subject, cut);
    this.feed.append({ type: "subject", subject }, now);
    return { revoked };
  }

  async isRevoked(token: string): Promise<boolean> {
    const [hash, key] = await this.lookupKey("isRevoked", token);
    const e = this.existing("isRevoked", key, this.byHash.get(hash));
    return e.revokedAt !== undefined || this.revocations.covers(e, this.now());
  }

  async checkJwt(token: string, claims: JwtClaims): Promise<StoredTokenMetadata> {
    const [hash, key] = await this.lookupKey("checkJwt", token);
    const rec = normalizeClaims("checkJwt", key, claims, this.maxTokenLifetime);
    if (this.jwtRevoked(hash, rec)) throw refusal("checkJwt", key, "revoked");
    return toMetadata(rec);
  }

  async denyJwt(token: string, claims: JwtClaims): Promise<void> {
    const [hash, key] = await this.lookupKey("denyJwt", token);
    const rec = normalizeClaims("denyJwt", key, claims, this.maxTokenLifetime);
    const now = this.now();
    this.revocations.deny(hash, rec.expiresAt);
    const stored = this.byHash.get(hash);
    if (stored !== undefined) stored.revokedAt ??= now;
    this.feed.append({ type: "token", hash }, now);
  }

  async revokeKey(keyId: string): Promise<void> {
    checkName("revokeKey", "keyId", keyId);
    this.assertOpen("revokeKey", keyId);
    const now = this.now();
    this.revocations.revokeKey(keyId, now);
    this.feed.append({ type: "key", keyId }, now);
  }

  async rotate(oldToken: string, newToken: string, metadata: TokenMetadata): Promise<StoredTokenMetadata> {
    const [[oldHash, oldKey, oldPrevious], [newHash, newKey, newPrevious]] = await Promise.all([
      tokenKeys("rotate", oldToken, this.hashers),
      tokenKeys("rotate", newToken, this.hashers),
    ]);
    this.assertOpen("rotate", oldKey);
    if (oldHash === newHash)
      throw new StorageError("rotate", newKey, ErrInvalidMetadata, "newToken must differ from oldToken");
    const now = this.now();
    const given = rotationMetadata(metadata);
    const rec = normalizeMetadata("rotate", newKey, given.metadata, now, this.defaultTtl, this.maxTokenLifetime);
    this.adopt(oldHash, oldPrevious);
    this.adopt(newHash, newPrevious);
    const old = this.existing("rotate", oldKey, this.byHash.get(oldHash));
    if (now > old.expiresAt) throw refusal("rotate", oldKey, "expired");
    if (old.rotatedAt !== undefined) {
      // a retry within the grace is refused and changes nothing; any later use is a reuse
      // both ways: a retry from a writer whose clock runs behind is a retry, not a reuse
      if (Math.abs(now - old.rotatedAt) < this.reuseGraceMs) throw refusal("rotate", oldKey, "rotated");
      this.revokeFamilyNow(old.family!, now);
      throw refusal("rotate", oldKey, "reused");
    }
    if (old.revokedAt !== undefined) throw refusal("rotate", oldKey, "revoked");
    if (this.revocations.covers(old, now)) throw refusal("rotate", oldKey, "covered");
    if (old.family === undefined) throw refusal("rotate", oldKey, "no_family");
    for (const name of INHERITED) {
      if (given.inherited[name] !== undefined && given.inherited[name] !== old[name])
        throw new StorageError("rotate", newKey, ErrInvalidMetadata, `${name} must be the old token's`);
    }
    rec.subject = old.subject;
    rec.family = old.family;
    if (old.clientId === undefined) delete rec.clientId;
    else rec.clientId = old.clientId;
    this.put("rotate", newHash, newKey, rec, now);
    old.revokedAt = now;
    old.rotatedAt = now;
    this.feed.append({ type: "token", hash: oldHash }, now);
    return toMetadata(rec);
  }

  async revokeFamily(family: string): Promise<void> {
    checkFamily("revokeFamily", family);
    this.assertOpen("revokeFamily", family);
    this.revokeFamilyNow(family, this.now());
  }

  async lookupJwt(
    hash: string,
    claims: JwtClaims,
    since?: FeedCursor,
    previous: readonly string[] = [],
  ): Promise<{ verdict: Verdict; changes: ChangeBatch }> {
    for (const h of [hash, ...previous]) checkHash("lookupJwt", h);
    const rec = normalizeClaims("lookupJwt", fingerprint(hash), claims, this.maxTokenLifetime);
    this.assertOpen("lookupJwt", NO_KEY);
    this.adopt(hash, previous);
    const verdict: Verdict = this.jwtRevoked(hash, rec)
      ? { state: "revoked", expiresAt: rec.expiresAt }
      : { state: "live", metadata: toMetadata(rec) };
    return { verdict, changes: this.feed.read(since, this.lookupPageSize) };
  }

  async hashToken(token: string, op = "get"): Promise<string> {
    return (await this.tokenHashes(token, op)).hash;
  }

  async tokenHashes(token: string, op = "get"): Promise<{ hash: string; previous: string[] }> {
    const [hash, , previous] = await tokenKeys(op, token, this.hashers);
    return { hash, previous };
  }

  async lookup(
    hash: string,
    since?: FeedCursor,
    previous: readonly string[] = [],
  ): Promise<{ verdict: Verdict; changes: ChangeBatch }> {
    for (const h of [hash, ...previous]) checkHash("lookup", h);
    this.assertOpen("lookup", NO_KEY);
    this.adopt(hash, previous);
    const rec = this.byHash.get(hash);
    const now = this.now();
    return {
      verdict: verdictOf(rec, now, rec !== undefined && this.revocations.covers(rec, now)),
      changes: this.feed.read(since, this.lookupPageSize),
    };
  }

  async changes(since?: FeedCursor): Promise<ChangeBatch> {
    this.assertOpen("changes", NO_KEY);
    return this.feed.read(since);
  }

  async recentChanges(limit: number): Promise<RecentChange[]> {
    checkRecentLimit(limit);
    this.assertOpen("recentChanges", NO_KEY);
    return this.feed.recent(limit);
  }

  /** Pops due entries off the expiry heap: cost grows with the expired count, not the store's size. */
  async cleanup(): Promise<{ removed: number }> {
    this.assertOpen("cleanup", NO_KEY);
    this.revocations.sweep(this.now());
    let removed = 0;
    for (;;) {
      const now = this.now();
      let seen = 0;
      for (let top = this.expiry.peek(); top !== undefined && now > top.expiresAt; top = this.expiry.peek()) {
        this.expiry.pop();
        if (this.byHash.get(top.hash) === top) {
          this.unlink(top);
          removed++;
        }
        if (++seen === this.cleanupBatchSize) break;
      }
      if (seen < this.cleanupBatchSize || this.closed) return { removed };
      // let other work run between batches; each batch above is complete on its own
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.byHash.clear();
    this.byId.clear();
    this.bySubject.clear();
    this.expiry.clear();
    this.revocations.clear();
  }

  /** A family revocation: its mark (kept for maxTokenLifetime from now) and one feed change. */
  private revokeFamilyNow(family: string, now: number): void {
    this.revocations.revokeFamily(family, now);
    this.feed.append({ type: "family", family }, now);
  }

  /** Hashes the token, and moves it (in the same synchronous step) if a previous pepper stored it. */
  private async lookupKey(op: string, token: string): Promise<[hash: string, key: string]> {
    const [hash, key, previous] = await tokenKeys(op, token, this.hashers);
    this.assertOpen(op, key);
    this.adopt(hash, previous);
    return [hash, key];
  }

  /** Key rotation: a token (or deny-listed JWT) kept under a previous pepper's hash moves to `hash`. */
  private adopt(hash: string, previous: readonly string[]): void {
    if (previous.length === 0) return;
    this.revocations.adoptDenied(hash, previous);
    if (this.byHash.has(hash)) return;
    for (const old of previous) {
      const e = this.byHash.get(old);
      if (e === undefined) continue;
      this.unlink(e);
      const moved = new Entry(hash, e);
      moved.revokedAt = e.revokedAt;
      moved.rotatedAt = e.rotatedAt;
      this.link(moved);
      return;
    }
  }

  private assertOpen(op: string, key: string): void {
    if (this.closed) throw new StorageError(op, key, ErrStoreUnavailable, "the store is closed");
  }

  private existing(op: string, key: string, entry: Entry | undefined): Entry {
    if (entry === undefined) throw refusal(op, key, "not_found");
    return entry;
  }

  /** get's order of checks: unknown, then expired, then revoked. */
  private live(op: string, key: string, entry: Entry | undefined): Entry {
    const e = this.existing(op, key, entry);
    if (this.now() > e.expiresAt) throw refusal(op, key, "expired");
    if (e.revokedAt !== undefined) throw refusal(op, key, "revoked");
    if (this.revocations.covers(e, this.now())) throw refusal(op, key, "covered");
    return e;
  }

  /** A verified JWT is refused when deny-listed, stored and revoked, or covered by a cutoff or a key or family revocation. */
  private jwtRevoked(hash: string, rec: TokenRecord): boolean {
    const now = this.now();
    return (
      this.revocations.isDenied(hash, now) ||
      this.byHash.get(hash)?.revokedAt !== undefined ||
      this.revocations.covers(rec, now)
    );
  }

  /**
   * Stores `rec` under `hash` as `store` does, or throws: a revoked token stays revoked (marked one
   * by one, or covered by a cutoff or a key or family revocation), and an id held by another
   * unexpired token is a conflict.
   */
  private put(op: string, hash: string, key: string, rec: TokenRecord, now: number): void {
    const prev = this.byHash.get(hash);
    if (prev !== undefined && (prev.revokedAt !== undefined || this.revocations.covers(prev, now))) {
      throw refusal(op, key, "stays_revoked");
    }
    const entry = new Entry(hash, rec, now);
    if (this.revocations.covers(entry, now)) throw refusal(op, key, "covered");
    const holder = this.byId.get(rec.id);
    if (holder !== undefined && holder !== prev && now <= holder.expiresAt) {
      throw refusal(op, key, "conflict");
    }
    if (prev !== undefined) this.unlink(prev);
    this.link(entry);
    // a new token cannot make a cached verdict unsafe (an unknown verdict ages out by itself);
    // replacing a record can, so only that goes to the feed
    if (prev !== undefined) this.feed.append({ type: "token", hash }, now);
  }

  private link(entry: Entry): void {
    this.byHash.set(entry.hash, entry);
    this.byId.set(entry.id, entry);
    let set = this.bySubject.get(entry.subject);
    if (set === undefined) this.bySubject.set(entry.subject, (set = new Set()));
    set.add(entry);
    this.expiry.push(entry);
    // drop stale heap entries once they outnumber live ones, so updates and deletes cannot grow it
    if (this.expiry.size > 2 * this.byHash.size + 1024) this.expiry.rebuild([...this.byHash.values()]);
  }

  private unlink(entry: Entry): void {
    if (this.byHash.get(entry.hash) === entry) this.byHash.delete(entry.hash);
    if (this.byId.get(entry.id) === entry) this.byId.delete(entry.id);
    const set = this.bySubject.get(entry.subject);
    if (set?.delete(entry) && set.size === 0) this.bySubject.delete(entry.subject);
  }
}
