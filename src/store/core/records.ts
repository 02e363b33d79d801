// A token's record as backends keep it: checked and filled from metadata or JWT claims, turned
// back into metadata, and ordered for `list`.
import { ErrInvalidMetadata, ErrTokenExpired, StorageError } from "./errors.js";
import { familyProblem, identifyingProblem, stringProblem } from "./inputs.js";
import { LIMITS, type StoredTokenMetadata } from "./types.js";

/** A token's metadata as backends keep it: dates as epoch milliseconds, plus the revocation mark. */
export interface TokenRecord {
  id: string;
  subject: string;
  issuer?: string;
  keyId?: string;
  type?: string;
  status?: string;
  clientId?: string;
  family?: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt?: number;
}

export const OPTIONAL_FIELDS = ["issuer", "keyId", "type", "status", "clientId", "family"] as const;

/**
 * Validates `metadata` and fills its defaults. Invalid input is ErrInvalidMetadata, an expiry
 * at or before now is ErrTokenExpired. Fields outside TokenMetadata are dropped.
 */
export function normalizeMetadata(
  op: string,
  key: string,
  metadata: unknown,
  now: number,
  defaultTtl: number,
  maxTokenLifetime: number,
): TokenRecord {
  const invalid = (detail: string) => new StorageError(op, key, ErrInvalidMetadata, detail);
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw invalid("metadata must be an object");
  }
  const md = metadata as Record<string, unknown>;
  for (const name of ["id", "subject"] as const) {
    const problem = identifyingProblem(name, md[name], LIMITS[name]);
    if (problem !== undefined) throw invalid(problem);
  }
  const rec: TokenRecord = {
    id: md.id as string,
    subject: md.subject as string,
    issuedAt: toMillis(md.issuedAt, now, "issuedAt", invalid),
    expiresAt: toMillis(md.expiresAt, now + defaultTtl, "expiresAt", invalid),
  };
  for (const name of OPTIONAL_FIELDS) {
    const v = md[name];
    if (v === undefined || v === null) continue;
    // status is free text (shown isolated by the console); the others identify the token; a
    // family, like a subject, is never empty (revokeFamily and a JWT's claim refuse "")
    const problem =
      name === "status"
        ? stringProblem(name, v, LIMITS.field, true)
        : name === "family"
          ? familyProblem(v)
          : identifyingProblem(name, v, LIMITS.field, true);
    if (problem !== undefined) throw invalid(problem);
    rec[name] = v as string;
  }
  if (rec.expiresAt <= now) {
    throw new StorageError(op, key, ErrTokenExpired, "expiresAt is at or before now");
  }
  if (rec.issuedAt > rec.expiresAt) throw invalid("issuedAt is after expiresAt");
  if (rec.expiresAt - now > maxTokenLifetime)
    throw invalid(`expiresAt is further than maxTokenLifetime (${maxTokenLifetime} ms) from now`);
  return rec;
}

/** A verified JWT's claims, checked as the store checks metadata; returned as a record (never stored). */
export function normalizeClaims(op: string, key: string, claims: unknown, maxTokenLifetime: number): TokenRecord {
  const invalid = (detail: string) => new StorageError(op, key, ErrInvalidMetadata, detail);
  if (typeof claims !== "object" || claims === null) throw invalid("claims must be an object");
  const c = claims as Record<string, unknown>;
  const problem =
    identifyingProblem("subject", c.subject, LIMITS.subject) ??
    (c.id === undefined ? undefined : identifyingProblem("id", c.id, LIMITS.id)) ??
    (c.keyId === undefined ? undefined : identifyingProblem("keyId", c.keyId, LIMITS.field)) ??
    (c.issuer === undefined ? undefined : identifyingProblem("issuer", c.issuer, LIMITS.field, true)) ??
    (c.family === undefined ? undefined : familyProblem(c.family));
  if (problem !== undefined) throw invalid(problem);
  const rec: TokenRecord = {
    id: (c.id as string | undefined) ?? "",
    subject: c.subject as string,
    issuedAt: toMillis(c.issuedAt, Number.NaN, "issuedAt", invalid),
    expiresAt: toMillis(c.expiresAt, Number.NaN, "expiresAt", invalid),
    type: "jwt",
  };
  if (c.keyId !== undefined) rec.keyId = c.keyId as string;
  if (c.issuer !== undefined) rec.issuer = c.issuer as string;
  if (c.family !== undefined) rec.family = c.family as string;
  if (rec.issuedAt > rec.expiresAt) throw invalid("issuedAt is after expiresAt");
  if (rec.expiresAt - rec.issuedAt > maxTokenLifetime)
    throw invalid(`the token lives longer than maxTokenLifetime (${maxTokenLifetime} ms)`);
  return rec;
}

/** Accepts a Date, epoch milliseconds or an ISO 8601 string; anything else is invalid. */
function toMillis(value: unknown, fallback: number, name: string, invalid: (d: string) => Error): number {
  if (value === undefined || value === null) {
    if (Number.isNaN(fallback)) throw invalid(`${name} is required`);
    return fallback;
  }
  let ms = Number.NaN;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === "number") ms = value;
  else if (typeof value === "string" && value.length <= 64) ms = Date.parse(value);
  if (!Number.isFinite(ms) || Number.isNaN(new Date(ms).getTime())) {
    throw invalid(`${name} is not a valid date`);
  }
  return Math.trunc(ms);
}

export function toMetadata(rec: TokenRecord): StoredTokenMetadata {
  const md: StoredTokenMetadata = {
    id: rec.id,
    subject: rec.subject,
    issuedAt: new Date(rec.issuedAt),
    expiresAt: new Date(rec.expiresAt),
  };
  for (const name of OPTIONAL_FIELDS) if (rec[name] !== undefined) md[name] = rec[name];
  return md;
}

/** Orders a subject's tokens for `list`: by issuedAt, then id. */
export function byIssuedAtThenId(a: TokenRecord, b: TokenRecord): number {
  return a.issuedAt - b.issuedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
