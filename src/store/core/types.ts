/** What the store keeps about one token. The raw token itself is never kept. */
export interface TokenMetadata {
  /** Unique token id (e.g. a JWT `jti`); at most {@link LIMITS.id} characters. */
  id: string;
  /** Whom the token was issued to; at most {@link LIMITS.subject} characters. */
  subject: string;
  issuer?: string;
  /** @default now (the store's clock) */
  issuedAt?: Date;
  /** @default now + `defaultTtl` */
  expiresAt?: Date;
  keyId?: string;
  type?: string;
  status?: string;
  /**
   * The OAuth client the token was issued to. When set, only that client may revoke it
   * through `revoke(token, { clientId })` (RFC 7009 §2.1).
   */
  clientId?: string;
  /**
   * The token's family: the grant it was issued from (an OAuth grant, a session). Refresh
   * tokens rotated from one another and the access tokens minted from them share it, and
   * `revokeFamily` refuses them all. Same rules as `subject`.
   */
  family?: string;
}

/**
 * The new token's metadata in `rotate`: its subject, family and clientId are the old token's,
 * so they may be left out; when given they must equal the old token's.
 */
export type RotationMetadata = Omit<TokenMetadata, "subject"> & { subject?: string };

/** Metadata as the store returns it: both dates are always set. */
export type StoredTokenMetadata = TokenMetadata & { issuedAt: Date; expiresAt: Date };

/**
 * What `inspect` answers: `get`'s verdict as data, for an operator. A revoked token says when
 * and by what: its own mark (a rotated token's too), its subject's cutoff (the latest
 * `revokeSubject`, whose time is the cutoff), its signing key's revocation or its family's. Expired comes before revoked, as in `get`.
 */
export type TokenStatus =
  | { state: "unknown" }
  | { state: "live" | "expired"; metadata: StoredTokenMetadata }
  | {
      state: "revoked";
      metadata: StoredTokenMetadata;
      revokedAt: Date;
      revokedBy: "token" | "subject" | "key" | "family";
    };

/**
 * The claims of a JWT whose signature and times were already verified (see the guard's JWT
 * verifier). The store never sees a JWT it has not been told is valid.
 */
export interface JwtClaims {
  /** `sub` */
  subject: string;
  /** `iat` */
  issuedAt: Date;
  /** `exp` */
  expiresAt: Date;
  /** `kid` of the key that signed it */
  keyId?: string;
  /** `jti` */
  id?: string;
  /** `iss` */
  issuer?: string;
  /** The family claim (`sid` unless the verifier is told another): see TokenMetadata.family. */
  family?: string;
}

export interface RevokeOptions {
  /** The client asking (OAuth); absent for the admin API, which may revoke any token. */
  clientId?: string;
  /**
   * Also revoke the token's family (RFC 7009 §2.1: revoking a refresh token invalidates the
   * access tokens of its grant), in the same round trip: `true` whenever the token has a
   * family; "refresh" only when its stored `type` is a refresh token's ({@link REFRESH_TYPES}).
   * @default false
   */
  family?: boolean | "refresh";
}

/** The stored `type`s that make a token a refresh token for `revoke(token, { family: "refresh" })`. */
export const REFRESH_TYPES: readonly string[] = ["refresh_token", "refresh"];

/** Optional help a caller can give `get`; backends ignore it, the verdict cache uses it. */
export interface GetHints {
  /** Keeps background work (a cache sync) alive after the response: pass `ctx.waitUntil`. */
  waitUntil?(promise: Promise<unknown>): void;
  /** Told whether a verdict cache answered this check from memory ("hit") or asked the store ("miss"). */
  onCache?(use: "hit" | "miss"): void;
}

