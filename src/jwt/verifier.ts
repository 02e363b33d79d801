import { compactVerify, type CompactJWSHeaderParameters } from "jose";
import {
  DEFAULT_MAX_TOKEN_LIFETIME_MS,
  identifierProblem,
  LIMITS,
  familyProblem,
  stringProblem,
  type GetHints,
  type JwtClaims,
} from "../store/core/index.js";
import { claimsProblem, claimsSet, type ClaimRules } from "./claims.js";
import { KeySet, KeySetUnavailable, type KeySetOptions } from "./key-set.js";

/** The only algorithms a key set may be trusted for: asymmetric ones. Never `none`, never HMAC. */
export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;
export const DEFAULT_ALGORITHMS = ["RS256", "ES256", "EdDSA"] as const;

/** What a family claim may be named: letters, digits, `_` and `-`, 1 to 64 of them. */
const CLAIM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Why a family claim name is refused, or undefined when it is acceptable. */
export function claimNameProblem(name: unknown): string | undefined {
  return typeof name === "string" && CLAIM_NAME.test(name)
    ? undefined
    : "must be a claim name: 1 to 64 letters, digits, _ or -";
}

/** Why an algorithm allow-list is refused, or undefined when it is acceptable. */
export function algorithmsProblem(algorithms: readonly string[]): string | undefined {
  const bad = algorithms.find((a) => !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a));
  if (bad === undefined && algorithms.length > 0) return undefined;
  return `${bad === undefined ? "no algorithm is given" : `${JSON.stringify(bad)} is not allowed`}: only ${ASYMMETRIC_ALGORITHMS.join(", ")} (never none, never HMAC)`;
}

export interface JwtVerifierOptions extends KeySetOptions {
  /** @default {@link DEFAULT_ALGORITHMS}; only {@link ASYMMETRIC_ALGORITHMS} are accepted. */
  algorithms?: string[];
  /** Seconds of leeway for `exp`, `nbf` and `iat`. @default 30 (at most 300) */
  clockToleranceSeconds?: number;
  /** When set, `iss` must equal it. */
  issuer?: string;
  /** When set, `aud` must hold it. */
  audience?: string;
  /** The longest a token may live (`exp − iat`), in ms; keep it the store's `maxTokenLifetime`. @default 30 days, the store's default */
  maxLifetimeMs?: number;
  /**
   * How many verified JWTs this isolate remembers (LRU, keyed by the token's SHA-256; the raw
   * token is never kept), so that a token seen again skips only its signature check: its times,
   * issuer, audience and algorithm are checked again on every request, and its key must still
   * be in the key set unchanged. A failure is never remembered. Memory, measured in V8 (map
   * included): about 0.4 KB an entry with ordinary claims, 1.3 KB with `sub`, `jti`, `iss` and
   * `kid` at their 256-character limits, 2.4 KB at worst (the same, outside Latin-1): the default
   * bounds the cache at about 4 MB, 24 MB at worst. 0 turns it off.
   * @default 10_000 (at most 1_000_000)
   */
  cacheEntries?: number;
  /**
   * The claim that names a token's family (its grant or session: TokenMetadata.family), which
   * `revokeFamily` refuses as a whole. Its value must follow the store's rules for identifying
   * strings, or the token is refused; a token without it has no family.
   * @default "sid" (OpenID Connect's session id)
   */
  familyClaim?: string;
}

/** What a cache entry keeps of a verified JWT: enough to check it again and to answer, never the token. */
interface Verified {
  readonly sub: string;
  readonly jti: string | undefined;
  readonly iss: string | undefined;
  readonly kid: string | undefined;
  /** The family claim's value. */
  readonly family: string | undefined;
  readonly alg: string;
  readonly iat: number;
  readonly exp: number;
  readonly nbf: number | undefined;
  /** In place of the token's `aud`: the `audience` option it was checked against, if any, all a check needs. */
  readonly aud: string | undefined;
  /** {@link KeySet.print} of the keys it verified against: a removed or replaced key changes it. */
  readonly print: string;
}

/** What {@link JwtVerifier.cacheStats} reports. */
export interface JwtCacheStats {
  /** Entries held now. */
  entries: number;
  /** The bound on entries (`cacheEntries`). */
  capacity: number;
  /** Verifications answered from the cache: no signature check. */
  hits: number;
  /** Verifications that checked the signature (the cache on, no usable entry). */
  misses: number;
}

