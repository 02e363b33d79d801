import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  ErrClientMismatch,
  ErrIDConflict,
  ErrInvalidConfig,
  ErrInvalidMetadata,
  ErrStoreUnavailable,
  ErrTokenExpired,
  ErrTokenNotFound,
  ErrTokenReused,
  ErrTokenRevoked,
  ErrTokenRotated,
  StorageError,
  type StoreSentinel,
} from "../store/core/index.js";

/** The one error body of this API: `{ "error": { "code", "message" } }`; scripts/openapi.ts documents it from here. */
export const ErrorBodySchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: { code: { type: "string" }, message: { type: "string" } },
      required: ["code", "message"],
    },
  },
  required: ["error"],
} as const;
export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorJson(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  headers?: Record<string, string>,
): Response {
  return c.json({ error: { code, message } } satisfies ErrorBody, status, headers);
}

/** Seconds a client should wait before retrying after a store outage. */
export const RETRY_AFTER_SECONDS = "5";

const STATUS = new Map<StoreSentinel, ContentfulStatusCode>([
  [ErrInvalidMetadata, 400],
  [ErrTokenNotFound, 404],
  [ErrIDConflict, 409],
  [ErrTokenExpired, 410],
  [ErrTokenRevoked, 410],
  [ErrStoreUnavailable, 503],
  [ErrInvalidConfig, 500],
  [ErrClientMismatch, 403],
  [ErrTokenReused, 409],
  [ErrTokenRotated, 409],
]);

/**
 * A StorageError as an HTTP answer: bad input 400, not found 404, id conflict and a rotated
 * token used again 409 (`token_reused`: its family is revoked; `token_rotated`: within the
 * grace, nothing revoked), expired or revoked 410, store outage 503 with Retry-After. The message holds no raw token.
 */
function storageErrorResponse(c: Context, e: StorageError): Response {
  const status = STATUS.get(e.err) ?? 500;
  const headers = status === 503 ? { "Retry-After": RETRY_AFTER_SECONDS } : undefined;
  return errorJson(c, status, e.err.code, e.message, headers);
}

/**
 * Whether `e` means the store could not answer (rather than answering no). Callers fail
 * closed on it: 503, never a verdict on the token.
 */
export function isStoreOutage(e: unknown): boolean {
  return e instanceof StorageError && (e.err === ErrStoreUnavailable || e.err === ErrInvalidConfig);
}

/** Runs a store call and answers its StorageError as JSON; anything else is rethrown. */
export async function withStore(c: Context, fn: () => Promise<Response>): Promise<Response> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StorageError) return storageErrorResponse(c, e);
    throw e;
  }
}

/** No signing keys to verify a JWT with: 503, never a verdict (forged tokens must not pass). */
export function keysUnavailable(c: Context): Response {
  return errorJson(c, 503, "keys_unavailable", "the signing keys cannot be fetched; try again shortly", {
    "Retry-After": RETRY_AFTER_SECONDS,
  });
}
