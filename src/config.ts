import type { JSONWebKeySet } from "jose";
import type { Env } from "./env.js";
import { algorithmsProblem, claimNameProblem } from "./jwt/verifier.js";
import type { FailMode } from "./middleware/guard/index.js";
import type { TokenFormat } from "./tokens/credential.js";
import { DEFAULT_KEY_PREFIX } from "./store/index.js";

/** The Worker's settings, checked. Built from Env by {@link readConfig}. */
export interface AppConfig {
  /** The shared admin token; undefined when ADMIN_TOKEN_ENABLED is "false" (Access only). */
  readonly adminToken?: string;
  /** Cloudflare Access in front of /admin/*: its assertion names the person making each admin call. */
  readonly access?: AccessConfig;
  /** AUDIT_MAX_RECORDS: audit records the store keeps. */
  readonly auditMaxRecords?: number;
  /** REUSE_GRACE_MS: the store's reuseGraceMs (refresh-token rotation). */
  readonly reuseGraceMs?: number;
  readonly originUrl: string;
  readonly failMode?: FailMode;
  readonly realm?: string;
  /** OAuth client id → secret. */
  readonly oauthClients: ReadonlyMap<string, string>;
  readonly redis?: { readonly url: string; readonly token: string; readonly timeoutMs?: number };
  readonly hashKey?: string;
  /** The pepper before TOKEN_HASH_KEY, while rotating it (TOKEN_HASH_KEY_PREVIOUS). */
  readonly previousHashKeys: string[];
  readonly keyPrefix: string;
  /** The verdict cache's bound in ms (Redis backend only); 0: no cache, one round trip per request. */
  readonly cacheMaxStalenessMs?: number;
  readonly cacheMaxEntries?: number;
  /** CACHE_SHARED: the data-center tier under the verdict cache (a named Workers cache), on unless "off". */
  readonly cacheShared: boolean;
  /** JWT verification at the edge; absent when no key set is configured. */
  readonly jwt?: JwtConfig;
  /** TOKEN_FORMAT: "tagged" lets only tagged opaque tokens reach the store. */
  readonly tokenFormat?: TokenFormat;
  /** TOKEN_PREFIX: the prefix of minted tokens. */
  readonly tokenPrefix?: string;
  /** How FAILURE_LIMITER (when bound) names a client, and its period (Retry-After). */
  readonly failureLimit: { readonly clientHeader?: string; readonly periodSeconds?: number };
}

export interface AccessConfig {
  /** ACCESS_TEAM_DOMAIN as an origin, https://<team>.cloudflareaccess.com: the assertion's issuer. */
  readonly teamDomain: string;
  /** ACCESS_AUD: the Access application's audience tag. */
  readonly audience: string;
  /** ACCESS_CERTS_URL: where the signing keys are, when not the team's own certs URL (tests, local runs). */
  readonly certsUrl?: string;
}

export interface JwtConfig {
  /** JWT_JWKS_URL */
  readonly url?: string;
  readonly jwks?: JSONWebKeySet;
  readonly algorithms?: string[];
  readonly clockToleranceSeconds?: number;
  readonly issuer?: string;
  readonly audience?: string;
  /** JWT_CACHE_ENTRIES: verified JWTs remembered per isolate (only the signature check is skipped); 0: off. */
  readonly cacheEntries?: number;
  /** JWT_FAMILY_CLAIM: the claim that names a JWT's family. */
  readonly familyClaim?: string;
}

