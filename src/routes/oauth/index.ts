import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { bodyLimit } from "hono/body-limit";
import { MAX_BODY_BYTES } from "../../http/body.js";
import { isStoreOutage, RETRY_AFTER_SECONDS } from "../../http/errors.js";
import { KeySetUnavailable } from "../../jwt/key-set.js";
import { ADMIN_TOKEN_ACTOR } from "../../middleware/admin-auth.js";
import { ErrClientMismatch, StorageError } from "../../store/core/index.js";
import type { JwtClaims, TokenStore } from "../../store/core/index.js";
import { checkAtEdge, checkCredential, type EdgeOptions } from "../../tokens/credential.js";
import { revokeCredential, type Audited } from "../audited.js";
import { oauthError, readForm, type OAuthClients } from "./request.js";

export { OAuthForm } from "./request.js";

/** What the OAuth endpoints are given; the edge checks (`jwt`, `tags`, `tokenFormat`) are its {@link EdgeOptions}. */
export interface OAuthDeps extends OAuthClients, EdgeOptions {
  store: TokenStore;
  /** Records each revocation, with the client (or "admin-token") as its actor. */
  audited: Audited;
}

/** The answer to a store outage or unreachable keys (503, RFC 6749's temporarily_unavailable); undefined for anything else. */
function outage(c: Context, e: unknown): Response | undefined {
  return isStoreOutage(e) || e instanceof KeySetUnavailable
    ? oauthError(c, 503, "temporarily_unavailable", "the token store cannot be reached", {
        "Retry-After": RETRY_AFTER_SECONDS,
      })
    : undefined;
}

/**
 * A JWS-shaped token's verified claims; undefined for an opaque token the store decides
 * about; null for a token that is invalid at the edge (a JWT that does not verify, a forged tag).
 */
async function claimsOf(edge: EdgeOptions, token: string): Promise<JwtClaims | null | undefined> {
  const checked = await checkAtEdge(edge, token);
  if (checked.kind === "keys_unavailable") throw checked.error;
  if (checked.kind === "rejected" || checked.kind === "forged") return null;
  return checked.kind === "jwt" ? checked.claims : undefined;
}

/** Token revocation (RFC 7009) and introspection (RFC 7662), form-encoded, client-authenticated. */
export function oauthRoutes(deps: OAuthDeps): Hono {
  const oauth = new Hono();
  oauth.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => oauthError(c, 400, "invalid_request", "the body is too large"),
    }),
  );

  oauth.post("/revoke", async (c) => {
    const form = await readForm(c, deps);
    if (form instanceof Response) return form;
    const { token, caller } = form;
    try {
      const claims = await claimsOf(deps, token);
      // RFC 7009 §2.2: an invalid token is not an error; a JWT that does not verify is never written
      if (claims !== null) {
        const actor = caller.clientId ?? ADMIN_TOKEN_ACTOR;
        // an unknown token changed nothing, and any client may send any number: logged, not kept in
        // the store's capped trail, which a flood of them would otherwise empty of admin records
        const changed = (result: string) => result !== "token_not_found";
        // RFC 7009 §2.1: a refresh token, by the client's hint or its stored type, takes the access
        // tokens of its grant (its family) with it; an access token is revoked alone
        const family = form.hint === "refresh_token" ? true : "refresh";
        await revokeCredential(deps.audited, actor, deps.store, token, claims, {
          clientId: caller.clientId,
          family,
          keep: changed,
        });
      }
    } catch (e) {
      const res = outage(c, e);
      if (res !== undefined) return res;
      // RFC 7009 §2.1: a token issued to another client is refused and stays live; RFC 6749 §5.2
      // names that invalid_grant ("issued to another client")
      if (e instanceof StorageError && e.err === ErrClientMismatch)
        return oauthError(c, 400, "invalid_grant", "the token was issued to another client");
      // RFC 7009 §2.2: an unknown or invalid token is not an error
      if (!(e instanceof StorageError)) throw e;
    }
    return c.body(null, 200, { "Cache-Control": "no-store" });
  });

  oauth.post("/introspect", async (c) => {
    const form = await readForm(c, deps);
    if (form instanceof Response) return form;
    try {
      const { token } = form;
      const claims = await claimsOf(deps, token);
      if (claims === null) return c.json({ active: false }, 200, { "Cache-Control": "no-store" });
      const md = await checkCredential(deps.store, token, claims);
      const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
      return c.json(
        {
          active: true,
          sub: md.subject,
          jti: md.id === "" ? undefined : md.id,
          iss: md.issuer,
          iat: seconds(md.issuedAt),
          exp: seconds(md.expiresAt),
          // RFC 7662 §2.2 means an RFC 6749 §7.1 token type: every token here is a bearer token
          token_type: "Bearer",
          client_id: md.clientId,
          kid: md.keyId,
        },
        200,
        { "Cache-Control": "no-store" },
      );
    } catch (e) {
      const res = outage(c, e);
      if (res !== undefined) return res;
      if (!(e instanceof StorageError)) throw e;
      // RFC 7662 §2.2: an unknown, expired or revoked token is inactive, and nothing more is said
      return c.json({ active: false }, 200, { "Cache-Control": "no-store" });
    }
  });

  // both endpoints take POST only (RFC 7009 §2.1, RFC 7662 §2.1)
  for (const path of ["/revoke", "/introspect"]) {
    oauth.all(path, (c) =>
      oauthError(c, 405, "invalid_request", `${path.slice(1)} takes POST only`, { Allow: "POST" }),
    );
  }
  oauth.all("*", (c) => c.json({ error: "not_found", error_description: "no such OAuth endpoint" }, 404));
  return oauth;
}
