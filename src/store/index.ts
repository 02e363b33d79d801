// The store's public surface: the contract (core/), two backends (memory/, redis/) and the
// verdict cache (cache/). Code outside src/store/ imports from here or from a room's index.
export { createTokenStore, type StoreKind } from "./factory.js";
export * from "./core/index.js";
export { MemoryTokenStore } from "./memory/index.js";
export { RedisTokenStore, DEFAULT_KEY_PREFIX, type RedisStoreConfig } from "./redis/index.js";
export * from "./cache/index.js";
