// The Upstash backend: its config, the store, its Lua scripts and the parsing of their replies.
export { RedisTokenStore, DEFAULT_KEY_PREFIX } from "./store.js";
export type { RedisStoreConfig } from "./config.js";
