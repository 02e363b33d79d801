/** The admin API's request bodies: their schemas (the OpenAPI document publishes them as they are) and the middlewares that check them. */
import type { MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { B64TOKEN } from "../../http/auth.js";
import { bodyProblem, type BodySchema, type FieldSchema } from "../../http/body.js";
import { errorJson } from "../../http/errors.js";
import { LIMITS, type TokenMetadata } from "../../store/core/index.js";

const Token = { type: "string", minLength: 1, maxLength: LIMITS.token } as const;
const StringField = { type: "string" } as const;
const DateField = {
  anyOf: [{ type: "string" }, { type: "number" }],
  description: "must be an ISO 8601 string or epoch milliseconds",
} satisfies FieldSchema;

/** `{ token }`: the body of every route that names a token (the OpenAPI document publishes it as it is). */
export const TokenBody = {
  type: "object",
  properties: { token: Token },
  required: ["token"],
  additionalProperties: false,
} satisfies BodySchema;
export const StoreBody = {
  type: "object",
  properties: {
    // left out: the server mints a tagged token and answers it once. A token the guard can ever
    // see: one no Bearer header can carry is refused
    token: {
      ...Token,
      pattern: B64TOKEN.source,
      description: "token must be an RFC 6750 b64token (A-Z a-z 0-9 - . _ ~ + /, then any =)",
    },
    id: StringField,
    subject: StringField,
    issuer: StringField,
    issuedAt: DateField,
    expiresAt: DateField,
    keyId: StringField,
    type: StringField,
    status: StringField,
    clientId: StringField,
    family: StringField,
  },
  required: ["id", "subject"],
  additionalProperties: false,
} satisfies BodySchema;

/**
 * `POST /admin/tokens/rotate`: the refresh token to retire, and the new token's metadata. The
 * new token is always minted here; its subject, family and client are the old token's (given
 * ones must match); `id` defaults to a fresh UUID.
 */
export const RotateBody = {
  ...StoreBody,
  // the token to retire: any token the store could hold, as in every other route that names one
  properties: { ...StoreBody.properties, token: Token },
  required: ["token"],
} satisfies BodySchema;

export type RotateInput = Omit<StoreInput, "token" | "id" | "subject"> & {
  token: string;
  id?: string;
  subject?: string;
};

export type StoreInput = Omit<TokenMetadata, "issuedAt" | "expiresAt"> & {
  token?: string;
  issuedAt?: string | number;
  expiresAt?: string | number;
};

/**
 * A JSON body (requireJson has checked its type) checked against `schema`; every failure is a
 * 400 that names the field. The checked body is what `c.req.valid("json")` answers.
 */
export function jsonBody<T extends object>(
  schema: BodySchema,
): MiddlewareHandler<object, string, { out: { json: T } }> {
  return async (c, next) => {
    let value: unknown;
    try {
      value = await c.req.json();
    } catch {
      throw new HTTPException(400, { message: "Malformed JSON in request body" });
    }
    const problem = bodyProblem(schema, value);
    if (problem !== undefined) return errorJson(c, 400, "invalid_request", problem);
    c.req.addValidatedData("json", value as T);
    await next();
  };
}

export const requireJson: MiddlewareHandler = async (c, next) => {
  const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json")
    return errorJson(c, 415, "unsupported_media_type", "send the body as application/json");
  await next();
};