/** A missing or malformed setting; `setting` names it. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
  }
}

const MIN_ADMIN_TOKEN = 16;

/** Checks every setting and throws a ConfigError naming the first bad one. */
export function readConfig(env: Env): AppConfig {
  const str = (name: keyof Env): string | undefined => {
    const v = env[name];
    if (v === undefined || v === "") return undefined;
    if (typeof v !== "string") throw new ConfigError(name, "must be a string");
    return v;
  };
  const access = readAccessConfig(str);
  const tokenEnabled = str("ADMIN_TOKEN_ENABLED") ?? "true";
  if (tokenEnabled !== "true" && tokenEnabled !== "false")
    throw new ConfigError("ADMIN_TOKEN_ENABLED", 'must be "true" or "false"');
  if (tokenEnabled === "false" && access === undefined)
    throw new ConfigError(
      "ADMIN_TOKEN_ENABLED",
      '"false" needs ACCESS_TEAM_DOMAIN and ACCESS_AUD: nobody could sign in',
    );
  const adminToken = tokenEnabled === "true" ? str("ADMIN_TOKEN") : undefined;
  if (tokenEnabled === "true" && adminToken === undefined)
    throw new ConfigError("ADMIN_TOKEN", "is missing: set it with `wrangler secret put ADMIN_TOKEN` (or in .dev.vars)");
  if (adminToken !== undefined && adminToken.length < MIN_ADMIN_TOKEN)
    throw new ConfigError("ADMIN_TOKEN", `must be at least ${MIN_ADMIN_TOKEN} characters`);

  const originUrl = str("ORIGIN_URL");
  if (originUrl === undefined) throw new ConfigError("ORIGIN_URL", "is missing: set it in wrangler.toml [vars]");
  if (!isHttpUrl(originUrl)) throw new ConfigError("ORIGIN_URL", "must be an http(s) URL");

  const failMode = str("GUARD_FAIL_MODE");
  if (failMode !== undefined && failMode !== "closed" && failMode !== "open")
    throw new ConfigError("GUARD_FAIL_MODE", 'must be "closed" or "open"');

  const url = str("UPSTASH_REDIS_REST_URL");
  const token = str("UPSTASH_REDIS_REST_TOKEN");
  if ((url === undefined) !== (token === undefined)) {
    const missing = url === undefined ? "UPSTASH_REDIS_REST_URL" : "UPSTASH_REDIS_REST_TOKEN";
    throw new ConfigError(
      missing,
      "is missing: the Redis backend needs both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN",
    );
  }
  const timeoutMs = wholeSetting(str("STORE_TIMEOUT_MS"), "STORE_TIMEOUT_MS", 1, 999_999, "milliseconds");

  const realm = str("AUTH_REALM");
  if (realm !== undefined && (!/^[\x20-\x7e]{1,64}$/.test(realm) || realm.includes('"') || realm.includes("\\"))) {
    throw new ConfigError("AUTH_REALM", "must be 1 to 64 printable characters without quotes or backslashes");
  }
  // the Upstash URL and token and the key prefix are checked by the Redis store itself (runtime.ts)
  const keyPrefix = str("KEY_PREFIX") ?? DEFAULT_KEY_PREFIX;
  const cacheMaxStalenessMs = wholeSetting(
    str("CACHE_MAX_STALENESS_MS"),
    "CACHE_MAX_STALENESS_MS",
    0,
    60_000,
    "milliseconds (0 turns the cache off)",
  );
  const cacheMaxEntries = wholeSetting(str("CACHE_MAX_ENTRIES"), "CACHE_MAX_ENTRIES", 1, 1_000_000, "entries");
  const cacheSharedSetting = str("CACHE_SHARED") ?? "on";
  if (cacheSharedSetting !== "on" && cacheSharedSetting !== "off")
    throw new ConfigError("CACHE_SHARED", 'must be "on" or "off"');

  const hashKey = str("TOKEN_HASH_KEY");
  const tokenFormat = str("TOKEN_FORMAT");
  if (tokenFormat !== undefined && tokenFormat !== "any" && tokenFormat !== "tagged")
    throw new ConfigError("TOKEN_FORMAT", 'must be "any" or "tagged"');
  if (tokenFormat === "tagged" && hashKey === undefined)
    throw new ConfigError("TOKEN_FORMAT", '"tagged" needs TOKEN_HASH_KEY: the tag key is derived from it');
  const tokenPrefix = str("TOKEN_PREFIX");
  if (tokenPrefix !== undefined && !/^[A-Za-z0-9_-]{1,16}$/.test(tokenPrefix))
    throw new ConfigError("TOKEN_PREFIX", "must be 1 to 16 letters, digits, _ or -");

  return {
    adminToken,
    access,
    auditMaxRecords: wholeSetting(str("AUDIT_MAX_RECORDS"), "AUDIT_MAX_RECORDS", 1, 1_000_000, "records"),
    reuseGraceMs: wholeSetting(str("REUSE_GRACE_MS"), "REUSE_GRACE_MS", 0, 60_000, "milliseconds"),
    originUrl: originUrl.replace(/\/+$/, ""),
    failMode,
    realm,
    oauthClients: parseClients(str("OAUTH_CLIENTS")),
    redis: url !== undefined && token !== undefined ? { url, token, timeoutMs } : undefined,
    hashKey,
    previousHashKeys: [str("TOKEN_HASH_KEY_PREVIOUS")].filter((k): k is string => k !== undefined),
    keyPrefix,
    cacheMaxStalenessMs,
    cacheMaxEntries,
    cacheShared: cacheSharedSetting === "on",
    jwt: readJwtConfig(str),
    tokenFormat,
    tokenPrefix,
    failureLimit: readFailureLimit(str),
  };
}

