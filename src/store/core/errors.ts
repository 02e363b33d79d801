/** A sentinel error: compare `e.err === ErrTokenNotFound`. `code` is a stable machine-readable name. */
export class StoreSentinel extends Error {
  override readonly name = "StoreSentinel";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const ErrTokenNotFound = new StoreSentinel("token_not_found", "token not found");
export const ErrTokenExpired = new StoreSentinel("token_expired", "token expired");
export const ErrTokenRevoked = new StoreSentinel("token_revoked", "token revoked");
export const ErrInvalidMetadata = new StoreSentinel("invalid_metadata", "invalid metadata");
export const ErrIDConflict = new StoreSentinel("id_conflict", "id already held by another token");
export const ErrStoreUnavailable = new StoreSentinel("store_unavailable", "store unavailable");
export const ErrInvalidConfig = new StoreSentinel("invalid_config", "invalid config");
export const ErrClientMismatch = new StoreSentinel("client_mismatch", "token issued to another client");
export const ErrTokenReused = new StoreSentinel("token_reused", "token reused");
export const ErrTokenRotated = new StoreSentinel("token_rotated", "token rotated");

/**
 * Every failure of a store. The message reads `store.<op>: <key>: <err> - <detail>`.
 * `key` is never a raw token: for token operations it is a fingerprint of the token's hash.
 */
export class StorageError extends Error {
  override readonly name = "StorageError";
  override readonly cause: StoreSentinel;

  constructor(
    readonly op: string,
    readonly key: string,
    readonly err: StoreSentinel,
    readonly detail: string,
  ) {
    super(`store.${op}: ${key}: ${err.message} - ${detail}`);
    this.cause = err;
  }
}

/** Shown as `StorageError.key` when there is no usable key (e.g. an empty token). */
export const NO_KEY = "-";

export function isStorageError(e: unknown, sentinel?: StoreSentinel): e is StorageError {
  return e instanceof StorageError && (sentinel === undefined || e.err === sentinel);
}

/**
 * Why a store refuses a token, with the one message both backends and the verdict cache give.
 * The Redis scripts answer with these names (`!not_found`, …).
 */
export const REFUSALS = {
  not_found: [ErrTokenNotFound, "no such token"],
  expired: [ErrTokenExpired, "the token has expired"],
  revoked: [ErrTokenRevoked, "the token has been revoked"],
  stays_revoked: [ErrTokenRevoked, "a revoked token cannot be stored again"],
  covered: [ErrTokenRevoked, "a subject cutoff or a key or family revocation covers the token"],
  conflict: [ErrIDConflict, "the id is held by another live token"],
  client: [ErrClientMismatch, "the token was issued to another client"],
  reused: [ErrTokenReused, "the token was rotated before: its whole family is now revoked"],
  rotated: [ErrTokenRotated, "the token was rotated within reuseGraceMs: use its successor"],
  no_family: [ErrInvalidMetadata, "only a token with a family rotates"],
} as const satisfies Record<string, readonly [StoreSentinel, string]>;

export type Refusal = keyof typeof REFUSALS;

/** The StorageError for refusal `why` of operation `op` on `key` (a fingerprint, never a token). */
export function refusal(op: string, key: string, why: Refusal): StorageError {
  const [err, detail] = REFUSALS[why];
  return new StorageError(op, key, err, detail);
}
