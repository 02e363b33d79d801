import { ErrInvalidConfig, ErrInvalidMetadata, ErrTokenExpired, StorageError } from "./errors.js";
import { fingerprint, type TokenHasher } from "./hash.js";
import { DEFAULT_TTL_MS, LIMITS, type BaseStoreConfig, type StoredTokenMetadata } from "./types.js";

/** A token's metadata as backends keep it: dates as epoch milliseconds, plus the revocation mark. */
export interface TokenRecord {
  id: string;
  subject: string;
  issuer?: string;
  keyId?: string;
  type?: string;
  status?: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt?: number;
}

const OPTIONAL_FIELDS = ["issuer", "keyId", "type", "status"] as const;

/** Shown as `StorageError.key` when there is no usable key (e.g. an empty token). */
export const NO_KEY = "-";

export interface ResolvedBaseConfig {
  readonly hashKey: string | undefined;
  readonly defaultTtl: number;
  readonly now: () => number;
}

/** Checks the settings every backend shares; a bad one rejects naming the field. */
export function resolveBaseConfig(config: BaseStoreConfig | undefined, op = "create"): ResolvedBaseConfig {
  if (config !== undefined && (typeof config !== "object" || config === null || Array.isArray(config))) {
    throw new StorageError(op, "config", ErrInvalidConfig, "config must be an object");
  }
  // read Date.now on every call, not once: fake timers and clock changes are seen
  const { hashKey, defaultTtl = DEFAULT_TTL_MS, now = () => Date.now() } = config ?? {};
  if (hashKey !== undefined && (typeof hashKey !== "string" || hashKey.length === 0)) {
    throw new StorageError(op, "hashKey", ErrInvalidConfig, "hashKey must be a non-empty string when set");
  }
  if (typeof defaultTtl !== "number" || !Number.isSafeInteger(defaultTtl) || defaultTtl <= 0) {
    throw new StorageError(op, "defaultTtl", ErrInvalidConfig, "defaultTtl must be a positive whole number of milliseconds");
  }
  if (typeof now !== "function") {
    throw new StorageError(op, "now", ErrInvalidConfig, "now must be a function returning epoch milliseconds");
  }
  return { hashKey, defaultTtl, now };
}

/** A whole-number setting of at least `min` (1 unless given); a bad one rejects naming it. */
export function wholeNumber(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new StorageError("create", name, ErrInvalidConfig, `${name} must be a whole number, ${min} or more`);
  }
  return value;
}

/** A raw token must be a non-empty string within LIMITS.token; it is never echoed back. */
export function checkToken(op: string, token: unknown): asserts token is string {
  if (typeof token !== "string" || token.length === 0) {
    throw new StorageError(op, NO_KEY, ErrInvalidMetadata, "token must be a non-empty string");
  }
  if (token.length > LIMITS.token) {
    throw new StorageError(op, NO_KEY, ErrInvalidMetadata, `token is longer than ${LIMITS.token} characters`);
  }
}

/** Checks a raw token and hashes it: the hash keys the token, its fingerprint names it in errors. */
export async function tokenKey(op: string, token: unknown, hash: TokenHasher): Promise<[hash: string, key: string]> {
  checkToken(op, token);
  const h = await hash(token);
  return [h, fingerprint(h)];
}

/** Checks an id or subject passed as a lookup key; `key` in the error is the value itself. */
export function checkName(op: string, name: "id" | "subject", value: unknown): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    throw new StorageError(op, NO_KEY, ErrInvalidMetadata, `${name} must be a non-empty string`);
  }
  if (value.length > LIMITS[name]) {
    throw new StorageError(op, NO_KEY, ErrInvalidMetadata, `${name} is longer than ${LIMITS[name]} characters`);
  }
}

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
): TokenRecord {
  const invalid = (detail: string) => new StorageError(op, key, ErrInvalidMetadata, detail);
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw invalid("metadata must be an object");
  }
  const md = metadata as Record<string, unknown>;
  for (const name of ["id", "subject"] as const) {
    const v = md[name];
    if (typeof v !== "string" || v.length === 0) throw invalid(`${name} must be a non-empty string`);
    if (v.length > LIMITS[name]) throw invalid(`${name} is longer than ${LIMITS[name]} characters`);
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
    if (typeof v !== "string") throw invalid(`${name} must be a string`);
    if (v.length > LIMITS.field) throw invalid(`${name} is longer than ${LIMITS.field} characters`);
    rec[name] = v;
  }
  if (rec.expiresAt <= now) {
    throw new StorageError(op, key, ErrTokenExpired, "expiresAt is at or before now");
  }
  if (rec.issuedAt > rec.expiresAt) throw invalid("issuedAt is after expiresAt");
  return rec;
}

/** Accepts a Date, epoch milliseconds or an ISO 8601 string; anything else is invalid. */
function toMillis(value: unknown, fallback: number, name: string, invalid: (d: string) => Error): number {
  if (value === undefined || value === null) return fallback;
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
