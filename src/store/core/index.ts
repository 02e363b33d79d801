// The store's contract: types, errors, hashing, the change feed every backend keeps, and the
// rules for the strings that name a token (which the JWT verifiers apply to claims too).
export {
  StorageError,
  StoreSentinel,
  isStorageError,
  ErrTokenNotFound,
  ErrTokenExpired,
  ErrTokenRevoked,
  ErrInvalidMetadata,
  ErrIDConflict,
  ErrStoreUnavailable,
  ErrInvalidConfig,
  ErrClientMismatch,
  ErrTokenReused,
  ErrTokenRotated,
} from "./errors.js";
export { createHasher, fingerprint, type TokenHasher } from "./hash.js";
export { familyProblem, identifyingProblem, stringProblem } from "./inputs.js";
export { identifierProblem } from "./identifier.js";
export {
  RECENT_CHANGES_MAX,
  type FeedStore,
  type FeedCursor,
  type ChangeBatch,
  type ChangeEvent,
  type RecentChange,
  type Verdict,
} from "./feed.js";
export {
  LIMITS,
  DEFAULT_TTL_MS,
  DEFAULT_MAX_TOKEN_LIFETIME_MS,
  DENY_GRACE_MS,
  REFRESH_TYPES,
  type TokenStore,
  type GetHints,
  type RevokeOptions,
  type JwtClaims,
  type TokenMetadata,
  type RotationMetadata,
  type StoredTokenMetadata,
  type TokenStatus,
  type FeedConfig,
  type BaseStoreConfig,
  type MemoryStoreConfig,
} from "./types.js";
export {
  AUDIT_ACTIONS,
  AUDIT_ID,
  AUDIT_PAGE_MAX,
  DEFAULT_AUDIT_RECORDS,
  type AuditAction,
  type AuditEntry,
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
  type AuditTarget,
} from "./audit.js";
