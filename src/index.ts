export { createTokenStore, type StoreKind } from "./store/factory.js";
export { MemoryTokenStore } from "./store/memory.js";
export { RedisTokenStore } from "./store/redis.js";
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
} from "./store/errors.js";
export { createHasher, fingerprint, type TokenHasher } from "./store/hash.js";
export { withVerdictCache, VerdictCache, type VerdictCacheOptions, type VerdictCacheStats } from "./store/verdict-cache.js";
export type { FeedStore, FeedConfig, FeedCursor, ChangeBatch, ChangeEvent, Verdict } from "./store/feed.js";
export {
  LIMITS,
  DEFAULT_TTL_MS,
  DEFAULT_MAX_TOKEN_LIFETIME_MS,
  type TokenStore,
  type GetHints,
  type RevokeOptions,
  type JwtClaims,
  type TokenMetadata,
  type StoredTokenMetadata,
  type BaseStoreConfig,
  type MemoryStoreConfig,
  type RedisStoreConfig,
} from "./store/types.js";
export { decisionPoint, type GuardMetrics, type GuardOutcome, type DecisionFacts } from "./middleware/guard-metrics.js";
export {
  tokenGuard,
  TOKEN_SUBJECT_HEADER,
  TOKEN_ID_HEADER,
  TOKEN_STATUS_HEADER,
  type TokenGuardOptions,
  type TokenGuardVariables,
} from "./middleware/guard.js";
export { createApp, ADMIN_PREFIX, OAUTH_PREFIX, type AppDeps } from "./app.js";
export { JwtVerifier, JwtRejected, ASYMMETRIC_ALGORITHMS, DEFAULT_ALGORITHMS, type JwtVerifierOptions } from "./jwt/verifier.js";
export { KeySet, KeySetUnavailable, type KeySetOptions } from "./jwt/key-set.js";
export { readConfig, ConfigError, type AppConfig, type FailMode } from "./config.js";
export type { Env } from "./env.js";