/** FAILURE_LIMIT_CLIENT_HEADER and FAILURE_LIMIT_PERIOD_S: how FAILURE_LIMITER (when bound) names a client, and its period. */
function readFailureLimit(str: (name: keyof Env) => string | undefined): AppConfig["failureLimit"] {
  const clientHeader = str("FAILURE_LIMIT_CLIENT_HEADER");
  if (clientHeader !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(clientHeader))
    throw new ConfigError("FAILURE_LIMIT_CLIENT_HEADER", "must be a header name: letters, digits and -");
  if (clientHeader !== undefined && /^(authorization|proxy-authorization|cookie)$/i.test(clientHeader))
    throw new ConfigError(
      "FAILURE_LIMIT_CLIENT_HEADER",
      "must not be a credential header: its value would become a rate-limit key",
    );
  const period = str("FAILURE_LIMIT_PERIOD_S");
  if (period !== undefined && period !== "10" && period !== "60")
    throw new ConfigError("FAILURE_LIMIT_PERIOD_S", "must be 10 or 60, the period of the [[ratelimits]] binding");

  return { clientHeader, periodSeconds: period === undefined ? undefined : Number(period) };
}

/** ACCESS_TEAM_DOMAIN and ACCESS_AUD (both or neither) put Cloudflare Access in front of /admin/*. */
function readAccessConfig(str: (name: keyof Env) => string | undefined): AccessConfig | undefined {
  const team = str("ACCESS_TEAM_DOMAIN");
  const audience = str("ACCESS_AUD");
  const certsUrl = str("ACCESS_CERTS_URL");
  if (team === undefined && audience === undefined) {
    if (certsUrl !== undefined) throw new ConfigError("ACCESS_CERTS_URL", "needs ACCESS_TEAM_DOMAIN and ACCESS_AUD");
    return undefined;
  }
  if (team === undefined || audience === undefined)
    throw new ConfigError(team === undefined ? "ACCESS_TEAM_DOMAIN" : "ACCESS_AUD", "is missing: Access needs both");
  // "<team>.cloudflareaccess.com", with or without https://
  const host = team.replace(/^https:\/\//, "").replace(/\/$/, "");
  if (!/^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$/i.test(host))
    throw new ConfigError("ACCESS_TEAM_DOMAIN", "must be your team domain, e.g. myteam.cloudflareaccess.com");
  if (!/^[\x21-\x7e]{1,256}$/.test(audience))
    throw new ConfigError("ACCESS_AUD", "must be the application's audience tag (printable, no spaces)");
  if (certsUrl !== undefined && !isHttpUrl(certsUrl))
    throw new ConfigError("ACCESS_CERTS_URL", "must be an http(s) URL");
  return { teamDomain: `https://${host.toLowerCase()}`, audience, certsUrl };
}

/** JWT_JWKS_URL or JWT_JWKS (not both) turns verification on; the other JWT_* settings refine it. */
function readJwtConfig(str: (name: keyof Env) => string | undefined): JwtConfig | undefined {
  const jwksUrl = str("JWT_JWKS_URL");
  const inline = str("JWT_JWKS");
  if (jwksUrl === undefined && inline === undefined) {
    for (const name of [
      "JWT_ALGORITHMS",
      "JWT_CLOCK_TOLERANCE_S",
      "JWT_ISSUER",
      "JWT_AUDIENCE",
      "JWT_CACHE_ENTRIES",
      "JWT_FAMILY_CLAIM",
    ] as const) {
      if (str(name) !== undefined)
        throw new ConfigError(name, "needs JWT_JWKS_URL or JWT_JWKS: without a key set no JWT is verified");
    }
    return undefined;
  }
  if (jwksUrl !== undefined && inline !== undefined)
    throw new ConfigError("JWT_JWKS", "set JWT_JWKS_URL or JWT_JWKS, not both");
  if (jwksUrl !== undefined && !isHttpUrl(jwksUrl)) throw new ConfigError("JWT_JWKS_URL", "must be an http(s) URL");
  let jwks: JSONWebKeySet | undefined;
  if (inline !== undefined) {
    try {
      jwks = JSON.parse(inline) as JSONWebKeySet;
    } catch {
      throw new ConfigError("JWT_JWKS", 'must be a JSON Web Key Set: {"keys": [...]}');
    }
    if (
      typeof jwks !== "object" ||
      jwks === null ||
      !Array.isArray(jwks.keys) ||
      jwks.keys.some((k) => typeof k !== "object" || k === null)
    ) {
      throw new ConfigError("JWT_JWKS", 'must be a JSON Web Key Set: an object with a "keys" array of JWK objects');
    }
    // a private key in a variable would be a leaked signing key
    if (jwks.keys.some((k) => "d" in k))
      throw new ConfigError("JWT_JWKS", 'holds a private key ("d"): give public keys only');
  }
  const algorithms = str("JWT_ALGORITHMS")
    ?.split(",")
    .map((a) => a.trim());
  const problem = algorithms && algorithmsProblem(algorithms);
  if (problem !== undefined) throw new ConfigError("JWT_ALGORITHMS", problem);
  const familyClaim = str("JWT_FAMILY_CLAIM");
  const claimProblem = familyClaim && claimNameProblem(familyClaim);
  if (claimProblem !== undefined) throw new ConfigError("JWT_FAMILY_CLAIM", claimProblem);
  return {
    url: jwksUrl,
    jwks,
    algorithms,
    clockToleranceSeconds: wholeSetting(str("JWT_CLOCK_TOLERANCE_S"), "JWT_CLOCK_TOLERANCE_S", 0, 300, "seconds"),
    issuer: str("JWT_ISSUER"),
    audience: str("JWT_AUDIENCE"),
    cacheEntries: wholeSetting(
      str("JWT_CACHE_ENTRIES"),
      "JWT_CACHE_ENTRIES",
      0,
      1_000_000,
      "entries (0 turns the cache off)",
    ),
    familyClaim,
  };
}

/**
 * A whole-number setting within [min, max], written in plain digits; a bad one names itself.
 * Unset is undefined: the default is the one its owner (store, cache, verifier) documents.
 */
function wholeSetting(
  raw: string | undefined,
  name: string,
  min: number,
  max: number,
  unit: string,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= min && n <= max))
    throw new ConfigError(name, `must be a whole number of ${unit} from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return n;
}

function parseClients(raw: string | undefined): Map<string, string> {
  const clients = new Map<string, string>();
  if (raw === undefined) return clients;
  for (const entry of raw.split(",")) {
    const i = entry.indexOf(":");
    const id = entry.slice(0, i).trim();
    const secret = entry.slice(i + 1).trim();
    if (i <= 0 || id.length === 0) {
      throw new ConfigError(
        "OAUTH_CLIENTS",
        `must be "id:secret,..." with secrets of at least ${MIN_ADMIN_TOKEN} characters`,
      );
    }
    // the secret itself is never echoed: the message names the client
    if (secret.length < MIN_ADMIN_TOKEN)
      throw new ConfigError(
        "OAUTH_CLIENTS",
        `the secret of client ${JSON.stringify(id)} is shorter than ${MIN_ADMIN_TOKEN} characters`,
      );
    clients.set(id, secret);
  }
  return clients;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && u.host.length > 0;
  } catch {
    return false;
  }
}
