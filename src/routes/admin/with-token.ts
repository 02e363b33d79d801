/** The check every admin route that takes a token in its body runs first. */
import type { Context } from "hono";
import { errorJson, keysUnavailable, withStore } from "../../http/errors.js";
import type { JwtClaims } from "../../store/core/index.js";
import { checkAtEdge, type EdgeOptions } from "../../tokens/credential.js";

/**
 * Runs `fn` with the body's token and, for a JWS-shaped token when a key set is configured,
 * its verified claims. What the edge refuses never reaches the store: a JWT that fails
 * verification is 400; a forged tag (or an untagged token under TOKEN_FORMAT=tagged) is
 * `forged`'s answer, 404 unless the route says otherwise.
 */
export function withToken(
  c: Context,
  edge: EdgeOptions,
  token: string,
  fn: (claims: JwtClaims | undefined) => Promise<Response>,
  forged = () => errorJson(c, 404, "token_not_found", "no such token: its tag does not verify"),
): Promise<Response> {
  return withStore(c, async () => {
    const checked = await checkAtEdge(edge, token);
    if (checked.kind === "rejected") return errorJson(c, 400, "invalid_token", checked.description);
    if (checked.kind === "keys_unavailable") return keysUnavailable(c);
    if (checked.kind === "forged") return forged();
    return fn(checked.kind === "jwt" ? checked.claims : undefined);
  });
}
