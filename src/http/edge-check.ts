import { KeySetUnavailable } from "../jwt/key-set.js";
import { JwtRejected, type JwtVerifier } from "../jwt/verifier.js";
import type { GetHints, JwtClaims } from "../store/core/types.js";

/** What the edge knows of a bearer token before any store call. */
export type EdgeCheck =
  | { kind: "opaque" }
  | { kind: "jwt"; claims: JwtClaims }
  | { kind: "rejected"; description: string }
  | { kind: "keys_unavailable"; error: KeySetUnavailable };

/**
 * "Verify the JWT or refuse", written once for the guard, the admin API and OAuth. A token
 * that is not a JWS (or any token, with no verifier) is `opaque`: the store decides. A JWS is
 * `jwt` with its verified claims, `rejected` (forged, expired, wrong algorithm: it never
 * reaches the store), or `keys_unavailable` (the caller fails closed). Anything else throws.
 */
export async function checkAtEdge(jwt: JwtVerifier | undefined, token: string, hints?: GetHints): Promise<EdgeCheck> {
  if (jwt === undefined || !jwt.accepts(token)) return { kind: "opaque" };
  try {
    return { kind: "jwt", claims: await jwt.verify(token, hints) };
  } catch (e) {
    if (e instanceof JwtRejected) return { kind: "rejected", description: e.description };
    if (e instanceof KeySetUnavailable) return { kind: "keys_unavailable", error: e };
    throw e;
  }
}
