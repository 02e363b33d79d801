import { Hono } from "hono/tiny";
import { HTTPException } from "hono/http-exception";
import type { AppConfig } from "./config.js";
import { errorJson } from "./http/errors.js";
import { tokenGuard, type TokenGuardVariables } from "./middleware/guard.js";
import { adminRoutes } from "./routes/admin.js";
import { oauthRoutes } from "./routes/oauth.js";
import { serveConsole, type AssetFetcher } from "./routes/console.js";
import { forwardToOrigin, type OriginFetch } from "./routes/origin.js";
import type { JwtVerifier } from "./jwt/verifier.js";
import type { FailureLimit } from "./middleware/failure-limit.js";
import type { TokenTags } from "./tokens/tagged.js";
import type { GuardMetrics } from "./middleware/guard-metrics.js";
import type { TokenStore } from "./store/core/types.js";
import type { FeedStore } from "./store/core/feed.js";
import type { AccessVerifier } from "./jwt/access.js";
import { auditor, type AuditDeps } from "./http/audit.js";
import type { VerdictCache } from "./store/cache/verdict-cache.js";

export const ADMIN_PREFIX = "/admin";
export const OAUTH_PREFIX = "/oauth";

export interface AppDeps {
  /** The authoritative store: the admin API and OAuth use it (one round trip each). */
  store: TokenStore;
  /** What the guard checks tokens against, e.g. a verdict cache. @default store */
  guardStore?: TokenStore;
  /** This isolate's verdict cache, whose counters `GET /admin/stats` shows. */
  cache?: Pick<VerdictCache, "stats" | "maxStalenessMs" | "maxEntries">;
  config: AppConfig;
  /** How requests reach the origin. @default fetch */
  fetchOrigin?: OriginFetch;
  /** Verifies JWS-shaped tokens on every path, when a key set is configured. */
  jwt?: JwtVerifier;
  /** Checks tagged tokens' tags on every path, and mints tokens for POST /admin/tokens. */
  tags?: TokenTags;
  /** Counts failed credentials per client (the FAILURE_LIMITER binding). */
  failureLimit?: FailureLimit;
  /** A Workers Analytics Engine dataset: one data point per guard decision. */
  metrics?: GuardMetrics;
  /** The store's change feed, whose newest revocations `GET /admin/activity` lists (the backend itself). */
  feed?: Pick<FeedStore, "recentChanges">;
  /** Verifies Cloudflare Access assertions on /admin/* (config.access). */
  access?: AccessVerifier;
  /** Where admin and OAuth writes are recorded (the backend's audit log); without it, log lines only. */
  audit?: AuditDeps;
  /** Serves the admin console's files (the ASSETS binding); without it /admin/console answers 404. */
  assets?: AssetFetcher;
  /** Where operational lines (JSON) go. @default console.error */
  log?: (line: string) => void;
}

/**
 * The Worker's app: the admin API under /admin, OAuth revocation and introspection under
 * /oauth, and every other path behind the token guard, then forwarded to the origin.
 * It reads no globals: everything comes in `deps`.
 */
export function createApp({
  store,
  guardStore = store,
  cache,
  jwt,
  tags,
  failureLimit,
  metrics,
  feed,
  assets,
  access,
  audit,
  config,
  fetchOrigin,
  log: given,
}: AppDeps) {
  const log = given ?? ((line: string) => console.error(line));
  const app = new Hono<{ Variables: TokenGuardVariables }>();

  app.onError((err, c) => {
    if (err instanceof HTTPException && err.status < 500) {
      return errorJson(
        c,
        err.status as 400,
        err.status === 400 ? "invalid_request" : "request_error",
        err.message || "bad request",
      );
    }
    log(JSON.stringify({ event: "internal_error", error: err instanceof Error ? err.message : String(err) }));
    return errorJson(c, 500, "internal_error", "the request could not be handled");
  });

  const tokenFormat = config.tokenFormat;
  // before the admin API's authentication: the page asks for the token itself
  const consoleFiles = serveConsole(assets, access);
  app.get(`${ADMIN_PREFIX}/console`, consoleFiles);
  app.get(`${ADMIN_PREFIX}/console/`, consoleFiles);
  app.get(`${ADMIN_PREFIX}/console/:file`, consoleFiles);
  // audit lines are information, not errors: console.log unless a `log` was given
  const audited = auditor(audit, given ?? ((line) => console.log(line)));
  const { adminToken } = config;
  const auditLog = audit?.log;
  app.route(
    ADMIN_PREFIX,
    adminRoutes({ store, adminToken, access, audited, auditLog, cache, feed, assets, jwt, tags, tokenFormat }),
  );
  app.route(
    OAUTH_PREFIX,
    oauthRoutes({ store, clients: config.oauthClients, adminToken, audited, jwt, tags, tokenFormat }),
  );
  app.use(
    "*",
    tokenGuard({
      store: guardStore,
      realm: config.realm,
      failMode: config.failMode,
      log,
      jwt,
      tags,
      tokenFormat,
      failureLimit,
      metrics,
    }),
  );
  app.all("*", forwardToOrigin(config.originUrl, fetchOrigin, log));
  return app;
}
