import { afterAll, beforeAll } from "vitest";
import { RedisTokenStore } from "../src/index.js";
import type { UpstashEndpoint } from "../scripts/upstash-endpoint.js";
import { feedContract } from "./contract/feed.js";
import { jwtContract } from "./contract/jwt.js";
import { tokenStoreContract } from "./contract/token-store.js";
import { directRedis, ENDPOINT_TOKEN, redisSnapshot, startEndpoint, uniquePrefix, TEST_TIMEOUT_MS } from "./support/redis.js";

let endpoint: UpstashEndpoint;
const redis = directRedis();
beforeAll(async () => {
  endpoint = await startEndpoint();
});
afterAll(async () => {
  await endpoint.close();
  redis.disconnect();
});

tokenStoreContract("redis", async (options) => {
  const keyPrefix = uniquePrefix("contract");
  const store = new RedisTokenStore({ url: endpoint.url, token: ENDPOINT_TOKEN, keyPrefix, timeoutMs: TEST_TIMEOUT_MS, ...options });
  return { store, snapshot: () => redisSnapshot(redis, keyPrefix) };
});

feedContract("redis", async (options) => {
  const keyPrefix = uniquePrefix("feed");
  const store = new RedisTokenStore({ url: endpoint.url, token: ENDPOINT_TOKEN, keyPrefix, timeoutMs: TEST_TIMEOUT_MS, ...options });
  return { store, snapshot: () => redisSnapshot(redis, keyPrefix) };
});

jwtContract("redis", async (options) => {
  const keyPrefix = uniquePrefix("jwt");
  const store = new RedisTokenStore({ url: endpoint.url, token: ENDPOINT_TOKEN, keyPrefix, timeoutMs: TEST_TIMEOUT_MS, ...options });
  return { store, snapshot: () => redisSnapshot(redis, keyPrefix) };
});
