import { KeySetUnavailable } from "../jwt/key-set.js";
import { JwtRejected, type JwtVerifier } from "../jwt/verifier.js";
import type { GetHints, JwtClaims, StoredTokenMetadata, TokenStore } from "../store/core/index.js";
import type { TokenTags } from "./tagged.js";

/** Which opaque tokens may reach the store: "tagged" only, or "any" (tagged ones still checked at the edge). */
export type TokenFormat = "any" | "tagged";

/**
 * What the edge checks before any store call, every part optional. The guard's options, the
 * admin API's and OAuth's deps extend it, so each passes itself down as it is.
 */
export interface EdgeOptions {
  /** Verifies JWS-shaped tokens (signature, algorithm, times, issuer, audience). */
  jwt?: JwtVerifier;
  /** Checks tagged opaque tokens' tags. */
  tags?: TokenTags;
  /** "tagged": only tagged opaque tokens reach the store; the rest are refused at the edge. @default "any" */
  tokenFormat?: TokenFormat;
}

/** What the edge knows of a bearer token before any store call. */
export type EdgeCheck =
  | { kind: "opaque" }
  | { kind: "jwt"; claims: JwtClaims }
  | { kind: "rejected"; description: string }
  | { kind: "forged" }
  | { kind: "keys_unavailable"; error: KeySetUnavailable };

/**
 * "Verify the credential or refuse", written once for the guard, the admin API and OAuth. A
 * JWS is `jwt` with its verified claims, `rejected` (forged, expired, wrong algorithm), or
 * `keys_unavailable` (the caller fails closed). An opaque token whose tag does not verify, or
 * any untagged one under `tokenFormat: "tagged"`, is `forged`: the store can hold no such token,
 * so callers answer as for an unknown token, with no round trip. Other opaque tokens are
 * `opaque`: the store decides. Anything unexpected throws.
 */
export async function checkAtEdge(edge: EdgeOptions, token: string, hints?: GetHints): Promise<EdgeCheck> {
  const { jwt, tags, tokenFormat = "any" } = edge;
  if (jwt !== undefined && jwt.accepts(token)) {
    try {
      return { kind: "jwt", claims: await jwt.verify(token, hints) };
    } catch (e) {
      if (e instanceof JwtRejected) return { kind: "rejected", description: e.description };
      if (e instanceof KeySetUnavailable) return { kind: "keys_unavailable", error: e };
      throw e;
    }
  }
  const tag = tags === undefined ? "untagged" : await tags.check(token);
  if (tag === "invalid" || (tag === "untagged" && tokenFormat === "tagged")) return { kind: "forged" };
  return { kind: "opaque" };
}

/**
 * "A verified JWT or an opaque token", written once for the guard, the admin API's lookup and
 * OAuth introspection: a JWT the edge verified (`claims`) has its revocations checked with
 * `checkJwt`; any other token is looked up with `get`. One round trip either way.
 */
export function checkCredential(
  store: TokenStore,
  token: string,
  claims: JwtClaims | undefined,
  hints?: GetHints,
): Promise<StoredTokenMetadata> {
  return claims === undefined ? store.get(token, hints) : store.checkJwt(token, claims, hints);
}
