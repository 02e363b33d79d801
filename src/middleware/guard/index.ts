import type { Context, MiddlewareHandler } from "hono";
import { bearerToken } from "../../http/auth.js";
import { errorJson, isStoreOutage, keysUnavailable, RETRY_AFTER_SECONDS } from "../../http/errors.js";
import { withTokenHeaders } from "../../http/identity-headers.js";
import { decisionPoint, type DecisionFacts, type GuardMetrics, type GuardOutcome } from "./metrics.js";
import { checkAtEdge, checkCredential, type EdgeOptions } from "../../tokens/credential.js";
import type { FailureLimit } from "./failure-limit.js";
import { StorageError } from "../../store/core/index.js";
import { LIMITS, type GetHints, type StoredTokenMetadata, type TokenStore } from "../../store/core/index.js";

/** The realm `WWW-Authenticate` names when none is configured. */
export const DEFAULT_REALM = "edge-token-store";

/** What a store outage does to a guarded request: "closed" refuses it (503), "open" admits it unverified. */
export type FailMode = "closed" | "open";

/**
 * The guard's settings. The edge checks (`jwt`, `tags`, `tokenFormat`) are {@link EdgeOptions}:
 * a JWS-shaped token is verified at the edge (signature, algorithm, times, issuer, audience),
 * then checked with `store.checkJwt`; a bad tag is refused as an unknown token with no store
 * call; other tokens go to `store.get`. Without `jwt`, every token is looked up.
 */
export interface TokenGuardOptions extends EdgeOptions {
  /** The store to check tokens against, e.g. a verdict cache. */
  store: TokenStore;
  /**
   * Realm named in `WWW-Authenticate`.
   * @default "edge-token-store"
   */
  realm?: string;
  /**
   * What a store outage does: "closed" answers 503 with Retry-After; "open" lets the request
   * through with `X-Token-Status: unverified`. Open admits revoked tokens while the store is down.
   * @default "closed"
   */
  failMode?: FailMode;
  /** Where outage lines go (at most one per 10 s, with a count of the lines held back). @default console.error */
  log?: (line: string) => void;
  /** Refuses a client past a limit of failed credentials with 429. @default undefined (no limit) */
  failureLimit?: FailureLimit;
  /**
   * A Workers Analytics Engine dataset (or anything with `writeDataPoint`): one data point per
   * decision, with no token and no hash (see {@link decisionPoint}).
   * @default undefined (nothing is written)
   */
  metrics?: GuardMetrics;
}

/** An outage refuses every request: log the first, then at most one line per window. */
const OUTAGE_LOG_WINDOW_MS = 10_000;

export interface TokenGuardVariables {
  /** The live token's metadata; undefined only on a fail-open request. */
  token: StoredTokenMetadata | undefined;
}

/** A refusal's outcome in the metrics: an unknown token counts as invalid. */
const OUTCOMES: Record<string, GuardOutcome> = { token_expired: "expired", token_revoked: "revoked" };

const DESCRIPTIONS: Record<string, string> = {
  token_not_found: "the token is unknown",
  token_expired: "the token has expired",
  token_revoked: "the token has been revoked",
  invalid_metadata: "the token is malformed",
};

/**
 * Checks the request's bearer token with one store call and lets only a live token through:
 * `store.get` for an opaque token; for a JWS (with `jwt` set), its signature and times at the
 * edge first (a failure costs no store call), then `store.checkJwt` for its revocations.
 * The request that reaches later handlers carries `X-Token-Subject` and `X-Token-Id` set from
 * the store; any copies the client sent are removed first. Missing, unknown, expired and
 * revoked tokens get 401 with an RFC 6750 `WWW-Authenticate` header.
 */
