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
} from "./store/errors.js";
export { createHasher, fingerprint, type TokenHasher } from "./store/hash.js";
export {
  LIMITS,
  DEFAULT_TTL_MS,
  type TokenStore,
  type TokenMetadata,
  type StoredTokenMetadata,
  type BaseStoreConfig,
  type MemoryStoreConfig,
  type RedisStoreConfig,
} from "./store/types.js";
