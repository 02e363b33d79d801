import type { TokenRecord } from "../core/records.js";

/**
 * One stored token. A class with every field set in the constructor gives all entries one
 * hidden class: an object spread here cost about 250 more bytes of heap per token.
 */
export class Entry implements TokenRecord {
  readonly id: string;
  readonly subject: string;
  readonly issuer: string | undefined;
  readonly keyId: string | undefined;
  readonly type: string | undefined;
  readonly status: string | undefined;
  readonly clientId: string | undefined;
  readonly family: string | undefined;
  readonly issuedAt: number;
  readonly expiresAt: number;
  /**
   * What a subject cutoff is compared with: the issue time, but never later than when the
   * token was stored, so a cutoff reaches every token stored before it, whatever its issuedAt.
   */
  readonly coveredFrom: number;
  revokedAt: number | undefined = undefined;
  /** When `rotate` retired the token (its `revokedAt` too): a later rotation of it is a reuse. */
  rotatedAt: number | undefined = undefined;

  /** `rec` is new metadata stored at `storedAt`, or an entry moving to another hash (key rotation). */
  constructor(
    readonly hash: string,
    rec: TokenRecord & { coveredFrom?: number },
    storedAt = rec.issuedAt,
  ) {
    this.id = rec.id;
    this.subject = rec.subject;
    this.issuer = rec.issuer;
    this.keyId = rec.keyId;
    this.type = rec.type;
    this.status = rec.status;
    this.clientId = rec.clientId;
    this.family = rec.family;
    this.issuedAt = rec.issuedAt;
    this.expiresAt = rec.expiresAt;
    this.coveredFrom = rec.coveredFrom ?? Math.min(rec.issuedAt, storedAt);
  }
}
