/**
 * Generates the OpenAPI 3.1 document of the admin API and the OAuth endpoints into
 * assets/openapi.json (committed; the Worker serves it at GET /admin/openapi.json). Request
 * bodies are the very JSON Schema objects the routes check bodies against (src/http/body.ts);
 * response bodies are valibot schemas turned into JSON Schema (@valibot/to-json-schema); a test
 * fails when the committed file differs from what this script makes, and another
 * checks every route the app serves against it.
 * Run: npm run openapi
 */
import { writeFileSync } from "node:fs";
import { toJsonSchema } from "@valibot/to-json-schema";
import * as v from "valibot";
import { MAX_BODY_BYTES } from "../src/http/body.js";
import { ErrorBodySchema } from "../src/http/errors.js";
import { DEFAULT_PAGE_LIMIT, RotateBody, StoreBody, TokenBody } from "../src/routes/admin/index.js";
import { OAuthForm } from "../src/routes/oauth/index.js";
import { AUDIT_ACTIONS, AUDIT_PAGE_MAX } from "../src/store/index.js";

type Json = Record<string, unknown>;
/** A valibot schema (the response bodies below) as JSON Schema; the request bodies are JSON Schema already (src/http/body.ts). */
const schema = (s: v.GenericSchema | object): Json => {
  if (!("kind" in s)) return s as Json;
  const { $schema: _dialect, ...rest } = toJsonSchema(s as v.GenericSchema, { errorMode: "ignore" }) as Json;
  return rest;
};

/** Response bodies, described for clients (the routes build these objects themselves). */
const Metadata = v.object({
  id: v.string(),
  subject: v.string(),
  issuedAt: v.string(),
  expiresAt: v.string(),
  issuer: v.optional(v.string()),
  keyId: v.optional(v.string()),
  type: v.optional(v.string()),
  status: v.optional(v.string()),
  clientId: v.optional(v.string()),
  family: v.optional(v.string()),
});
const OAuthError = v.object({ error: v.string(), error_description: v.string() });
const Introspection = v.object({
  active: v.boolean(),
  sub: v.optional(v.string()),
  jti: v.optional(v.string()),
  iss: v.optional(v.string()),
  iat: v.optional(v.number()),
  exp: v.optional(v.number()),
  token_type: v.optional(v.string()),
  client_id: v.optional(v.string()),
  kid: v.optional(v.string()),
});

const json = (s: v.GenericSchema | object, description: string) => ({
  description,
  content: { "application/json": { schema: schema(s) } },
});
const adminError = (description: string) => json(ErrorBodySchema, description);
const oauthError = (description: string) => json(OAuthError, description);

/** Statuses every admin route can answer, and those of routes that take a JSON body. */
const ADMIN_ERRORS = {
  401: adminError("no or wrong admin token, or a Cloudflare Access assertion that does not verify"),
  503: adminError("the store cannot be reached (Retry-After)"),
};
const BODY_ERRORS = {
  400: adminError("invalid JSON, a wrong or missing field, or metadata the store refuses"),
  413: adminError(`a body over ${MAX_BODY_BYTES} bytes`),
  415: adminError("a body that is not application/json"),
};
const TOKEN_ERRORS = { 404: adminError("unknown token"), 410: adminError("the token has expired or been revoked") };
const jsonBody = (s: object) => ({ required: true, content: { "application/json": { schema: schema(s) } } });
const pathParam = (name: string) => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string", minLength: 1, maxLength: 256 },
});

/** The page size of the list routes (activity, audit). */
const LIMIT_PARAM = {
  name: "limit",
  in: "query",
  required: false,
  schema: { type: "integer", minimum: 1, maximum: AUDIT_PAGE_MAX, default: DEFAULT_PAGE_LIMIT },
};

interface Route {
  method: "get" | "post";
  path: string;
  summary: string;
  requestBody?: unknown;
  parameters?: unknown[];
  responses: Record<number, unknown>;
}

