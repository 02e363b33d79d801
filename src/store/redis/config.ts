import type { Redis } from "@upstash/redis/cloudflare";
import type { BaseStoreConfig } from "../core/types.js";

/** The Redis backend's settings, beside those every store takes. */
export interface RedisStoreConfig extends BaseStoreConfig {
  /** The Upstash REST URL (`UPSTASH_REDIS_REST_URL`). Required unless `redis` is given. */
  url?: string;
  /** The Upstash REST token (`UPSTASH_REDIS_REST_TOKEN`). Required unless `redis` is given. */
  token?: string;
  /**
   * An existing `@upstash/redis` client to use instead of `url` and `token`. Its own timeout
   * and retry settings then apply, not `timeoutMs` and `retries`.
   */
  redis?: Redis;
  /**
   * Prefix of every key this store writes; several stores can share one database.
   * @default "tokens:"
   */
  keyPrefix?: string;
  /**
   * Milliseconds to wait for Upstash before a call fails with ErrStoreUnavailable.
   * @default 1000
   */
  timeoutMs?: number;
  /**
   * Retries after a network error (never after an HTTP error or a timeout).
   * @default 1
   */
  retries?: number;
  /**
   * Tokens removed per cleanup round trip.
   * @default 500
   */
  cleanupBatchSize?: number;
  /**
   * Milliseconds Redis keeps a token past `expiresAt` before its own TTL frees it, so cleanup
   * can remove its index entries first. Redis frees memory even if cleanup never runs.
   * @default 3_600_000 (1 h)
   */
  retentionGrace?: number;
}
