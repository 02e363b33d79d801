import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { bodyLimit } from "hono/body-limit";
import { bearerToken, secretsEqual, stripOws } from "../http/auth.js";
import { MAX_BODY_BYTES } from "../http/body.js";
import { bodyProblem, type BodySchema } from "../http/body-schema.js";
import { isStoreOutage, RETRY_AFTER_SECONDS } from "../http/errors.js";
import { KeySetUnavailable } from "../jwt/key-set.js";
import { checkAtEdge, type TokenFormat } from "../http/edge-check.js";
import type { TokenTags } from "../tokens/tagged.js";
import type { JwtVerifier } from "../jwt/verifier.js";
import { ErrClientMismatch, StorageError } from "../store/core/errors.js";
import type { JwtClaims, TokenStore } from "../store/core/types.js";
import { ADMIN_TOKEN_ACTOR } from "../http/admin-auth.js";
import type { Audited } from "../http/audit.js";

export interface OAuthDeps {
  store: TokenStore;
  /** client id → secret, for client_secret_basic and client_secret_post. */
  clients: ReadonlyMap<string, string>;
  /** Also accepted as `Authorization: Bearer`, for resource servers (RFC 7662 §2.1); undefined when turned off. */
  adminToken?: string;
  /** Records each revocation, with the client (or "admin-token") as its actor. */
  audited: Audited;
  /** With a key set configured: JWS-shaped tokens are verified, never written unverified. */
  jwt?: JwtVerifier;
  /** Tagged tokens' tags, checked before any store call. */
  tags?: TokenTags;
  /** "tagged": an untagged opaque token is treated as invalid without a store call. @default "any" */
  tokenFormat?: TokenFormat;
}

/** The form both endpoints take (RFC 7009 §2.1, RFC 7662 §2.1); OpenAPI is generated from it. */
export const OAuthForm = {
  type: "object",
  properties: {
    token: { type: "string", minLength: 1 },
    token_type_hint: { type: "string" },
    client_id: { type: "string" },
    client_secret: { type: "string" },
  },
  required: ["token"],
} satisfies BodySchema;

/** RFC 6749 §5.2 error body, which OAuth clients parse: `{ error, error_description }`. */
function oauthError(
  c: Context,
  status: 400 | 401 | 405 | 503,
  error: string,
  description: string,
  headers?: Record<string, string>,
) {
  return c.json({ error, error_description: description }, status, { "Cache-Control": "no-store", ...headers });
}

/** Who asks: an OAuth client, or a resource server holding the admin bearer token (any token). */
type Caller = { clientId: string } | { clientId: undefined };

/** The compared-against secret for an unknown client id, so timing does not tell which ids exist. */
const UNKNOWN_CLIENT_SECRET = "\0unknown-client";

/**
 * Authenticates the caller: a Bearer header (RFC 7662 §2.1, the admin token), HTTP Basic
 * (client_secret_basic) or client_id + client_secret in the form (client_secret_post), never
 * two methods at once (RFC 6749 §2.3). A refusal is the Response to send.
 */