export function tokenGuard(options: TokenGuardOptions): MiddlewareHandler<{ Variables: TokenGuardVariables }> {
  if (options?.store === undefined) throw new Error("tokenGuard: options.store is required");
  const realm = options.realm ?? DEFAULT_REALM;
  const failMode = options.failMode ?? "closed";
  if (failMode !== "closed" && failMode !== "open") throw new Error('tokenGuard: failMode must be "closed" or "open"');
  const log = options.log ?? ((line: string) => console.error(line));
  if (options.tokenFormat !== undefined && options.tokenFormat !== "any" && options.tokenFormat !== "tagged")
    throw new Error('tokenGuard: tokenFormat must be "any" or "tagged"');
  const { store, failureLimit: limit, metrics } = options;
  const logOutage = outageLogger(log, failMode);

  return async function tokenGuard(c, next) {
    // what the metrics data point says about this decision: never the token or its hash
    const seen: DecisionFacts = { kind: "none", cache: "none", storeMs: 0 };
    const decided = <T>(outcome: GuardOutcome, answer: T): T => {
      metrics?.writeDataPoint(decisionPoint(outcome, seen));
      return answer;
    };
    const client = limit?.clientOf(c);
    if (limit?.refuses(client, Date.now())) return decided("limited", limit.tooMany(c));
    // a failed credential counts against its client; the one that crosses the limit gets 429
    const failed = async (outcome: GuardOutcome, answer: Response): Promise<Response> =>
      (await limit?.failed(client, Date.now())) ? decided("limited", limit!.tooMany(c)) : decided(outcome, answer);
    const token = bearerToken(c.req.header("Authorization"));
    if (token === undefined) {
      return failed(
        "missing",
        errorJson(c, 401, "missing_token", "a bearer token is required", {
          "WWW-Authenticate": `Bearer realm="${realm}"`,
        }),
      );
    }
    if (token === null || token.length > LIMITS.token)
      return failed("invalid", invalidToken(c, realm, "the token is malformed"));
    let metadata: StoredTokenMetadata;
    try {
      const hints = hintsOf(c, (use) => (seen.cache = use));
      // a JWT is verified, and a tag checked, at the edge first: a failure costs no store round trip
      const edge = await checkAtEdge(options, token, hints);
      // what the edge saw, for the metrics: only the JWS-shaped path answers jwt, rejected or keys_unavailable
      seen.kind = edge.kind === "opaque" || edge.kind === "forged" ? "opaque" : "jwt";
      if (edge.kind === "rejected") return failed("invalid", invalidToken(c, realm, edge.description));
      // no oracle: a forged tag is answered exactly as an unknown token
      if (edge.kind === "forged") return failed("invalid", invalidToken(c, realm, DESCRIPTIONS.token_not_found!));
      // never fail open on keys: that would admit forged tokens
      if (edge.kind === "keys_unavailable") {
        logOutage(edge.error);
        return decided("outage", keysUnavailable(c));
      }
      const started = Date.now();
      try {
        metadata = await checkCredential(store, token, edge.kind === "jwt" ? edge.claims : undefined, hints);
      } finally {
        seen.storeMs = Date.now() - started;
      }
    } catch (e) {
      // anything but a StorageError is treated as an outage too: never admit on a surprise
      if (e instanceof StorageError && !isStoreOutage(e)) {
        return failed(
          OUTCOMES[e.err.code] ?? "invalid",
          invalidToken(c, realm, DESCRIPTIONS[e.err.code] ?? "the token is not valid"),
        );
      }
      logOutage(e);
      // fail closed: an unreachable store must not admit a revoked token
      if (failMode === "closed") {
        return decided(
          "outage",
          errorJson(c, 503, "store_unavailable", "the token store cannot be reached; try again shortly", {
            "Retry-After": RETRY_AFTER_SECONDS,
          }),
        );
      }
      c.req.raw = withTokenHeaders(c.req.raw, undefined);
      c.set("token", undefined);
      return decided("outage", next());
    }
    c.req.raw = withTokenHeaders(c.req.raw, metadata);
    c.set("token", metadata);
    return decided("live", next());
  };
}

/** Logs store and key-set outages: the first line, then at most one per window with a count of the lines held back. */
function outageLogger(log: (line: string) => void, failMode: FailMode): (e: unknown) => void {
  let lastOutageLog = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (e: unknown) => {
    const now = Date.now();
    if (now - lastOutageLog < OUTAGE_LOG_WINDOW_MS) {
      suppressed++;
      return;
    }
    log(
      JSON.stringify({
        event: "guard_store_unavailable",
        failMode,
        error: e instanceof Error ? e.message : String(e),
        suppressed,
      }),
    );
    lastOutageLog = now;
    suppressed = 0;
  };
}

/** Lets a cache keep its background sync alive past the response, and say whether it hit. */
function hintsOf(c: Context, onCache: (use: "hit" | "miss") => void): GetHints {
  // Hono's own context type: workers-types 5's ExecutionContext has members Hono's lacks
  let ctx: Context["executionCtx"] | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    ctx = undefined; // app.request() in tests and Node servers have no execution context
  }
  return { waitUntil: ctx === undefined ? undefined : (p) => ctx.waitUntil(p), onCache };
}

function invalidToken(c: Context, realm: string, description: string): Response {
  return errorJson(c, 401, "invalid_token", description, {
    "WWW-Authenticate": `Bearer realm="${realm}", error="invalid_token", error_description="${description}"`,
  });
}
