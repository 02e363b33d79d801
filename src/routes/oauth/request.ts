/**
 * What an OAuth request must be before either endpoint acts on it: a form with each parameter
 * once, from an authenticated caller; and the RFC 6749 §5.2 error body every refusal uses.
 */
import type { Context } from "hono";
import { bearerToken, secretsEqual, stripOws } from "../../http/auth.js";
import { bodyProblem, type BodySchema } from "../../http/body.js";

/** Who may call: the OAuth clients, and the admin token for resource servers. */
export interface OAuthClients {
  /** client id → secret, for client_secret_basic and client_secret_post. */
  clients: ReadonlyMap<string, string>;
  /** Also accepted as `Authorization: Bearer`, for resource servers (RFC 7662 §2.1); undefined when turned off. */
  adminToken?: string;
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
export function oauthError(
  c: Context,
  status: 400 | 401 | 405 | 503,
  error: string,
  description: string,
  headers?: Record<string, string>,
) {
  return c.json({ error, error_description: description }, status, { "Cache-Control": "no-store", ...headers });
}

/** Who asks: an OAuth client, or a resource server holding the admin bearer token (any token). */
export type Caller = { clientId: string } | { clientId: undefined };

/** The compared-against secret for an unknown client id, so timing does not tell which ids exist. */
const UNKNOWN_CLIENT_SECRET = "\0unknown-client";

/**
 * Authenticates the caller: a Bearer header (RFC 7662 §2.1, the admin token), HTTP Basic
 * (client_secret_basic) or client_id + client_secret in the form (client_secret_post), never
 * two methods at once (RFC 6749 §2.3). A refusal is the Response to send.
 */
async function authenticate(c: Context, form: Record<string, string>, deps: OAuthClients): Promise<Caller | Response> {
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

/** The form (each parameter once, RFC 6749 §3.2) and its authenticated caller, or the Response refusing them. */
export async function readForm(
  c: Context,
  deps: OAuthClients,
): Promise<{ token: string; hint: string | undefined; caller: Caller } | Response> {
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
  return { token: form.token!, hint: form.token_type_hint, caller };
}