async function authenticate(c: Context, form: Record<string, string>, deps: OAuthDeps): Promise<Caller | Response> {
  const header = c.req.header("Authorization");
  const bearer = bearerToken(header);
  if (bearer !== undefined) {
    if (typeof bearer === "string" && deps.adminToken !== undefined && (await secretsEqual(bearer, deps.adminToken)))
      return { clientId: undefined };
    // RFC 7662 §2.3 → RFC 6750 §3: a bad bearer gets a Bearer challenge, not a Basic one
    return oauthError(c, 401, "invalid_token", "the bearer token is not accepted", {
      "WWW-Authenticate": 'Bearer realm="oauth", error="invalid_token"',
    });
  }
  const refuse = () =>
    oauthError(c, 401, "invalid_client", "client authentication failed", { "WWW-Authenticate": 'Basic realm="oauth"' });
  let id = form.client_id;
  let secret = form.client_secret;
  // RFC 7617: "Basic" 1*SP token68, with no other white space
  const basic = /^Basic +([A-Za-z0-9+/]+=*)$/i.exec(stripOws(header ?? ""));
  if (basic !== null) {
    if (secret !== undefined)
      return oauthError(
        c,
        400,
        "invalid_request",
        "use one client authentication method, not Basic and client_secret both",
      );
    let decoded: string;
    try {
      decoded = atob(basic[1]!);
    } catch {
      return refuse();
    }
    const i = decoded.indexOf(":");
    if (i < 0) return refuse();
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Base64
    const unescape = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, " "));
      } catch {
        return s;
      }
    };
    if (id !== undefined && id !== unescape(decoded.slice(0, i)))
      return oauthError(c, 400, "invalid_request", "client_id differs from the Basic credentials");
    id = unescape(decoded.slice(0, i));
    secret = unescape(decoded.slice(i + 1));
  }
  if (id === undefined || secret === undefined) return refuse();
  const expected = deps.clients.get(id);
  const ok = await secretsEqual(secret, expected ?? UNKNOWN_CLIENT_SECRET);
  return ok && expected !== undefined ? { clientId: id } : refuse();
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

  /** The form (each parameter once, RFC 6749 §3.2) and its authenticated caller, or the Response refusing them. */
  async function readForm(c: Context): Promise<{ token: string; caller: Caller } | Response> {
    const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded") {
      return oauthError(c, 400, "invalid_request", "send the body as application/x-www-form-urlencoded");
    }
    // bytes, then UTF-8: workerd warns when .text() reads a body whose type is not text/*
    const form: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer()))) {
      if (Object.hasOwn(form, k))
        return oauthError(c, 400, "invalid_request", `the ${JSON.stringify(k).slice(0, 80)} parameter is repeated`);
      form[k] = v;
    }
    const caller = await authenticate(c, form, deps);
    if (caller instanceof Response) return caller;
    if (bodyProblem(OAuthForm, form) !== undefined)
      return oauthError(c, 400, "invalid_request", "the token parameter is required");
    return { token: form.token!, caller };
  }

  const outage = (c: Context, e: unknown) =>
    isStoreOutage(e) || e instanceof KeySetUnavailable
      ? oauthError(c, 503, "temporarily_unavailable", "the token store cannot be reached", {
          "Retry-After": RETRY_AFTER_SECONDS,
        })
      : undefined;

  const edgeOptions = { jwt: deps.jwt, tags: deps.tags, format: deps.tokenFormat };

  /**
   * A JWS-shaped token's verified claims; undefined for an opaque token the store decides
   * about; null for a token that is invalid at the edge (a JWT that does not verify, a forged tag).
   */
  async function claimsOf(token: string): Promise<JwtClaims | null | undefined> {
    const edge = await checkAtEdge(edgeOptions, token);
    if (edge.kind === "keys_unavailable") throw edge.error;
    if (edge.kind === "rejected" || edge.kind === "forged") return null;
    return edge.kind === "jwt" ? edge.claims : undefined;
  }

  oauth.post("/revoke", async (c) => {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    const { token, caller } = form;
    try {
      const claims = await claimsOf(token);
      // RFC 7009 §2.2: an invalid token is not an error; a JWT that does not verify is never written
      if (claims !== null) {
        const actor = caller.clientId ?? ADMIN_TOKEN_ACTOR;
        // an unknown token changed nothing, and any client may send any number: logged, not kept in
        // the store's capped trail, which a flood of them would otherwise empty of admin records
        const changed = (result: string) => result !== "token_not_found";
        await (claims
          ? deps.audited(actor, "denyJwt", { token, subject: claims.subject }, () => deps.store.denyJwt(token, claims))
          : deps.audited(
              actor,
              "revoke",
              { token },
              () => deps.store.revoke(token, { clientId: caller.clientId }),
              changed,
            ));
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
    const form = await readForm(c);
    if (form instanceof Response) return form;
    try {
      const { token } = form;
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
