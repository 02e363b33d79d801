import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { bearerToken, secretsEqual, stripOws } from "../http/auth.js";
import { isStoreOutage, RETRY_AFTER_SECONDS } from "../http/errors.js";
import { KeySetUnavailable } from "../jwt/key-set.js";
import { JwtRejected, type JwtVerifier } from "../jwt/verifier.js";
import { StorageError } from "../store/errors.js";
import type { JwtClaims, TokenStore } from "../store/types.js";

export interface OAuthDeps {
  store: TokenStore;
  /** client id → secret, for client_secret_basic and client_secret_post. */
  clients: ReadonlyMap<string, string>;
  /** Also accepted as `Authorization: Bearer`, for resource servers (RFC 7662 §2.1). */
  adminToken: string;
  /** With a key set configured: JWS-shaped tokens are verified, never written unverified. */
  jwt?: JwtVerifier;
}

/** RFC 6749 §5.2 error body, which OAuth clients parse: `{ error, error_description }`. */
function oauthError(c: Context, status: 400 | 401 | 503, error: string, description: string, headers?: Record<string, string>) {
  return c.json({ error, error_description: description }, status, { "Cache-Control": "no-store", ...headers });
}

async function authenticated(c: Context, form: Record<string, string>, deps: OAuthDeps): Promise<boolean> {
  const header = c.req.header("Authorization");
  const bearer = bearerToken(header);
  if (typeof bearer === "string") return secretsEqual(bearer, deps.adminToken);
  let id = form.client_id;
  let secret = form.client_secret;
  // RFC 7617: "Basic" 1*SP token68, with no other white space
  const basic = /^Basic +([A-Za-z0-9+/]+=*)$/i.exec(stripOws(header ?? ""));
  if (basic !== null) {
    let decoded: string;
    try {
      decoded = atob(basic[1]!);
    } catch {
      return false;
    }
    const i = decoded.indexOf(":");
    if (i < 0) return false;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Base64
    const unescape = (s: string) => { try { return decodeURIComponent(s.replace(/\+/g, " ")); } catch { return s; } };
    id = unescape(decoded.slice(0, i));
    secret = unescape(decoded.slice(i + 1));
  }
  if (id === undefined || secret === undefined) return false;
  const expected = deps.clients.get(id);
  // compare even for an unknown id, so timing does not tell which ids exist
  const ok = await secretsEqual(secret, expected ?? "\0unknown-client");
  return ok && expected !== undefined;
}

/** Token revocation (RFC 7009) and introspection (RFC 7662), form-encoded, client-authenticated. */
export function oauthRoutes(deps: OAuthDeps): Hono {
  const oauth = new Hono();
  oauth.use("*", bodyLimit({ maxSize: 16 * 1024, onError: (c) => oauthError(c, 400, "invalid_request", "the body is too large") }));

  async function readForm(c: Context): Promise<Record<string, string> | Response> {
    const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded") {
      return oauthError(c, 400, "invalid_request", "send the body as application/x-www-form-urlencoded");
    }
    // bytes, then UTF-8: workerd warns when .text() reads a body whose type is not text/*
    const form = Object.fromEntries(new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer())));
    if (!(await authenticated(c, form, deps))) {
      return oauthError(c, 401, "invalid_client", "client authentication failed", { "WWW-Authenticate": 'Basic realm="oauth"' });
    }
    if (typeof form.token !== "string" || form.token.length === 0) return oauthError(c, 400, "invalid_request", "the token parameter is required");
    return form;
  }

  const outage = (c: Context, e: unknown) =>
    isStoreOutage(e) || e instanceof KeySetUnavailable
      ? oauthError(c, 503, "temporarily_unavailable", "the token store cannot be reached", { "Retry-After": RETRY_AFTER_SECONDS })
      : undefined;

  /** A JWS-shaped token's verified claims; undefined for an opaque token; null when it does not verify. */
  async function claimsOf(token: string): Promise<JwtClaims | null | undefined> {
    if (!deps.jwt?.accepts(token)) return undefined;
    try {
      return await deps.jwt.verify(token);
    } catch (e) {
      if (e instanceof JwtRejected) return null;
      throw e;
    }
  }

  oauth.post("/revoke", async (c) => {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    const token = form.token!;
    try {
      const claims = await claimsOf(token);
      // RFC 7009 §2.2: an invalid token is not an error; a JWT that does not verify is never written
      if (claims !== null) await (claims ? deps.store.denyJwt(token, claims) : deps.store.revoke(token));
    } catch (e) {
      // RFC 7009 §2.2: an unknown or invalid token is not an error
      const res = outage(c, e);
      if (res !== undefined) return res;
      if (!(e instanceof StorageError)) throw e;
    }
    return c.body(null, 200, { "Cache-Control": "no-store" });
  });

  oauth.post("/introspect", async (c) => {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    try {
      const token = form.token!;
      const claims = await claimsOf(token);
      if (claims === null) return c.json({ active: false }, 200, { "Cache-Control": "no-store" });
      const md = claims ? await deps.store.checkJwt(token, claims) : await deps.store.get(token);
      const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
      return c.json(
        {
          active: true,
          sub: md.subject,
          jti: md.id === "" ? undefined : md.id,
          iss: md.issuer,
          iat: seconds(md.issuedAt),
          exp: seconds(md.expiresAt),
          token_type: md.type,
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

  oauth.all("*", (c) => c.json({ error: "not_found", error_description: "no such OAuth endpoint" }, 404));
  return oauth;
}
