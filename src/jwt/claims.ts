/**
 * jose's JWT claim checks (its `jwtVerify`, lib/jwt_claims_set.js in jose 6), written out for
 * the options this project uses, so that a fresh token and one the verifier's cache holds are
 * checked by the same code; jose only checks the signature (`compactVerify`), and leaves its
 * claims code out of the bundle. test/jwt/claims.test.ts holds them to jwtVerify's answers.
 */
import type { CompactVerifyResult } from "jose";

/** What {@link claimsProblem} checks: jwtVerify's options, as the verifiers passed them. */
export interface ClaimRules {
  /** Claims that must be present besides `iat` (and `iss`, `aud` when expected), in the order jose looks. */
  readonly required: readonly string[];
  /** When set, `iss` must equal it. */
  readonly issuer?: string | undefined;
  /** When set, `aud` must be it or an array holding it. */
  readonly audience?: string | undefined;
  /** Seconds of leeway for `exp`, `nbf` and `iat`. */
  readonly tolerance: number;
  /** The greatest age from `iat`, in seconds (jose's `maxTokenAge`): `iat` is required and not in the future. */
  readonly maxAge: number;
}

/** The claims {@link claimsProblem} reads; a JSON payload and the verifier's cache entry both fit. */
export interface CheckedClaims {
  readonly iss?: unknown;
  readonly aud?: unknown;
  readonly iat?: unknown;
  readonly nbf?: unknown;
  readonly exp?: unknown;
}

const MALFORMED = "the token is malformed";
const EXPIRED = "the token has expired";
const NOT_YET_VALID = "the token is not yet valid";
const ISSUE_TIME = "the token issue time is not acceptable";

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * The claims set of a verified JWS, read as jwtVerify reads it: UTF-8 JSON that is an object.
 * Undefined when it is not, or when the payload is not base64url-encoded (`b64: false`), which
 * jwtVerify refuses in a JWT.
 */
export function claimsSet({ payload, protectedHeader }: CompactVerifyResult): Record<string, unknown> | undefined {
  // compactVerify has made sure that a `crit` naming b64 comes with a boolean b64
  if (protectedHeader.crit?.includes("b64") && protectedHeader.b64 === false) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(strictDecoder.decode(payload));
  } catch {
    return undefined;
  }
  return typeof claims === "object" && claims !== null && !Array.isArray(claims)
    ? (claims as Record<string, unknown>)
    : undefined;
}

/**
 * Why jose's jwtVerify would refuse these claims at this time (ms, as an injected clock gives
 * it), as the `error_description` a client sees; undefined when it would accept them. The checks
 * run in jose's order and with its arithmetic, so the first failing one names the same claim.
 */
export function claimsProblem(claims: CheckedClaims, nowMs: number, rules: ClaimRules): string | undefined {
  const { issuer, audience, tolerance, maxAge } = rules;
  const required = [
    ...(issuer === undefined ? [] : ["iss"]),
    ...(audience === undefined ? [] : ["aud"]),
    "iat",
    ...rules.required,
  ];
  // own properties only: a claim named "constructor" must not be found on the prototype
  const missing = required.find((name) => !Object.hasOwn(claims, name));
  if (missing !== undefined) return `the token lacks the ${missing} claim`;
  if (issuer !== undefined && claims.iss !== issuer) return "the token issuer is not accepted";
  const { aud } = claims;
  if (audience !== undefined && aud !== audience && !(Array.isArray(aud) && aud.includes(audience)))
    return "the token audience is not accepted";
  // jose throws a TypeError here for a clock or leeway that is not a finite number, or a negative leeway
  const now = Math.floor(new Date(nowMs).getTime() / 1000);
  if (!Number.isFinite(now) || !Number.isFinite(tolerance) || tolerance < 0) return MALFORMED;
  const { iat, nbf, exp } = claims;
  if (typeof iat !== "number") return ISSUE_TIME;
  if (nbf !== undefined && (typeof nbf !== "number" || nbf > now + tolerance)) return NOT_YET_VALID;
  if (exp !== undefined) {
    if (typeof exp !== "number") return MALFORMED;
    if (exp <= now - tolerance) return EXPIRED;
  }
  if (!Number.isFinite(maxAge) || maxAge < 0) return MALFORMED;
  const age = now - iat;
  if (age - tolerance > maxAge) return EXPIRED; // too old: jose says expired, naming iat
  if (age < -tolerance) return ISSUE_TIME; // issued in the future
  return undefined;
}
