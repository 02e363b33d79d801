/** Helpers for tests that build the app directly (app.request), inside the Workers runtime. */
import type { AppConfig } from "../../src/config.js";
import { createApp, type AppBackend } from "../../src/app.js";
import type { JwtVerifier } from "../../src/jwt/verifier.js";
import type { FailureLimit } from "../../src/middleware/guard/failure-limit.js";
import type { GuardMetrics } from "../../src/middleware/guard/metrics.js";
import type { TokenTags } from "../../src/tokens/tagged.js";
import {
  DEFAULT_KEY_PREFIX,
  MemoryTokenStore,
  RedisTokenStore,
  type AuditLog,
  type FeedStore,
  type TokenStore,
} from "../../src/store/index.js";
import type { AssetFetcher } from "../../src/routes/console.js";
import type { AccessVerifier } from "../../src/jwt/access.js";

export const ADMIN = "admin-token-for-tests-0123456789";
export const CLIENT_ID = "client-a";
export const CLIENT_SECRET = "client-a-secret-0123456789";
export const HOUR = 3_600_000;

export function testConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  // what readConfig gives for these bindings; every setting left out takes its owner's default
  return {
    adminToken: ADMIN,
    originUrl: "http://origin.test",
    oauthClients: new Map([[CLIENT_ID, CLIENT_SECRET]]),
    keyPrefix: DEFAULT_KEY_PREFIX,
    previousHashKeys: [],
    cacheMaxStalenessMs: 0,
    cacheShared: false,
    failureLimit: {},
    ...overrides,
  };
}

/** Wraps a store and counts the calls made to each method. */
export function countingStore(inner: TokenStore): TokenStore & { calls: Record<string, number>; total(): number } {
  const calls: Record<string, number> = {};
  const wrapped = {} as TokenStore;
  // every method of the contract: a method added to TokenStore and missing here fails typecheck
  const methods: Record<keyof TokenStore, true> = {
    store: true,
    get: true,
    getById: true,
    inspect: true,
    delete: true,
    list: true,
    revoke: true,
    revokeById: true,
    revokeSubject: true,
    isRevoked: true,
    cleanup: true,
    close: true,
    checkJwt: true,
    denyJwt: true,
    revokeKey: true,
    rotate: true,
    revokeFamily: true,
  };
  for (const name of Object.keys(methods) as (keyof TokenStore)[]) {
    (wrapped as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls[name] = (calls[name] ?? 0) + 1;
      return (inner[name] as (...a: unknown[]) => Promise<unknown>)(...args);
    };
  }
  return Object.assign(wrapped, { calls, total: () => Object.values(calls).reduce((a, b) => a + b, 0) });
}

/**
 * An Upstash URL that cannot be reached. test/support/workerd-setup.ts makes every fetch to it reject
 * as a refused connection does ("Network connection lost."), without opening a socket.
 */
export const UNREACHABLE_URL = "http://127.0.0.1:9";

/** A store whose backend cannot be reached: a real Redis store pointed at UNREACHABLE_URL. */
export function unreachableStore(): TokenStore {
  return new RedisTokenStore({ url: UNREACHABLE_URL, token: "x", timeoutMs: 300, retries: 0 });
}

export interface Harness {
  app: ReturnType<typeof createApp>;
  store: ReturnType<typeof countingStore>;
  memory: MemoryTokenStore;
  /** Requests that reached the origin, as the origin saw them. */
  origin: Request[];
  logs: string[];
  clock: { t: number };
}

/** A tiny app per test: memory store with a movable clock, an origin that records and echoes. */
export function harness(
  options: {
    config?: Partial<AppConfig>;
    store?: TokenStore;
    jwt?: JwtVerifier;
    metrics?: GuardMetrics;
    tags?: TokenTags;
    failureLimit?: FailureLimit;
    /** The ASSETS binding (console, OpenAPI): pass `env.ASSETS` from cloudflare:test. */
    assets?: AssetFetcher;
    /** Cloudflare Access in front of /admin/*. */
    access?: AccessVerifier;
  } = {},
): Harness {
  const clock = { t: Date.UTC(2026, 10, 27, 12) };
  const memory = new MemoryTokenStore({ now: () => clock.t });
  const store = countingStore(options.store ?? memory);
  // the activity and audit routes read the backend's feed and audit log: the memory store's, or a given backend's
  const backend =
    options.store === undefined
      ? memory
      : "recentChanges" in options.store && "audit" in options.store
        ? (options.store as unknown as AppBackend)
        : undefined;
  const origin: Request[] = [];
  const logs: string[] = [];
  const app = createApp({
    store,
    jwt: options.jwt,
    tags: options.tags,
    failureLimit: options.failureLimit,
    metrics: options.metrics,
    assets: options.assets,
    backend,
    access: options.access,
    // records are stamped at the harness's clock
    now: () => clock.t,
    config: testConfig(options.config),
    log: (line) => logs.push(line),
    fetchOrigin: async (req) => {
      origin.push(req.clone());
      return new Response(`origin saw ${req.method} ${new URL(req.url).pathname}`, {
        status: 200,
        headers: { "x-origin": "yes" },
      });
    },
  });
  return { app, store, memory, origin, logs, clock };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
export const adminJson = (body: unknown, method = "POST"): RequestInit => ({
  method,
  headers: { ...bearer(ADMIN), "Content-Type": "application/json" },
  body: typeof body === "string" ? body : JSON.stringify(body),
});
