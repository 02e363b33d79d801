/** The Worker's bindings: wrangler `[vars]` and secrets. Every one is read by src/config.ts. */
export interface Env {
  /** Upstash REST URL; with the token, selects the Redis backend. */
  UPSTASH_REDIS_REST_URL?: string;
  /** Secret. Upstash REST token. */
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Secret. Bearer token of the admin API (at least 16 characters). */
  ADMIN_TOKEN?: string;
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
  /** Optional Workers Analytics Engine dataset binding: one data point per guard decision. */
  METRICS?: AnalyticsEngineDataset;
}
