import { Hono } from "hono/tiny";
import { HTTPException } from "hono/http-exception";
import type { AppConfig } from "./config.js";
import { errorJson } from "./http/errors.js";
import type { AccessVerifier } from "./jwt/access.js";
import type { JwtVerifier } from "./jwt/verifier.js";
import type { FailureLimit } from "./middleware/guard/failure-limit.js";
import { tokenGuard, type TokenGuardVariables } from "./middleware/guard/index.js";
import type { GuardMetrics } from "./middleware/guard/metrics.js";
import { adminRoutes } from "./routes/admin/index.js";
import { auditor } from "./routes/audited.js";
import { serveConsole, type AssetFetcher } from "./routes/console.js";
import { oauthRoutes } from "./routes/oauth/index.js";
import { forwardToOrigin, type OriginFetch } from "./routes/origin.js";
import type { AuditLog, FeedStore, TokenStore, VerdictCache } from "./store/index.js";
import type { TokenTags } from "./tokens/tagged.js";

export const ADMIN_PREFIX = "/admin";
export const OAUTH_PREFIX = "/oauth";

/** What a backend keeps besides tokens, which the admin API reads and writes to: both backends have it. */
export interface AppBackend extends Pick<FeedStore, "recentChanges"> {
  /** The capped audit log `GET /admin/audit` reads and every admin and OAuth write appends to. */
  readonly audit: AuditLog;
  /** The hash the store keys a token by: a token is named in an audit record by its fingerprint. */
  hashToken(token: string): Promise<string>;
}

export interface AppDeps {
  /** The authoritative store: the admin API and OAuth use it (one round trip each). */
  store: TokenStore;
  /**
   * The verdict cache the guard reads through, whose counters `GET /admin/stats` shows.
   * @default undefined (the guard reads `store`)
   */
  cache?: TokenStore & Pick<VerdictCache, "stats" | "maxStalenessMs" | "maxEntries">;
  /**
   * The backend's change feed and audit log (`GET /admin/activity`, `GET /admin/audit`, and a
   * record of each write). Without it, those routes answer 404 and writes are log lines only.
   */
  backend?: AppBackend;
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
  /** Verifies Cloudflare Access assertions on /admin/* (config.access). */
  access?: AccessVerifier;
  /** Serves the admin console's files (the ASSETS binding); without it /admin/console answers 404. */
  assets?: AssetFetcher;
  /** Where operational lines (JSON) go. @default console.error */
  log?: (line: string) => void;
  /** The clock audit records are stamped with. @default Date.now */
  now?: () => number;
}

/**
 * The Worker's app: the admin API under /admin, OAuth revocation and introspection under
 * /oauth, and every other path behind the token guard, then forwarded to the origin.
 * It reads no globals: everything comes in `deps`.
 */
export function createApp({
  store,
  cache,
  backend,
  jwt,
  tags,
  failureLimit,
  metrics,
  assets,
  access,
  config,
  fetchOrigin,
  log: given,
  now,
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

  // the edge checks, the same for every path
  const edge = { jwt, tags, tokenFormat: config.tokenFormat };
  // before the admin API's authentication: the page asks for the token itself
  const consoleFiles = serveConsole(assets, access);
  app.get(`${ADMIN_PREFIX}/console`, consoleFiles);
  app.get(`${ADMIN_PREFIX}/console/`, consoleFiles);
  app.get(`${ADMIN_PREFIX}/console/:file`, consoleFiles);
  // audit lines are information, not errors: console.log unless a `log` was given
  const audit = backend && { log: backend.audit, hashToken: (token: string) => backend.hashToken(token), now };
  const audited = auditor(audit, given ?? ((line) => console.log(line)));
  const { adminToken } = config;
  app.route(
    ADMIN_PREFIX,
    adminRoutes({
      ...edge,
      store,
      adminToken,
      access,
      audited,
      auditLog: backend?.audit,
      cache,
      feed: backend,
      assets,
    }),
  );
  app.route(OAUTH_PREFIX, oauthRoutes({ ...edge, store, clients: config.oauthClients, adminToken, audited }));
  app.use(
    "*",
    tokenGuard({
      ...edge,
      store: cache ?? store,
      realm: config.realm,
      failMode: config.failMode,
      log,
      failureLimit,
      metrics,
    }),
  );
  app.all("*", forwardToOrigin(config.originUrl, fetchOrigin, log));
  return app;
}
