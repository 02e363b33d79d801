import { createApp } from "./app.js";
import { ConfigError, readConfig, type AppConfig } from "./config.js";
import type { Env } from "./env.js";
import { StorageError } from "./store/core/index.js";
import { RedisTokenStore } from "./store/redis/index.js";
import { withVerdictCache } from "./store/cache/index.js";
import { JwtVerifier } from "./jwt/verifier.js";
import { AccessVerifier } from "./jwt/access.js";
import { FailureLimit } from "./middleware/guard/failure-limit.js";
import { TokenTags } from "./tokens/tagged.js";
import type { MemoryStoreConfig, TokenStore } from "./store/core/index.js";
import type { FeedStore } from "./store/core/index.js";
import type { AuditLog } from "./store/core/index.js";

export interface Runtime {
  app: ReturnType<typeof createApp>;
  /** The authoritative store (admin, OAuth, cron); writes go through the cache when there is one. */
  store: TokenStore;
  config: AppConfig;
}

/** Store config fields → the bindings they come from. */
const SETTING_OF: Record<string, string> = {
  url: "UPSTASH_REDIS_REST_URL",
  token: "UPSTASH_REDIS_REST_TOKEN",
  keyPrefix: "KEY_PREFIX",
  hashKey: "TOKEN_HASH_KEY",
  previousHashKeys: "TOKEN_HASH_KEY_PREVIOUS",
  timeoutMs: "STORE_TIMEOUT_MS",
  reuseGraceMs: "REUSE_GRACE_MS",
};

/** A backend the Worker can run on: it keeps a change feed and an audit log. */
export type Backend = FeedStore & { readonly audit: AuditLog };

/** How the development entry (src/worker-dev.ts) makes its memory store; the deployed Worker has none. */
export type MemoryBackend = (config: MemoryStoreConfig) => Backend;

let current: { key: string; runtime: Runtime } | undefined;
// the hot path: workerd hands every request of an isolate the same env object
let lastEnv: Env | undefined;
let loggedConfigError: string | undefined;

/**
 * The app and store for these bindings, built once per isolate and rebuilt only if the
 * settings change. The memory store is therefore per isolate: each isolate has its own.
 * Throws ConfigError naming a missing or malformed setting.
 */
export function runtimeFor(env: Env, memory?: MemoryBackend): Runtime {
  if (env === lastEnv && current !== undefined) return current.runtime;
  const config = readConfig(env);
  const key = JSON.stringify([
    config,
    [...config.oauthClients],
    env.METRICS !== undefined,
    env.FAILURE_LIMITER !== undefined,
    env.ASSETS !== undefined,
  ]);
  if (current?.key !== key) {
    if (config.redis === undefined && memory === undefined)
      throw new ConfigError(
        "UPSTASH_REDIS_REST_URL",
        "is missing: the deployed Worker keeps tokens in Redis (the per-isolate memory store is for `npm run dev` only)",
      );
    let backend: Backend;
    try {
      backend = config.redis
        ? new RedisTokenStore({
            url: config.redis.url,
            token: config.redis.token,
            timeoutMs: config.redis.timeoutMs,
            keyPrefix: config.keyPrefix,
            hashKey: config.hashKey,
            previousHashKeys: config.previousHashKeys,
            auditMaxRecords: config.auditMaxRecords,
            reuseGraceMs: config.reuseGraceMs,
          })
        : memory!({
            hashKey: config.hashKey,
            previousHashKeys: config.previousHashKeys,
            auditMaxRecords: config.auditMaxRecords,
            reuseGraceMs: config.reuseGraceMs,
          });
    } catch (e) {
      // the store checks its own settings (Upstash URL and token, key prefix): name the binding
      if (e instanceof StorageError) throw new ConfigError(SETTING_OF[e.key] ?? e.key, e.detail);
      throw e;
    }
    // the guard reads through a verdict cache on Redis; memory is in the isolate already
    const cache =
      backend instanceof RedisTokenStore && config.cacheMaxStalenessMs !== 0
        ? withVerdictCache(backend, {
            maxStalenessMs: config.cacheMaxStalenessMs,
            maxEntries: config.cacheMaxEntries,
            // a Redis backend means config.redis is set
            ...(config.cacheShared ? dataCenterTier(config, config.redis!) : {}),
          })
        : undefined;
    const store = cache?.authoritative ?? backend;
    let jwt: JwtVerifier | undefined;
    try {
      // the verifier's default maxLifetimeMs is the store's maxTokenLifetime: longer JWTs are refused
      jwt = config.jwt === undefined ? undefined : new JwtVerifier(config.jwt);
    } catch (e) {
      // jose refuses a key set it cannot read: name the binding it came from
      throw new ConfigError(config.jwt?.jwks ? "JWT_JWKS" : "JWT_JWKS_URL", e instanceof Error ? e.message : String(e));
    }
    current = {
      key,
      runtime: {
        app: createApp({
          store,
          cache,
          backend,
          config,
          jwt,
          // the tag key comes from the pepper: without one, nothing is tagged or minted
          tags:
            config.hashKey === undefined
              ? undefined
              : new TokenTags({
                  secret: config.hashKey,
                  previousSecrets: config.previousHashKeys,
                  prefix: config.tokenPrefix,
                }),
          failureLimit:
            env.FAILURE_LIMITER === undefined
              ? undefined
              : new FailureLimit({
                  limiter: env.FAILURE_LIMITER,
                  clientHeader: config.failureLimit.clientHeader,
                  periodSeconds: config.failureLimit.periodSeconds,
                }),
          metrics: env.METRICS,
          assets: env.ASSETS,
          access: config.access === undefined ? undefined : new AccessVerifier(config.access),
        }),
        store,
        config,
      },
    };
  }
  lastEnv = env;
  return current.runtime;
}

/** The name of the Workers cache that holds the data-center tier: never caches.default. */
export const SHARED_CACHE_NAME = "edge-token-store:verdicts";

/**
 * The data-center tier's options: a named Workers cache, opened on first use, and entries
 * signed under the pepper (or, without one, the Upstash token: a secret only this deployment
 * holds), scoped to this database and key prefix. Where there is no Cache API, no tier.
 */
function dataCenterTier(config: AppConfig, redis: NonNullable<AppConfig["redis"]>) {
  if (typeof caches === "undefined") return {};
  let opened: Promise<Cache> | undefined;
  const cache = () => (opened ??= caches.open(SHARED_CACHE_NAME));
  return {
    shared: {
      match: async (request: Request) => (await cache()).match(request),
      put: async (request: Request, response: Response) => (await cache()).put(request, response),
    },
    sharedSecret: config.hashKey ?? redis.token,
    sharedScope: `${redis.url}\0${config.keyPrefix}`,
  };
}

/** Logs a config error once per isolate (per distinct message). */
export function logConfigError(e: ConfigError): void {
  if (loggedConfigError === e.message) return;
  loggedConfigError = e.message;
  console.error(JSON.stringify({ event: "config_error", setting: e.setting, error: e.message }));
}

/** A 500 naming the bad setting, logged once per isolate; traffic never passes. */
export function configErrorResponse(e: ConfigError): Response {
  logConfigError(e);
  return Response.json(
    { error: { code: "invalid_config", message: `the Worker is misconfigured: ${e.message}` } },
    { status: 500 },
  );
}
