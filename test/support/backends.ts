import { MemoryTokenStore, RedisTokenStore, type FeedStore } from "../../src/store/index.js";
import { ENDPOINT_TOKEN, TEST_TIMEOUT_MS, uniquePrefix } from "./redis.js";
import type { UpstashEndpoint } from "./upstash-endpoint.js";

/** A store for one more isolate over one backend, on an injected clock. */
export type IsolateBackend = (clock: { t: number }) => () => FeedStore;

/**
 * The two backends as isolates see them: on memory every isolate shares the one store; on
 * Redis each gets its own client on one key prefix (unique to the test, labelled `label`),
 * through the project's Upstash-compatible endpoint, read when a store is made.
 */
export function isolateBackends(endpoint: () => UpstashEndpoint, label: string): [string, IsolateBackend][] {
  return [
    [
      "memory",
      (clock) => {
        const shared = new MemoryTokenStore({ now: () => clock.t });
        return () => shared;
      },
    ],
    [
      "redis",
      (clock) => {
        const keyPrefix = uniquePrefix(label);
        return () =>
          new RedisTokenStore({
            url: endpoint().url,
            token: ENDPOINT_TOKEN,
            keyPrefix,
            timeoutMs: TEST_TIMEOUT_MS,
            now: () => clock.t,
          });
      },
    ],
  ];
}
