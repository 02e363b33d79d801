import { jwtVerify, type JWTPayload } from "jose";
import { DEFAULT_MAX_TOKEN_LIFETIME_MS, LIMITS, type GetHints, type JwtClaims } from "../store/core/types.js";
import { stringProblem } from "../store/core/validate.js";
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

/** Why jose refused a token, as the `error_description` a client sees. */
const REASONS: Record<string, string> = {
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "the token signature is invalid",
  ERR_JOSE_ALG_NOT_ALLOWED: "the token algorithm is not allowed",
  ERR_JOSE_NOT_SUPPORTED: "the token algorithm is not allowed",
  ERR_JWT_EXPIRED: "the token has expired",
  ERR_JWKS_NO_MATCHING_KEY: "no key matches the token",
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: "no single key matches the token",
};
const CLAIM_REASONS: Record<string, string> = {
  nbf: "the token is not yet valid",
  iss: "the token issuer is not accepted",
  aud: "the token audience is not accepted",
  iat: "the token issue time is not acceptable",
};

export class JwtVerifier {
  readonly keys: KeySet;
  private readonly algorithms: string[];
  private readonly tolerance: number;
  private readonly maxLifetimeSeconds: number;

  /** Throws TypeError naming a bad option (the runtime turns it into a config error). */
  constructor(private readonly options: JwtVerifierOptions) {
    this.algorithms = options.algorithms ?? [...DEFAULT_ALGORITHMS];
    const problem = algorithmsProblem(this.algorithms);
    if (problem !== undefined) throw new TypeError(`algorithms: ${problem}`);
    this.tolerance = options.clockToleranceSeconds ?? 30;
    if (!Number.isInteger(this.tolerance) || this.tolerance < 0 || this.tolerance > 300)
      throw new TypeError("clockToleranceSeconds must be a whole number from 0 to 300");
    this.maxLifetimeSeconds = Math.floor((options.maxLifetimeMs ?? DEFAULT_MAX_TOKEN_LIFETIME_MS) / 1000);
    this.keys = new KeySet(options);
  }

  /** Whether the token is a JWS in compact form, which this verifier alone decides about. */
  accepts(token: string): boolean {
    return JWS_SHAPE.test(token);
  }

  /** The verified claims; rejects with JwtRejected (401) or KeySetUnavailable (503). */
  async verify(token: string, hints?: GetHints): Promise<JwtClaims> {
    let payload: JWTPayload;
    let kid: unknown;
    try {
      ({
        payload,
        protectedHeader: { kid },
      } = await jwtVerify(token, (h, t) => this.keys.key(h, t, hints), {
        algorithms: this.algorithms,
        clockTolerance: this.tolerance,
        issuer: this.options.issuer,
        audience: this.options.audience,
        requiredClaims: ["exp", "iat", "sub"],
        maxTokenAge: this.maxLifetimeSeconds,
        currentDate: new Date((this.options.now ?? Date.now)()),
      }));
    } catch (e) {
      if (e instanceof KeySetUnavailable) throw e;
      const code = (e as { code?: string }).code ?? "";
      const claim = (e as { claim?: string }).claim ?? "";
      if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && /missing/.test((e as Error).message))
        throw new JwtRejected(`the token lacks the ${claim} claim`);
      throw new JwtRejected(REASONS[code] ?? CLAIM_REASONS[claim] ?? "the token is malformed");
    }
    const { sub, jti, iss, iat, exp } = payload;
    if (stringProblem("sub", sub, LIMITS.subject) !== undefined)
      throw new JwtRejected("the token's sub claim is not acceptable");
    if (jti !== undefined && stringProblem("jti", jti, LIMITS.id) !== undefined)
      throw new JwtRejected("the token's jti claim is not acceptable");
    if (kid !== undefined && stringProblem("kid", kid, LIMITS.field) !== undefined)
      throw new JwtRejected("the token's kid is not acceptable");
    if (iss !== undefined && stringProblem("iss", iss, LIMITS.field, true) !== undefined)
      throw new JwtRejected("the token's iss claim is not acceptable");
    if (exp! - iat! > this.maxLifetimeSeconds) throw new JwtRejected("the token lives longer than allowed");
    const claims: JwtClaims = {
      subject: sub as string,
      issuedAt: new Date(iat! * 1000),
      expiresAt: new Date(exp! * 1000),
    };
    if (kid !== undefined) claims.keyId = kid as string;
    if (jti !== undefined) claims.id = jti;
    if (iss !== undefined) claims.issuer = iss;
    return claims;
  }
}
