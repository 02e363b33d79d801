import { afterAll, beforeAll } from "vitest";
import { RedisTokenStore } from "../../../src/index.js";
import type { UpstashEndpoint } from "../../support/upstash-endpoint.js";
import { feedContract, type FeedStoreFactory } from "../contract/feed.js";
import { auditContract } from "../contract/audit.js";
import { jwtContract } from "../contract/jwt.js";
import { rotationContract } from "../contract/rotation.js";
import { familiesContract } from "../contract/families.js";
import { tokenStoreContract } from "../contract/token-store.js";
import {
  directRedis,
  ENDPOINT_TOKEN,
  redisSnapshot,
  startEndpoint,
  uniquePrefix,
  TEST_TIMEOUT_MS,
} from "../../support/redis.js";

let endpoint: UpstashEndpoint;
const redis = directRedis();
beforeAll(async () => {
  endpoint = await startEndpoint();
});
afterAll(async () => {
  await endpoint.close();
  redis.disconnect();
});

/** One fresh key prefix per store; `reopen` is a second client over the same prefix. */
const factory: FeedStoreFactory = async (options) => {
  const keyPrefix = uniquePrefix("contract");
  const open = (o: Partial<typeof options>) =>
    new RedisTokenStore({
      url: endpoint.url,
      token: ENDPOINT_TOKEN,
      keyPrefix,
      timeoutMs: TEST_TIMEOUT_MS,
      ...options,
      ...o,
    });
  return { store: open({}), snapshot: () => redisSnapshot(redis, keyPrefix), reopen: async (o) => open(o) };
};

tokenStoreContract("redis", factory);
feedContract("redis", factory);
jwtContract("redis", factory);
rotationContract("redis", factory);
familiesContract("redis", factory);
auditContract("redis", async (auditMaxRecords) => {
  const keyPrefix = uniquePrefix("audit");
  const store = new RedisTokenStore({ url: endpoint.url, token: ENDPOINT_TOKEN, keyPrefix, auditMaxRecords });
  return { log: store.audit, held: async () => redis.xlen(`${keyPrefix}a`) };
});
