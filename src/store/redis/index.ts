// The Upstash backend: the store, its Lua scripts and the parsing of their replies.
export { RedisTokenStore } from "./store.js";
