export {
  createTokenStore,
  type StoreKind,
  MemoryTokenStore,
  RedisTokenStore,
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
  createHasher,
  fingerprint,
  type TokenHasher,
  withVerdictCache,
  VerdictCache,
  type VerdictCacheOptions,
  type VerdictCacheStats,
  type SharedCache,
  type FeedStore,
  type FeedConfig,
  type FeedCursor,
  type ChangeBatch,
  type ChangeEvent,
  type RecentChange,
  type Verdict,
  type TokenStatus,
  type AuditLog,
  type AuditEntry,
  type AuditRecord,
  type AuditPage,
  type AuditQuery,
  type AuditAction,
  type AuditTarget,
  LIMITS,
  DEFAULT_TTL_MS,
  DEFAULT_MAX_TOKEN_LIFETIME_MS,
  REFRESH_TYPES,
  type TokenStore,
  type GetHints,
  type RevokeOptions,
  type JwtClaims,
  type TokenMetadata,
  type RotationMetadata,
  type StoredTokenMetadata,
  type BaseStoreConfig,
  type MemoryStoreConfig,
  type RedisStoreConfig,
} from "./store/index.js";
export { decisionPoint, type GuardMetrics, type GuardOutcome, type DecisionFacts } from "./middleware/guard/metrics.js";
export { TOKEN_SUBJECT_HEADER, TOKEN_ID_HEADER, TOKEN_STATUS_HEADER } from "./http/identity-headers.js";
export {
  tokenGuard,
  type FailMode,
  type TokenGuardOptions,
  type TokenGuardVariables,
} from "./middleware/guard/index.js";
export { createApp, ADMIN_PREFIX, OAUTH_PREFIX, type AppDeps, type AppBackend } from "./app.js";
export {
  JwtVerifier,
  JwtRejected,
  ASYMMETRIC_ALGORITHMS,
  DEFAULT_ALGORITHMS,
  type JwtVerifierOptions,
  type JwtCacheStats,
} from "./jwt/verifier.js";
export { KeySet, KeySetUnavailable, type KeySetOptions } from "./jwt/key-set.js";
export { AccessVerifier, ACCESS_HEADER, type AccessOptions } from "./jwt/access.js";
export { adminAuth, ADMIN_TOKEN_ACTOR, type AdminAuthOptions, type AdminVariables } from "./middleware/admin-auth.js";
export { auditor, type AuditDeps, type Audited } from "./routes/audited.js";
export { mintToken, TokenTags, DEFAULT_TOKEN_PREFIX, type TagCheck, type TokenTagsOptions } from "./tokens/tagged.js";
export {
  checkAtEdge,
  checkCredential,
  type EdgeCheck,
  type EdgeOptions,
  type TokenFormat,
} from "./tokens/credential.js";
export { FailureLimit, type FailureLimitOptions } from "./middleware/guard/failure-limit.js";
export { readConfig, ConfigError, type AppConfig } from "./config.js";
export type { Env } from "./env.js";