/** A JWT that failed verification: 401 `invalid_token` with `description`. Nothing was stored. */
export class JwtRejected extends Error {
  override readonly name = "JwtRejected";
  constructor(readonly description: string) {
    super(description);
  }
}

/** JWS compact serialization: three base64url parts, the first a JSON header (`eyJ` is `{"`). */
const JWS_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Why jose refused a token's signature, as the `error_description` a client sees (claims.ts has the claims' reasons). */
const REASONS: Record<string, string> = {
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "the token signature is invalid",
  ERR_JOSE_ALG_NOT_ALLOWED: "the token algorithm is not allowed",
  ERR_JOSE_NOT_SUPPORTED: "the token algorithm is not allowed",
  ERR_JWKS_NO_MATCHING_KEY: "no key matches the token",
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: "no single key matches the token",
};

export class JwtVerifier {
  readonly keys: KeySet;
  private readonly algorithms: string[];
  private readonly tolerance: number;
  private readonly maxLifetimeSeconds: number;
  private readonly capacity: number;
  private readonly familyClaim: string;
  /** SHA-256 of a token → its verification, least recently used first. */
  private readonly cache = new Map<string, Verified>();
  private hits = 0;
  private misses = 0;

  /** Throws TypeError naming a bad option (the runtime turns it into a config error). */
  constructor(private readonly options: JwtVerifierOptions) {
    this.algorithms = options.algorithms ?? [...DEFAULT_ALGORITHMS];
    const problem = algorithmsProblem(this.algorithms);
    if (problem !== undefined) throw new TypeError(`algorithms: ${problem}`);
    this.tolerance = options.clockToleranceSeconds ?? 30;
    if (!Number.isInteger(this.tolerance) || this.tolerance < 0 || this.tolerance > 300)
      throw new TypeError("clockToleranceSeconds must be a whole number from 0 to 300");
    this.maxLifetimeSeconds = Math.floor((options.maxLifetimeMs ?? DEFAULT_MAX_TOKEN_LIFETIME_MS) / 1000);
    this.capacity = options.cacheEntries ?? 10_000;
    if (!Number.isInteger(this.capacity) || this.capacity < 0 || this.capacity > 1_000_000)
      throw new TypeError("cacheEntries must be a whole number from 0 to 1000000");
    this.familyClaim = options.familyClaim ?? "sid";
    const claimProblem = claimNameProblem(this.familyClaim);
    if (claimProblem !== undefined) throw new TypeError(`familyClaim ${claimProblem}`);
    this.keys = new KeySet(options);
  }

  /** Whether the token is a JWS in compact form, which this verifier alone decides about. */
  accepts(token: string): boolean {
    return JWS_SHAPE.test(token);
  }

  /** The cache's counters (the tests read them). */
  cacheStats(): JwtCacheStats {
    return { entries: this.cache.size, capacity: this.capacity, hits: this.hits, misses: this.misses };
  }

