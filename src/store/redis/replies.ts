import {
  ErrInvalidMetadata,
  ErrStoreUnavailable,
  NO_KEY,
  REFUSALS,
  refusal,
  StorageError,
  type Refusal,
} from "../core/errors.js";
import type { ChangeBatch, ChangeEvent, RecentChange, Verdict } from "../core/feed.js";
import type { TokenStatus } from "../core/types.js";
import { toMetadata, type TokenRecord } from "../core/records.js";
import { INHERITED } from "../core/families.js";

/** Reading what the Redis scripts answer: every malformed reply is ErrStoreUnavailable. */

export function unavailable(op: string, key: string, detail: string): StorageError {
  return new StorageError(op, key, ErrStoreUnavailable, detail);
}

/** Writes answer `true`; anything else means the store did not do what was asked. */
export function acknowledged(op: string, key: string, raw: unknown): void {
  if (raw !== true) throw unavailable(op, key, "the reply is not an acknowledgement");
}

export function parseVerdict(key: string, v: { s?: unknown; e?: unknown; m?: unknown } | undefined): Verdict {
  switch (v?.s) {
    case "unknown":
      return { state: "unknown" };
    case "live":
      return { state: "live", metadata: toMetadata(parseRecord("lookup", key, v.m)) };
    case "revoked":
    case "expired":
      if (typeof v.e === "number") return { state: v.s, expiresAt: v.e };
  }
  throw unavailable("lookup", key, "the verdict is malformed");
}

/**
 * A feed read back from Redis: {e: epoch, n: seq of the last event returned, r: reset, m: more
 * waiting, ev: events}, oldest first, each event "t<hash>" (a token was revoked, deleted,
 * deny-listed, rotated or its record replaced), "s<subject>" (a subject cutoff), "k<keyId>" (a
 * signing key was revoked) or "g<family>" (a family was revoked); docs/redis.md#the-change-feed
 * has the feed's format.
 */
export function parseBatch(op: string, key: string, raw: unknown): ChangeBatch {
  const f = raw as { e?: unknown; n?: unknown; r?: unknown; m?: unknown; ev?: unknown } | null;
  if (
    typeof f !== "object" ||
    f === null ||
    typeof f.e !== "string" ||
    typeof f.n !== "number" ||
    !Number.isSafeInteger(f.n) ||
    typeof f.r !== "boolean" ||
    typeof f.m !== "boolean" ||
    !Array.isArray(f.ev)
  ) {
    throw unavailable(op, key, "the feed reply is malformed");
  }
  const events = f.ev.map((x) => parseEvent(op, key, x));
  return { cursor: { epoch: f.e, seq: f.n }, reset: f.r, more: f.m, events };
}

function parseEvent(op: string, key: string, x: unknown): ChangeEvent {
  if (typeof x === "string" && x.startsWith("t")) return { type: "token", hash: x.slice(1) };
  if (typeof x === "string" && x.startsWith("s")) return { type: "subject", subject: x.slice(1) };
  if (typeof x === "string" && x.startsWith("k")) return { type: "key", keyId: x.slice(1) };
  if (typeof x === "string" && x.startsWith("g")) return { type: "family", family: x.slice(1) };
  throw unavailable(op, key, "a feed event is malformed");
}

/** The feed's members as stored, "<seq>:<ms>:<event>", newest first. */
export function parseRecent(raw: unknown): RecentChange[] {
  if (!Array.isArray(raw)) throw unavailable("recentChanges", NO_KEY, "the reply is not a list");
  return raw.map((m: unknown) => {
    const parts = typeof m === "string" ? /^(\d+):(-?\d+):(.*)$/s.exec(m) : null;
    if (parts === null) throw unavailable("recentChanges", NO_KEY, "a feed member is malformed");
    return { seq: Number(parts[1]), at: Number(parts[2]), event: parseEvent("recentChanges", NO_KEY, parts[3]) };
  });
}

type RevokedBy = Extract<TokenStatus, { state: "revoked" }>["revokedBy"];
const REVOKED_BY: readonly unknown[] = ["token", "subject", "key", "family"] satisfies RevokedBy[];

/** inspect's reply: {s, m, at, by}. */
export function parseStatus(key: string, raw: unknown): TokenStatus {
  const r = raw as { s?: unknown; m?: unknown; at?: unknown; by?: unknown } | null;
  if (r?.s === "unknown") return { state: "unknown" };
  const metadata = () => toMetadata(parseRecord("inspect", key, r?.m));
  if (r?.s === "live" || r?.s === "expired") return { state: r.s, metadata: metadata() };
  if (r?.s === "revoked" && typeof r.at === "number" && REVOKED_BY.includes(r.by as RevokedBy))
    return { state: "revoked", metadata: metadata(), revokedAt: new Date(r.at), revokedBy: r.by as RevokedBy };
  throw unavailable("inspect", key, "the status is malformed");
}

/**
 * rotate's reply: the new token's record, or {new: x} naming the new token's fault: x a given
 * subject, family or clientId that is not the old token's, or a refusal as store's. Both are
 * named by the new token's fingerprint; the old token's refusals ("!…") by its own, before.
 */
export function parseRotated(newKey: string, raw: unknown): TokenRecord {
  const x = (raw as { new?: unknown } | null)?.new;
  if (typeof x !== "string") return parseRecord("rotate", newKey, raw);
  if (Object.hasOwn(REFUSALS, x)) throw refusal("rotate", newKey, x as Refusal);
  if (!INHERITED.includes(x as never)) throw unavailable("rotate", newKey, "the reply is not a known outcome");
  throw new StorageError("rotate", newKey, ErrInvalidMetadata, `${x} must be the old token's`);
}

/** A stored record back from Redis; anything malformed means the store answered wrongly. */
export function parseRecord(op: string, key: string, raw: unknown): TokenRecord {
  const r = raw as Partial<TokenRecord> | null;
  if (
    typeof r !== "object" ||
    r === null ||
    typeof r.id !== "string" ||
    typeof r.subject !== "string" ||
    typeof r.issuedAt !== "number" ||
    typeof r.expiresAt !== "number"
  ) {
    throw unavailable(op, key, "a stored record is malformed");
  }
  return r as TokenRecord;
}

/**
 * A short reason for a failed call. Upstash messages end with ", command was: [...]", which
 * holds script arguments (hashes, ids): that part is cut off.
 */
export function describeFailure(e: unknown, timeoutMs: number): string {
  if (!(e instanceof Error)) return "the request failed";
  if (e.name === "TimeoutError" || e.name === "AbortError") return `no reply within ${timeoutMs} ms`;
  if (e.name === "UpstashJSONParseError") return "the reply is not JSON";
  const code = (e.cause as { code?: unknown } | undefined)?.code;
  const message = e.message.split(", command was:")[0]!.slice(0, 200);
  return `${e.name}: ${message}${typeof code === "string" ? ` (${code})` : ""}`;
}