export interface TokenStore {
  /**
   * Stores a token, or updates it if it is already stored. A revoked token stays revoked.
   * Resolves the metadata as stored (defaults filled in), so a caller needs no second read.
   */
  store(token: string, metadata: TokenMetadata): Promise<StoredTokenMetadata>;
  /** The live token's metadata; rejects with ErrTokenNotFound, ErrTokenExpired or ErrTokenRevoked. */
  get(token: string, hints?: GetHints): Promise<StoredTokenMetadata>;
  getById(id: string): Promise<StoredTokenMetadata>;
  /** The token's state, whatever it is (never rejected for being unknown, expired or revoked). */
  inspect(token: string): Promise<TokenStatus>;
  /** Removes the token, its id and subject index entries and its revocation mark. */
  delete(token: string): Promise<void>;
  /** The subject's live tokens (neither expired nor revoked), by `issuedAt` then `id`. */
  list(subject: string): Promise<StoredTokenMetadata[]>;
  /**
   * Marks the token revoked. Idempotent. With `clientId`, a token issued to another client
   * (its `clientId` set and different) is refused with ErrClientMismatch and left live.
   */
  revoke(token: string, options?: RevokeOptions): Promise<void>;
  /**
   * `revoke` for a caller that holds the token's id but not the token (the admin console's
   * subject list). Idempotent; rejects with ErrTokenNotFound when no stored token has the id.
   */
  revokeById(id: string): Promise<void>;
  isRevoked(token: string): Promise<boolean>;
  /**
   * Revokes every token of `subject` ("log out everywhere") by recording a cutoff: every token
   * of the subject issued at or before now is refused, stored or not (a JWT too), for
   * `maxTokenLifetime`. Constant cost: no token record is touched, every read applies the
   * cutoff. Resolves how many unexpired stored tokens of the subject the cutoff reaches (those
   * revoked one by one before count too, and so does a second call); an unknown subject gives 0.
   */
  revokeSubject(subject: string): Promise<{ revoked: number }>;
  /**
   * The revocation check of a verified JWT, stored or not, in one round trip: resolves its
   * claims as metadata (`type: "jwt"`), or rejects with ErrTokenRevoked when its hash is
   * deny-listed (or stored and revoked), its subject has a cutoff at or after its `iat`, its
   * `kid` is revoked, or its family is.
   */
  checkJwt(token: string, claims: JwtClaims, hints?: GetHints): Promise<StoredTokenMetadata>;
  /** Deny-lists a verified JWT until its expiry (and marks it revoked if it is stored). Idempotent. */
  denyJwt(token: string, claims: JwtClaims): Promise<void>;
  /**
   * Refuses every token whose `keyId` (a JWT's `kid`) is `keyId`, stored or not, for
   * `maxTokenLifetime`: longer than any token it can affect lives. Idempotent.
   */
  revokeKey(keyId: string): Promise<void>;
  /**
   * Refresh-token rotation (RFC 9700 §4.14.2), in one atomic round trip. When `oldToken` is
   * live and not yet rotated, it is retired (refused from then on, as revoked) and `newToken`
   * stored with `metadata` in the old token's subject, family and client (given values must
   * match them). Resolves the new token's metadata as stored. When `oldToken` was already
   * rotated, that is a reuse: its whole family is revoked, the newer tokens included, and the
   * call rejects with ErrTokenReused; within `reuseGraceMs` of its rotation it rejects with
   * ErrTokenRotated instead and revokes nothing. An unknown, expired or revoked old token
   * rejects as `get` does; one without a family with ErrInvalidMetadata.
   */
  rotate(oldToken: string, newToken: string, metadata: RotationMetadata): Promise<StoredTokenMetadata>;
  /**
   * Revokes every token of `family`, opaque or JWT, stored or not, whatever its issue time, for
   * `maxTokenLifetime` and a margin for clocks (memory: DENY_GRACE_MS; Redis: retentionGrace).
   * Constant cost: a mark and one feed change. Idempotent; a second call renews the mark.
   */
  revokeFamily(family: string): Promise<void>;
  /** Removes every expired token with its indexes and revocation mark. */
  cleanup(): Promise<{ removed: number }>;
  close(): Promise<void>;
}

/** The change feed's settings, which every backend shares. */
export interface FeedConfig {
  /**
   * Milliseconds a change stays in the feed at least; cleanup forgets older ones.
   * @default 60_000
   */
  feedRetentionMs?: number;
  /**
   * Most changes the feed keeps; older ones are trimmed first. A reader behind by more resets.
   * Sized for a mass revocation: 100,000 tokens revoked one by one stay readable (what that
   * takes in Redis is measured in docs/performance.md; cleanup forgets changes older than the
   * retention).
   * @default 100_000
   */
  feedMaxLength?: number;
  /**
   * Most changes one sync returns; a reader further behind reads the rest a page at a time.
   * A cache miss's lookup carries at most LOOKUP_PAGE_SIZE of them.
   * @default 1_000
   */
  feedPageSize?: number;
}

export interface BaseStoreConfig extends FeedConfig {
  /**
   * Secret pepper: tokens are keyed by HMAC-SHA-256 under it. Without it, by plain SHA-256.
   * @default undefined (SHA-256)
   */
  hashKey?: string;
  /**
   * Peppers used before `hashKey`, newest first, while rotating it. Every operation that takes
   * a token also finds one stored under a previous pepper, in the same round trip, and moves
   * it to the current one. Needs `hashKey`.
   * @default [] (at most 4)
   */
  previousHashKeys?: string[];
  /**
   * Lifetime in milliseconds given to a token stored without `expiresAt`.
   * @default 86_400_000 (24 h)
   */
  defaultTtl?: number;
  /**
   * The clock, in milliseconds since the epoch. Tests inject one to move time without sleeping.
   * @default Date.now
   */
  now?: () => number;
  /**
   * The longest a token may live, in ms: `store` refuses an `expiresAt` further than this from
   * now, `checkJwt` a JWT whose `exp − iat` is longer. Subject cutoffs, key revocations and
   * family revocations are kept this long (a family's with a margin for clocks), so they outlive
   * every token they can affect.
   * @default 2_592_000_000 (30 days)
   */
  maxTokenLifetime?: number;
  /**
   * How many audit records the store keeps (the admin API's and OAuth revocation's writes, with
   * who made them): exactly this many in memory, about this many on Redis (a stream trimmed
   * with `MAXLEN ~`, so up to one stream node, 100 records, more).
   * @default 10_000
   */
  auditMaxRecords?: number;
  /**
   * How long after a rotation a second rotation of the same old token is taken for a client's
   * retry (a lost response) rather than a reuse: refused with ErrTokenRotated, the family left
   * live. What it trades: a thief who replays the token within this window is not detected
   * by that replay (only by a later use of either chain). 0 treats every second use as reuse.
   * At most maxTokenLifetime.
   * @default 0
   */
  reuseGraceMs?: number;
}

export interface MemoryStoreConfig extends BaseStoreConfig {
  /**
   * How many expired tokens `cleanup` removes before it yields to the event loop.
   * @default 10_000
   */
  cleanupBatchSize?: number;
}

/** The longest accepted values, in UTF-16 code units. Longer input is ErrInvalidMetadata. */
export const LIMITS = {
  token: 4096,
  id: 256,
  subject: 256,
  /** issuer, keyId, type, status, clientId and family */
  field: 256,
} as const;

export const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;

/** The longest a token may live by default (30 days): see BaseStoreConfig.maxTokenLifetime. */
export const DEFAULT_MAX_TOKEN_LIFETIME_MS = 30 * 24 * 3_600_000;

/** A deny-listed JWT stays refused this long past its `exp`, beyond any clock tolerance (≤ 300 s). */
export const DENY_GRACE_MS = 5 * 60_000;
