import { ErrInvalidConfig, ErrInvalidMetadata, ErrTokenExpired, StorageError } from "./errors.js";
import { createHasher, fingerprint, type TokenHasher } from "./hash.js";
import { identifierProblem } from "./identifier.js";
import {
  DEFAULT_MAX_TOKEN_LIFETIME_MS,
  DEFAULT_TTL_MS,
  LIMITS,
  type BaseStoreConfig,
  type StoredTokenMetadata,
} from "./types.js";

/** A token's metadata as backends keep it: dates as epoch milliseconds, plus the revocation mark. */
export interface TokenRecord {
  id: string;
  subject: string;
  issuer?: string;
  keyId?: string;
  type?: string;
  status?: string;
  clientId?: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt?: number;
}

export const OPTIONAL_FIELDS = ["issuer", "keyId", "type", "status", "clientId"] as const;

/** Shown as `StorageError.key` when there is no usable key (e.g. an empty token). */
export const NO_KEY = "-";

export interface ResolvedBaseConfig {
  readonly hashKey: string | undefined;
  readonly previousHashKeys: readonly string[];
  readonly defaultTtl: number;
  readonly now: () => number;
  readonly maxTokenLifetime: number;
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
    throw new StorageError(
      op,
      "defaultTtl",
      ErrInvalidConfig,
      "defaultTtl must be a positive whole number of milliseconds",
    );
  }
  if (typeof now !== "function") {
    throw new StorageError(op, "now", ErrInvalidConfig, "now must be a function returning epoch milliseconds");
  }
  const maxTokenLifetime = wholeNumber("maxTokenLifetime", config?.maxTokenLifetime, DEFAULT_MAX_TOKEN_LIFETIME_MS);
  const previousHashKeys = config?.previousHashKeys ?? [];
  if (
    !Array.isArray(previousHashKeys) ||
    previousHashKeys.length > 4 ||
    previousHashKeys.some((k) => typeof k !== "string" || k.length === 0 || k === hashKey)
  ) {
    throw new StorageError(
      op,
      "previousHashKeys",
      ErrInvalidConfig,
      "previousHashKeys must be at most 4 non-empty strings, none equal to hashKey",
    );
  }
  if (previousHashKeys.length > 0 && hashKey === undefined)
    throw new StorageError(op, "previousHashKeys", ErrInvalidConfig, "previousHashKeys needs hashKey");
  if (defaultTtl > maxTokenLifetime)
    throw new StorageError(op, "defaultTtl", ErrInvalidConfig, "defaultTtl must not be longer than maxTokenLifetime");
  return { hashKey, previousHashKeys, defaultTtl, now, maxTokenLifetime };
}

/** A whole-number setting of at least `min` (1 unless given); a bad one rejects naming it. */
export function wholeNumber(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new StorageError("create", name, ErrInvalidConfig, `${name} must be a whole number, ${min} or more`);
  }
  return value;
}

/** A page size a caller asks for (the feed's newest changes, the audit log): a whole number from 1 to `max`. */
export function checkPageLimit(op: string, limit: unknown, max: number): asserts limit is number {
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > max)
    throw new StorageError(op, NO_KEY, ErrInvalidMetadata, `limit must be a whole number from 1 to ${max}`);
}

/**
 * Why `value` is not an acceptable string for `name`, or undefined when it is: a string of
 * well-formed Unicode (no lone surrogate: TextEncoder and Redis would turn one into U+FFFD, so
 * two different values would share one hash or key), not empty unless allowed, within `limit`.
 */
export function stringProblem(name: string, value: unknown, limit: number, allowEmpty = false): string | undefined {
  if (typeof value !== "string" || (!allowEmpty && value.length === 0))
    return `${name} must be a ${allowEmpty ? "" : "non-empty "}string`;
  if (value.length > limit) return `${name} is longer than ${limit} characters`;
  if (!value.isWellFormed()) return `${name} is not well-formed Unicode (it holds a lone surrogate)`;
  return undefined;
}

/** A raw token must be a well-formed, non-empty string within LIMITS.token; it is never echoed back. */
function checkToken(op: string, token: unknown): asserts token is string {
  const problem = stringProblem("token", token, LIMITS.token);
  if (problem !== undefined) throw new StorageError(op, NO_KEY, ErrInvalidMetadata, problem);
}

/** Checks a raw token and hashes it: the hash keys the token, its fingerprint names it in errors. */
export async function tokenKey(op: string, token: unknown, hash: TokenHasher): Promise<[hash: string, key: string]> {
  checkToken(op, token);
  const h = await hash(token);
  return [h, fingerprint(h)];
}

/** The current hasher and the previous peppers' ones, newest first (key rotation). */
export interface Hashers {
  current: TokenHasher;
  previous: TokenHasher[];
}

export function createHashers(base: ResolvedBaseConfig): Hashers {
  return { current: createHasher(base.hashKey), previous: base.previousHashKeys.map((k) => createHasher(k)) };
}

/** tokenKey, plus the token's hashes under the previous peppers (empty when none is set). */
export async function tokenKeys(
  op: string,
  token: unknown,
  hashers: Hashers,
): Promise<[hash: string, key: string, previous: string[]]> {
  const [h, key] = await tokenKey(op, token, hashers.current);
  return [h, key, await Promise.all(hashers.previous.map((p) => p(token as string)))];
}

/**
 * A string that identifies a token (id, subject, keyId, clientId, type, issuer): stringProblem's
 * rules, then no character that is invisible or hides or reorders text (identifier.ts).
 */
export function identifyingProblem(
  name: string,
  value: unknown,
  limit: number,
  allowEmpty = false,
): string | undefined {
  return stringProblem(name, value, limit, allowEmpty) ?? identifierProblem(name, value as string);
}

/**
 * Checks an id or subject passed as a lookup key; `key` in the error is the value itself once
 * valid. Lookups keep stringProblem's rules only: a value stored before the identifier rule must
 * stay reachable, so it can be listed, revoked and deleted.
 */
export function checkName(op: string, name: "id" | "subject" | "keyId", value: unknown): asserts value is string {
  const problem = stringProblem(name, value, name === "keyId" ? LIMITS.field : LIMITS[name]);
  if (problem !== undefined) throw new StorageError(op, NO_KEY, ErrInvalidMetadata, problem);
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
    // status is free text (shown isolated by the console); the others identify the token
    const problem =
      name === "status" ? stringProblem(name, v, LIMITS.field, true) : identifyingProblem(name, v, LIMITS.field, true);
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
    (c.issuer === undefined ? undefined : identifyingProblem("issuer", c.issuer, LIMITS.field, true));
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
