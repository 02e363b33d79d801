import { ErrInvalidMetadata, NO_KEY, StorageError } from "./errors.js";
import { checkPageLimit } from "./inputs.js";

/** The writes an audit record names: the admin API's and OAuth revocation's. */
export const AUDIT_ACTIONS = [
  "store",
  "revoke",
  "revokeById",
  "delete",
  "revokeSubject",
  "revokeKey",
  "denyJwt",
  "rotate",
  "revokeFamily",
  "cleanup",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** What a write was about. A token is named by its fingerprint, never by itself. */
export interface AuditTarget {
  fingerprint?: string;
  id?: string;
  subject?: string;
  keyId?: string;
  family?: string;
}

/** One audited write, as appended. */
export interface AuditEntry {
  /** When the write was made (ms, the writer's clock). */
  at: number;
  /** Who: a Cloudflare Access identity (email, or a service token's name), "admin-token", or an OAuth client id. */
  actor: string;
  action: AuditAction;
  target: AuditTarget;
  /** "ok", or the error code the write answered (e.g. "token_not_found"). */
  result: string;
}

/** A record as listed: the entry and its id, which orders records and pages through them. */
export interface AuditRecord extends AuditEntry {
  id: string;
}

export interface AuditQuery {
  /** Only records appended at or after this time (ms). */
  since?: number;
  /** Only records older than this id: the `next` of the previous page. */
  before?: string;
  /** At most this many, from 1 to AUDIT_PAGE_MAX. */
  limit: number;
}

/** A page of records, newest first; `next` is there when older records may follow. */
export interface AuditPage {
  records: AuditRecord[];
  next?: string;
}

/**
 * A capped, append-only record of who wrote what. Both backends keep one: Redis a stream
 * trimmed to about `maxRecords` on every append, memory an array of exactly that many.
 */
export interface AuditLog {
  readonly maxRecords: number;
  append(entry: AuditEntry): Promise<void>;
  list(query: AuditQuery): Promise<AuditPage>;
}

/** The most records one page holds. */
export const AUDIT_PAGE_MAX = 1000;
/** The records kept when nothing else is configured. */
export const DEFAULT_AUDIT_RECORDS = 10_000;

/** An audit record id as both backends make it: "<ms>-<seq>", a Redis stream id. */
export const AUDIT_ID = /^\d{1,15}-\d{1,15}$/;

/** Checks a query (ErrInvalidMetadata naming the field). */
export function checkAuditQuery(q: AuditQuery): void {
  const bad = (detail: string) => new StorageError("audit", NO_KEY, ErrInvalidMetadata, detail);
  checkPageLimit("audit", q.limit, AUDIT_PAGE_MAX);
  if (q.since !== undefined && (!Number.isSafeInteger(q.since) || q.since < 0))
    throw bad("since must be a time at or after 1970");
  if (q.before !== undefined && !AUDIT_ID.test(q.before)) throw bad("before must be a record id");
}

/** Orders two record ids as Redis orders stream ids: by time, then sequence. */
export function compareAuditIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number) as [number, number];
  const [bm, bs] = b.split("-").map(Number) as [number, number];
  return am - bm || as - bs;
}

/** A page from up to limit + 1 records, newest first: the one past the limit only says that more follow. */
export function page(records: AuditRecord[], limit: number): AuditPage {
  if (records.length <= limit) return { records };
  const kept = records.slice(0, limit);
  return { records: kept, next: kept.at(-1)!.id };
}
