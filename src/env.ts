/** The Worker's bindings: wrangler `[vars]` and secrets. Every one is read by src/config.ts. */
export interface Env {
  /** Upstash REST URL; with the token, selects the Redis backend. */
  UPSTASH_REDIS_REST_URL?: string;
  /** Secret. Upstash REST token. */
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Secret. Bearer token of the admin API (at least 16 characters). */
  ADMIN_TOKEN?: string;
  /** "false" turns ADMIN_TOKEN off once Cloudflare Access is in place (needs ACCESS_*). Default "true". */
  ADMIN_TOKEN_ENABLED?: string;
  /** Cloudflare Access team domain, e.g. myteam.cloudflareaccess.com: with ACCESS_AUD, /admin/* accepts Access identities. */
  ACCESS_TEAM_DOMAIN?: string;
  /** The Access application's audience (AUD) tag. */
  ACCESS_AUD?: string;
  /** Where Access's signing keys are, when not https://<team>/cdn-cgi/access/certs (tests, local runs). */
  ACCESS_CERTS_URL?: string;
  /** Audit records the store keeps (admin and OAuth writes, with who made them). Default 10000. */
  AUDIT_MAX_RECORDS?: string;
  /** ms after a rotation in which rotating the same refresh token again is a retry, not a reuse (the store's reuseGraceMs). */
  REUSE_GRACE_MS?: string;
  /** Where live requests are forwarded, e.g. https://api.internal.example. */
  ORIGIN_URL?: string;
  /** Secret, optional. Pepper: tokens are keyed by HMAC-SHA-256 under it. */
  TOKEN_HASH_KEY?: string;
  /** Secret, optional. The pepper before TOKEN_HASH_KEY while rotating it: tokens stored under it still work. */
  TOKEN_HASH_KEY_PREVIOUS?: string;
  /** Prefix of every Redis key. */
  KEY_PREFIX?: string;
  /** "closed" (default): a store outage refuses requests with 503. "open": forwards them unverified. */
  GUARD_FAIL_MODE?: string;
  /** Secret, optional. OAuth clients for /oauth/*: "id:secret,id2:secret2". */
  OAUTH_CLIENTS?: string;
  /** Realm named in WWW-Authenticate. */
  AUTH_REALM?: string;
  /** Milliseconds before a Redis call fails with ErrStoreUnavailable. */
  STORE_TIMEOUT_MS?: string;
  /** The verdict cache's staleness bound in ms (Redis backend); "0" turns the cache off. Default 1000. */
  CACHE_MAX_STALENESS_MS?: string;
  /** Most verdicts the cache keeps per isolate. Default 10000. */
  CACHE_MAX_ENTRIES?: string;
  /** "on" (default) or "off": the data-center tier under the verdict cache (docs/verdict-cache.md). */
  CACHE_SHARED?: string;
  /** Where to fetch the JWKS that signs JWT bearer tokens; turns JWT verification on. */
  JWT_JWKS_URL?: string;
  /** An inline JWKS (JSON) instead of JWT_JWKS_URL: static keys, tests. */
  JWT_JWKS?: string;
  /** Comma-separated allowed algorithms (asymmetric only). Default RS256,ES256,EdDSA. */
  JWT_ALGORITHMS?: string;
  /** Seconds of leeway for exp, nbf and iat. Default 30. */
  JWT_CLOCK_TOLERANCE_S?: string;
  /** When set, a JWT's iss must equal it. */
  JWT_ISSUER?: string;
  /** When set, a JWT's aud must contain it. */
  JWT_AUDIENCE?: string;
  /** Verified JWTs remembered per isolate, so a token seen again skips only its signature check; "0" turns it off. Default 10000. */
  JWT_CACHE_ENTRIES?: string;
  /** The claim that names a JWT's family (its grant or session), which a family revocation refuses. Default sid. */
  JWT_FAMILY_CLAIM?: string;
  /** Optional Workers Analytics Engine dataset binding: one data point per guard decision. */
  METRICS?: AnalyticsEngineDataset;
  /** "any" (default): untagged opaque tokens still go to the store. "tagged": only tagged ones can reach it. */
  TOKEN_FORMAT?: string;
  /** The prefix of minted (tagged) tokens, for secret scanners. Default "ets_". */
  TOKEN_PREFIX?: string;
  /** Optional Workers Rate Limiting binding: counts failed credentials per client (wrangler.toml [[ratelimits]]). */
  FAILURE_LIMITER?: RateLimit;
  /** The header naming the client for FAILURE_LIMITER. Default CF-Connecting-IP. */
  FAILURE_LIMIT_CLIENT_HEADER?: string;
  /** The admin console's files (wrangler.toml [assets]); without it /admin/console answers 404. */
  ASSETS?: Fetcher;
  /** FAILURE_LIMITER's period in seconds (10 or 60, as in wrangler.toml), sent as Retry-After. Default 60. */
  FAILURE_LIMIT_PERIOD_S?: string;
}