  /**
   * The verified claims; rejects with JwtRejected (401) or KeySetUnavailable (503). A token
   * verified before is answered from the cache when every check but the signature passes again;
   * otherwise its entry goes and it is verified in full, so the answer is the full one.
   */
  async verify(token: string, hints?: GetHints): Promise<JwtClaims> {
    let hash: string | undefined;
    if (this.capacity > 0) {
      hash = await sha256(token);
      const seen = this.cache.get(hash);
      if (seen !== undefined) {
        this.cache.delete(hash);
        if (this.stillValid(seen)) {
          this.cache.set(hash, seen); // now the most recently used
          this.hits++;
          this.keys.refreshIfDue(hints); // a busy isolate still refreshes its key set
          return claimsOf(seen);
        }
      }
      this.misses++;
    }
    let payload: Record<string, unknown> | undefined;
    let header: CompactJWSHeaderParameters;
    let print: string | undefined;
    try {
      const verified = await compactVerify(token, (h, t) => this.keys.key(h, t, hints, (p) => (print = p)), {
        algorithms: this.algorithms,
      });
      payload = claimsSet(verified);
      header = verified.protectedHeader;
    } catch (e) {
      if (e instanceof KeySetUnavailable) throw e;
      throw new JwtRejected(REASONS[(e as { code?: string }).code ?? ""] ?? "the token is malformed");
    }
    if (payload === undefined) throw new JwtRejected("the token is malformed");
    const rules = this.rules();
    const problem = claimsProblem(payload, (this.options.now ?? Date.now)(), rules);
    if (problem !== undefined) throw new JwtRejected(problem);
    const { kid, alg } = header;
    const { sub, jti, iss, iat, exp, nbf } = payload;
    // an own property only: a claim name such as "constructor" must not read the prototype
    const family = Object.hasOwn(payload, this.familyClaim) ? payload[this.familyClaim] : undefined;
    // the store's rules for what these name (identifier.ts): a claim that breaks them is refused
    // here, at no store cost, naming the claim and, for a hidden character, its code point
    const claims: [label: string, value: unknown, limit: number, optional: boolean][] = [
      ["sub claim", sub, LIMITS.subject, false],
      ["jti claim", jti, LIMITS.id, true],
      ["kid", kid, LIMITS.field, true],
      ["iss claim", iss, LIMITS.field, true],
      [`${this.familyClaim} claim`, family, LIMITS.field, true],
    ];
    for (const [label, value, limit, optional] of claims) {
      if (optional && value === undefined) continue;
      if (stringProblem(label, value, limit, label === "iss claim") !== undefined)
        throw new JwtRejected(`the token's ${label} is not acceptable`);
      const hidden = identifierProblem(label, value as string);
      if (hidden !== undefined) throw new JwtRejected(`the token's ${hidden}`);
    }
    // and a family the store could hold: not "." or "..", which no admin path can name
    if (family !== undefined && familyProblem(family) !== undefined)
      throw new JwtRejected(`the token's ${this.familyClaim} claim is not acceptable`);
    // claimsProblem made iat and exp numbers and nbf one or absent; the loop above made the rest strings
    if ((exp as number) - (iat as number) > this.maxLifetimeSeconds)
      throw new JwtRejected("the token lives longer than allowed");
    const verified: Verified = {
      sub: sub as string,
      jti: jti as string | undefined,
      iss: iss as string | undefined,
      kid: kid as string | undefined,
      family: family as string | undefined,
      alg: alg!,
      iat: iat as number,
      exp: exp as number,
      nbf: nbf as number | undefined,
      aud: rules.audience,
      print: print!,
    };
    if (hash !== undefined && print !== undefined) this.remember(hash, verified);
    return claimsOf(verified);
  }

  /**
   * Every check of a verified token but its signature's, made again now: the claims by the same
   * {@link claimsProblem} as a fresh token (so `exp`, `nbf` and `iat` against the clock now), its
   * algorithm, and its key unchanged in the set in hand.
   */
  private stillValid(v: Verified): boolean {
    return (
      claimsProblem(v, (this.options.now ?? Date.now)(), this.rules()) === undefined &&
      this.algorithms.includes(v.alg) &&
      this.keys.print(v.kid) === v.print
    );
  }

  /**
   * The claim checks jwtVerify made with `requiredClaims: ["exp", "iat", "sub"]` and `maxTokenAge`
   * the longest lifetime, against the issuer and audience options as they are now.
   */
  private rules(): ClaimRules {
    const { issuer, audience } = this.options;
    return { required: ["sub", "exp"], issuer, audience, tolerance: this.tolerance, maxAge: this.maxLifetimeSeconds };
  }

  private remember(hash: string, v: Verified): void {
    this.cache.delete(hash);
    this.cache.set(hash, v);
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
  }
}

/** The claims of a verified token, made afresh for each answer (callers may keep or change them). */
function claimsOf(v: Verified): JwtClaims {
  const claims: JwtClaims = {
    subject: v.sub,
    issuedAt: new Date(v.iat * 1000),
    expiresAt: new Date(v.exp * 1000),
  };
  if (v.kid !== undefined) claims.keyId = v.kid;
  if (v.jti !== undefined) claims.id = v.jti;
  if (v.iss !== undefined) claims.issuer = v.iss;
  if (v.family !== undefined) claims.family = v.family;
  return claims;
}

const encoder = new TextEncoder();

/** The cache key: a token's SHA-256, base64 (one flat 44-character string). */
async function sha256(token: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(token)));
  return btoa(String.fromCharCode(...bytes));
}
