import { refusal } from "../core/errors.js";
import type { Verdict } from "../core/feed.js";
import { fingerprint } from "../core/hash.js";
import type { StoredTokenMetadata } from "../core/types.js";
import { OPTIONAL_FIELDS } from "../core/records.js";

/**
 * A verdict as the cache keeps it: one fixed shape, dates as numbers. Keeping the store's
 * objects (two Date objects and a nested metadata object each) cost about 500 bytes an entry.
 */
export class Cached {
  readonly state: Verdict["state"];
  readonly expiresAt: number;
  readonly issuedAt: number;
  readonly id: string | undefined;
  readonly subject: string | undefined;
  readonly issuer: string | undefined;
  readonly keyId: string | undefined;
  readonly type: string | undefined;
  readonly status: string | undefined;
  readonly clientId: string | undefined;
  /** A live verdict's family: a family revocation drops it (kept in the shared tier's entries too). */
  readonly family: string | undefined;

  /** `fetchedAt`: when the read that answered this verdict was sent (unknown and expired verdicts age by it). */
  constructor(
    v: Verdict,
    readonly fetchedAt: number,
  ) {
    this.state = v.state;
    const md = v.state === "live" ? v.metadata : undefined;
    this.expiresAt =
      v.state === "live"
        ? v.metadata.expiresAt.getTime()
        : v.state === "unknown"
          ? Number.POSITIVE_INFINITY
          : v.expiresAt;
    this.issuedAt = md?.issuedAt.getTime() ?? 0;
    this.id = md?.id;
    this.subject = md?.subject;
    this.issuer = md?.issuer;
    this.keyId = md?.keyId;
    this.type = md?.type;
    this.status = md?.status;
    this.clientId = md?.clientId;
    this.family = md?.family;
  }
}

/**
 * get's answer for a verdict at `now`, in get's order: the metadata (a fresh object), or its
 * StorageError, labelled with the operation that asked (`get` or `checkJwt`).
 */
export function answer(op: "get" | "checkJwt", hash: string, c: Cached, now: number): StoredTokenMetadata {
  if (c.state === "unknown") throw refusal(op, fingerprint(hash), "not_found");
  // checkJwt's caller verified the JWT's expiry (with its clock tolerance) on this very request;
  // for get, the verdict's own expiry decides, whatever the stored type says
  if (c.state === "expired" || (op === "get" && now > c.expiresAt)) throw refusal(op, fingerprint(hash), "expired");
  if (c.state === "revoked") throw refusal(op, fingerprint(hash), "revoked");
  const md: StoredTokenMetadata = {
    id: c.id!,
    subject: c.subject!,
    issuedAt: new Date(c.issuedAt),
    expiresAt: new Date(c.expiresAt),
  };
  for (const f of OPTIONAL_FIELDS) if (c[f] !== undefined) md[f] = c[f];
  return md;
}
