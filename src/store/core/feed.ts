import { ErrInvalidMetadata, NO_KEY, StorageError } from "./errors.js";
import type { FeedConfig, JwtClaims, StoredTokenMetadata, TokenStore } from "./types.js";
import { wholeNumber } from "./config.js";
import { checkPageLimit } from "./inputs.js";
import { toMetadata, type TokenRecord } from "./records.js";

/**
 * A position in a store's change feed. `epoch` names one life of the feed: when it changes
 * (the feed was lost and began again) a reader's sequence means nothing any more.
 */
export interface FeedCursor {
  readonly epoch: string;
  readonly seq: number;
}

/** One change that may alter a cached verdict. It never holds a raw token. */
export type ChangeEvent =
  | { type: "token"; hash: string }
  | { type: "subject"; subject: string }
  | { type: "key"; keyId: string }
  | { type: "family"; family: string };

/** A change as the admin console lists it: its sequence number, when it was written (ms), what. */
export interface RecentChange {
  seq: number;
  at: number;
  event: ChangeEvent;
}

/** The most changes `recentChanges` answers. */
export const RECENT_CHANGES_MAX = 1000;

/**
 * What a feed read answers. `reset` means the reader cannot know what it missed (no cursor
 * yet, another epoch, or trimmed past its cursor): it must drop every verdict that the feed
 * could have changed, then continue from `cursor`. `more` means a page was full: `cursor`
 * is the last event returned, and the reader is caught up only once a read answers
 * `more: false`.
 */
export interface ChangeBatch {
  cursor: FeedCursor;
  reset: boolean;
  more: boolean;
  events: ChangeEvent[];
}

/** What `get` would answer for a token, as data: the verdict cache keeps these. */
export type Verdict =
  | { state: "live"; metadata: StoredTokenMetadata }
  | { state: "revoked" | "expired"; expiresAt: number }
  | { state: "unknown" };

/** A store that keeps a change feed: both backends. The verdict cache needs these three. */
export interface FeedStore extends TokenStore {
  /** The hash this store keys `token` by (the feed names tokens by it). Checks the token like `get`. */
  hashToken(token: string, op?: string): Promise<string>;
  /** That hash, and the token's hashes under the previous peppers (key rotation), newest first. */
  tokenHashes(token: string, op?: string): Promise<{ hash: string; previous: string[] }>;
  /**
   * The verdict for a token hash and the feed's changes since `since`, in one round trip. With
   * `previous` hashes, a token stored under one of them is found and moved to `hash` first.
   */
  lookup(
    hash: string,
    since?: FeedCursor,
    previous?: readonly string[],
  ): Promise<{ verdict: Verdict; changes: ChangeBatch }>;
  /** `checkJwt`'s verdict for a JWT's hash and claims, and the feed since `since`, in one round trip. */
  lookupJwt(
    hash: string,
    claims: JwtClaims,
    since?: FeedCursor,
    previous?: readonly string[],
  ): Promise<{ verdict: Verdict; changes: ChangeBatch }>;
  /** The feed's changes since `since`, in one round trip. */
  changes(since?: FeedCursor): Promise<ChangeBatch>;
  /** `revokeById`, resolving the hash of the token it marked (the verdict cache drops that verdict). */
  revokeByIdHash(id: string): Promise<string>;
  /** The feed's newest changes, newest first: at most `limit` (1 to RECENT_CHANGES_MAX), one round trip. */
  recentChanges(limit: number): Promise<RecentChange[]>;
}

/**
 * The most changes a lookup (a cache miss, on a request's path) carries: a reader far behind
 * gets the rest from its background sync, instead of every concurrent miss downloading the
 * same large page.
 */
export const LOOKUP_PAGE_SIZE = 100;

export interface ResolvedFeedConfig {
  readonly retentionMs: number;
  readonly maxLength: number;
  readonly pageSize: number;
  /** min(pageSize, LOOKUP_PAGE_SIZE) */
  readonly lookupPageSize: number;
}

export function resolveFeedConfig(config: FeedConfig | undefined): ResolvedFeedConfig {
  const pageSize = wholeNumber("feedPageSize", config?.feedPageSize, 1_000);
  return {
    retentionMs: wholeNumber("feedRetentionMs", config?.feedRetentionMs, 60_000),
    maxLength: wholeNumber("feedMaxLength", config?.feedMaxLength, 100_000),
    pageSize,
    lookupPageSize: Math.min(pageSize, LOOKUP_PAGE_SIZE),
  };
}

/**
 * get's order of checks, as a verdict: unknown, then expired, then revoked (marked, or
 * `covered` by a subject cutoff or a key or family revocation), else live.
 */
export function verdictOf(rec: TokenRecord | undefined, now: number, covered = false): Verdict {
  if (rec === undefined) return { state: "unknown" };
  if (now > rec.expiresAt) return { state: "expired", expiresAt: rec.expiresAt };
  if (rec.revokedAt !== undefined || covered) return { state: "revoked", expiresAt: rec.expiresAt };
  return { state: "live", metadata: toMetadata(rec) };
}

const HASH = /^[0-9a-f]{64}$/;

/** A token hash as the stores make it (64 hex digits); anything else is ErrInvalidMetadata. */
export function checkHash(op: string, hash: unknown): asserts hash is string {
  if (typeof hash !== "string" || !HASH.test(hash))
    throw new StorageError(op, NO_KEY, ErrInvalidMetadata, "hash must be 64 lowercase hex digits");
}

/** A `recentChanges` limit: a whole number from 1 to RECENT_CHANGES_MAX, else ErrInvalidMetadata. */
export function checkRecentLimit(limit: unknown): asserts limit is number {
  checkPageLimit("recentChanges", limit, RECENT_CHANGES_MAX);
}

/** A cursor handed back by a caller; a malformed one reads as no cursor (so: reset). */
export function validCursor(since: FeedCursor | undefined): FeedCursor | undefined {
  if (since === undefined || since === null || typeof since !== "object") return undefined;
  return typeof since.epoch === "string" && Number.isSafeInteger(since.seq) && since.seq >= 0 ? since : undefined;
}
