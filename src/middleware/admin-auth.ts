import type { Context, MiddlewareHandler } from "hono";
import { ACCESS_HEADER, type AccessVerifier } from "../jwt/access.js";
import { KeySetUnavailable } from "../jwt/key-set.js";
import { JwtRejected } from "../jwt/verifier.js";
import { bearerToken, secretsEqual } from "../http/auth.js";
import { errorJson, keysUnavailable } from "../http/errors.js";

/** Who is making an admin call: a Cloudflare Access identity, or "admin-token" for the shared token. */
export type AdminVariables = { actor: string };

/** The actor named for the shared ADMIN_TOKEN (and OAuth calls that use it). */
export const ADMIN_TOKEN_ACTOR = "admin-token";

export interface AdminAuthOptions {
  /** The shared admin token; undefined when it is turned off (Access only). */
  adminToken?: string;
  /** Verifies `Cf-Access-Jwt-Assertion`, when Access is configured. */
  access?: AccessVerifier;
}

/**
 * Authenticates an admin call and sets `actor`. With Access configured, a request carrying an
 * Access assertion is judged by it alone (a bad one is 401 whatever else it holds; keys that
 * cannot be fetched are 503, never a pass); otherwise `Authorization: Bearer <ADMIN_TOKEN>`.
 */
export function adminAuth({ adminToken, access }: AdminAuthOptions): MiddlewareHandler<{ Variables: AdminVariables }> {
  const refuse = (c: Context, message: string) =>
    errorJson(c, 401, "unauthorized", message, { "WWW-Authenticate": 'Bearer realm="admin"' });
  return async function adminAuth(c, next) {
    const assertion = access && c.req.header(ACCESS_HEADER);
    if (access !== undefined && assertion !== undefined) {
      try {
        c.set("actor", await access.actor(assertion));
      } catch (e) {
        if (e instanceof KeySetUnavailable) return keysUnavailable(c);
        if (e instanceof JwtRejected) return refuse(c, e.description);
        throw e;
      }
      return next();
    }
    const given = bearerToken(c.req.header("Authorization"));
    if (adminToken !== undefined && typeof given === "string" && (await secretsEqual(given, adminToken))) {
      c.set("actor", ADMIN_TOKEN_ACTOR);
      return next();
    }
    return refuse(
      c,
      adminToken === undefined
        ? `the admin API needs a Cloudflare Access identity (${ACCESS_HEADER})`
        : "the admin API needs Authorization: Bearer <ADMIN_TOKEN>",
    );
  };
}