/** Every route of the admin API and the OAuth endpoints. The route test compares it with the app. */
export const ROUTES: Route[] = [
  {
    method: "post",
    path: "/admin/tokens",
    summary: "Store a token (or update it); without a token, mint a tagged one",
    requestBody: jsonBody(StoreBody),
    responses: {
      201: json(
        v.object({ token: v.optional(v.string()), ...Metadata.entries }),
        "the stored metadata; with `token` (shown this once) when the server minted it",
      ),
      ...BODY_ERRORS,
      409: adminError("the id is held by another live token"),
      410: adminError("the token is revoked, or covered by a cutoff or key revocation"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "post",
    path: "/admin/tokens/rotate",
    summary:
      "Rotate a refresh token: retire it and mint its successor in the same family; a rotated token used again revokes the family",
    requestBody: jsonBody(RotateBody),
    responses: {
      201: json(
        v.object({ token: v.string(), ...Metadata.entries }),
        "the new token (shown this once) and its metadata: the old token's subject, family and client",
      ),
      ...BODY_ERRORS,
      404: adminError("unknown token"),
      409: adminError(
        "token_reused: the token was already rotated, and every token of its family is now revoked; token_rotated: it was rotated within REUSE_GRACE_MS, nothing was revoked; id_conflict: the id is held by another live token",
      ),
      410: adminError("the token has expired or been revoked"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "post",
    path: "/admin/tokens/lookup",
    summary: "Look a token up (get)",
    requestBody: jsonBody(TokenBody),
    responses: { 200: json(Metadata, "the live token's metadata"), ...BODY_ERRORS, ...TOKEN_ERRORS, ...ADMIN_ERRORS },
  },
  {
    method: "post",
    path: "/admin/tokens/status",
    summary: "Whether a token is revoked (isRevoked)",
    requestBody: jsonBody(TokenBody),
    responses: {
      200: json(v.object({ revoked: v.boolean() }), "the revocation state"),
      ...BODY_ERRORS,
      404: adminError("unknown token"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "post",
    path: "/admin/tokens/inspect",
    summary: "A token's state, whatever it is: live, expired, revoked (when and by what) or unknown (inspect)",
    requestBody: jsonBody(TokenBody),
    responses: {
      200: json(
        v.object({
          state: v.picklist(["live", "expired", "revoked", "unknown"]),
          metadata: v.optional(Metadata),
          revokedAt: v.optional(v.string()),
          revokedBy: v.optional(v.picklist(["token", "subject", "key", "family"])),
        }),
        "the state; metadata unless unknown; revokedAt and revokedBy for a revoked stored opaque token (a verified JWT is live or revoked, with its claims as metadata and no time)",
      ),
      ...BODY_ERRORS,
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "post",
    path: "/admin/tokens/revoke",
    summary: "Revoke a token; a verified JWT is deny-listed",
    requestBody: jsonBody(TokenBody),
    responses: {
      200: json(v.object({ revoked: v.literal(true) }), "revoked"),
      ...BODY_ERRORS,
      404: adminError("unknown token"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "post",
    path: "/admin/tokens/delete",
    summary: "Delete a token with its indexes",
    requestBody: jsonBody(TokenBody),
    responses: {
      200: json(v.object({ deleted: v.literal(true) }), "deleted"),
      ...BODY_ERRORS,
      404: adminError("unknown token"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "get",
    path: "/admin/tokens/by-id/{id}",
    summary: "Look a token up by id (getById)",
    parameters: [pathParam("id")],
    responses: {
      200: json(Metadata, "the live token's metadata"),
      400: adminError("a malformed id"),
      ...TOKEN_ERRORS,
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "post",
    path: "/admin/tokens/by-id/{id}/revoke",
    summary: "Revoke the token an id names (revokeById)",
    parameters: [pathParam("id")],
    responses: {
      200: json(v.object({ revoked: v.literal(true) }), "revoked"),
      400: adminError("a malformed id"),
      404: adminError("no stored token has this id"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "get",
    path: "/admin/subjects/{subject}/tokens",
    summary: "A subject's live tokens (list)",
    parameters: [pathParam("subject")],
    responses: {
      200: json(v.object({ tokens: v.array(Metadata) }), "the live tokens by issuedAt, then id"),
      400: adminError("a malformed subject"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "post",
    path: "/admin/subjects/{subject}/revoke",
    summary: "Log a subject out everywhere and record a cutoff (revokeSubject)",
    parameters: [pathParam("subject")],
    responses: {
      200: json(v.object({ revoked: v.number() }), "how many stored tokens were newly revoked"),
      400: adminError("a malformed subject"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "post",
    path: "/admin/keys/{keyId}/revoke",
    summary: "Refuse every token signed by a key (revokeKey)",
    parameters: [pathParam("keyId")],
    responses: {
      200: json(v.object({ revoked: v.literal(true) }), "revoked"),
      400: adminError("a malformed key id"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "post",
    path: "/admin/families/{family}/revoke",
    summary:
      "Revoke every token of a family (a grant): refresh and access, opaque or JWT, stored or not (revokeFamily)",
    parameters: [pathParam("family")],
    responses: {
      200: json(v.object({ revoked: v.literal(true) }), "revoked"),
      400: adminError("a malformed family"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "post",
    path: "/admin/cleanup",
    summary: "Remove expired tokens now",
    responses: { 200: json(v.object({ removed: v.number() }), "how many were removed"), ...ADMIN_ERRORS },
  },
  {
    method: "get",
    path: "/admin/activity",
    summary: "The newest revocations in the change feed, newest first",
    parameters: [LIMIT_PARAM],
    responses: {
      200: json(
        v.object({
          changes: v.array(
            v.object({
              seq: v.number(),
              at: v.string(),
              type: v.picklist(["token", "subject", "key", "family"]),
              fingerprint: v.optional(v.string()),
              subject: v.optional(v.string()),
              keyId: v.optional(v.string()),
              family: v.optional(v.string()),
            }),
          ),
        }),
        "a token by its fingerprint (revoked, deleted, deny-listed, replaced or rotated), a subject cutoff, a key revocation, or a family revocation",
      ),
      400: adminError("limit is not one whole number from 1 to 1000"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "get",
    path: "/admin/audit",
    summary: "Who wrote what: the audit trail of admin and OAuth writes, newest first",
    parameters: [
      {
        name: "since",
        in: "query",
        required: false,
        schema: { type: "string" },
        description: "epoch ms or an ISO 8601 time: records appended at or after it",
      },
      {
        name: "before",
        in: "query",
        required: false,
        schema: { type: "string", pattern: "^\\d{1,15}-\\d{1,15}$" },
        description: "the `next` of the previous page",
      },
      LIMIT_PARAM,
    ],
    responses: {
      200: json(
        v.object({
          records: v.array(
            v.object({
              id: v.string(),
              at: v.string(),
              actor: v.string(),
              action: v.picklist(AUDIT_ACTIONS),
              target: v.object({
                fingerprint: v.optional(v.string()),
                id: v.optional(v.string()),
                subject: v.optional(v.string()),
                keyId: v.optional(v.string()),
                family: v.optional(v.string()),
              }),
              result: v.string(),
            }),
          ),
          next: v.optional(v.string()),
        }),
        "records newest first (a token named by its fingerprint, never itself); next when older ones follow",
      ),
      400: adminError("a bad or repeated since, before or limit"),
      ...ADMIN_ERRORS,
    },
  },
  {
    method: "get",
    path: "/admin/stats",
    summary: "This isolate's verdict cache counters",
    responses: {
      200: {
        description: '`{ scope: "isolate", cache }`, cache null without a verdict cache',
        content: { "application/json": { schema: { type: "object" } } },
      },
      401: ADMIN_ERRORS[401],
    },
  },
  {
    method: "get",
    path: "/admin/openapi.json",
    summary: "This document",
    responses: {
      200: { description: "the OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object" } } } },
      401: ADMIN_ERRORS[401],
      404: adminError("the Worker has no ASSETS binding (wrangler.toml [assets])"),
    },
  },
  ...(["revoke", "introspect"] as const).map((name): Route => ({
    method: "post",
    path: `/oauth/${name}`,
    summary:
      name === "revoke"
        ? "Revoke a token (RFC 7009); a refresh token (token_type_hint or its stored type) takes its family with it (§2.1)"
        : "Introspect a token (RFC 7662)",
    requestBody: { required: true, content: { "application/x-www-form-urlencoded": { schema: schema(OAuthForm) } } },
    responses: {
      200:
        name === "revoke"
          ? { description: "revoked, or an unknown or invalid token (RFC 7009 §2.2)" }
          : json(Introspection, 'the token\'s state; {"active":false} and nothing more when it is not live'),
      400: oauthError(
        name === "revoke"
          ? "invalid_request (a missing or repeated parameter, two client authentication methods, not form-encoded) or invalid_grant (the token was issued to another client)"
          : "invalid_request: a missing or repeated parameter, two client authentication methods, not form-encoded",
      ),
      401: oauthError("invalid_client (Basic challenge) or, for a wrong bearer, invalid_token (Bearer challenge)"),
      405: oauthError("any method but POST (Allow: POST)"),

      503: oauthError("temporarily_unavailable: the store or the key set cannot be reached"),
    },
  })),
];

export function buildOpenApi(): Json {
  const paths: Json = {};
  for (const { method, path, ...op } of ROUTES) {
    // client_secret_post travels in the form body, which no security scheme can name: {} stands for it
    const security = path.startsWith("/oauth/")
      ? [{ clientBasic: [] }, { adminBearer: [] }, {}]
      : [{ adminBearer: [] }, { accessAssertion: [] }];
    (paths[path] ??= {}) as Json;
    (paths[path] as Json)[method] = { ...op, security };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "edge-token-store",
      version: "0.1.0",
      description:
        "Admin API and OAuth 2.0 revocation (RFC 7009) and introspection (RFC 7662) of the edge-token-store Worker. Every other path is guarded and forwarded to the origin.",
    },
    paths,
    components: {
      securitySchemes: {
        adminBearer: {
          type: "http",
          scheme: "bearer",
          description: "ADMIN_TOKEN (unless ADMIN_TOKEN_ENABLED is false)",
        },
        accessAssertion: {
          type: "apiKey",
          in: "header",
          name: "Cf-Access-Jwt-Assertion",
          description: "a Cloudflare Access assertion (ACCESS_TEAM_DOMAIN and ACCESS_AUD set); Access adds it itself",
        },
        clientBasic: {
          type: "http",
          scheme: "basic",
          description:
            "client_secret_basic against OAUTH_CLIENTS; client_secret_post (client_id and client_secret in the form) works too",
        },
      },
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync("assets/openapi.json", `${JSON.stringify(buildOpenApi(), null, 2)}\n`);
  console.log("openapi: wrote assets/openapi.json");
}
