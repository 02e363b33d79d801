import { DENY_GRACE_MS } from "../core/types.js";
import type { TokenRecord } from "../core/records.js";

/** What a revocation can reach a token by (a stored Entry, or a JWT's claims as a record). */
type Covered = Pick<TokenRecord, "subject" | "issuedAt" | "keyId" | "family"> & { coveredFrom?: number };

/**
 * The memory backend's revocations that reach tokens it never stored: subject cutoffs, key
 * and family revocations, and deny-listed JWT hashes. Each entry lapses at `until`; a lapsed entry reads
 * as absent, and `sweep` (run by cleanup) forgets it.
 */
export class MemoryRevocations {
  private readonly cutoffs = new Map<string, { at: number; until: number }>();
  /** keyId → when it was revoked, and until when the revocation is kept */
  private readonly keys = new Map<string, { at: number; until: number }>();
  /** family → when it was revoked, and until when the revocation is kept */
  private readonly families = new Map<string, { at: number; until: number }>();
  private readonly denied = new Map<string, number>();

  constructor(private readonly lifetime: number) {}

  cutSubject(subject: string, now: number): void {
    this.cutoffs.set(subject, { at: Math.max(now, this.cutoffs.get(subject)?.at ?? now), until: now + this.lifetime });
  }

  revokeKey(keyId: string, now: number): void {
    this.keys.set(keyId, { at: now, until: now + this.lifetime });
  }

  /**
   * Kept past maxTokenLifetime by DENY_GRACE_MS: a JWT's iat may lie ahead of this clock by the
   * verifier's tolerance, so a token of the family issued just before may expire that much later.
   */
  revokeFamily(family: string, now: number): void {
    this.families.set(family, { at: now, until: now + this.lifetime + DENY_GRACE_MS });
  }

  deny(hash: string, expiresAt: number): void {
    this.denied.set(hash, Math.max(expiresAt + DENY_GRACE_MS, this.denied.get(hash) ?? 0));
  }

  /** Key rotation: a JWT deny-listed under a previous pepper's hash moves to the current one. */
  adoptDenied(hash: string, previous: readonly string[]): void {
    for (const old of previous) {
      const until = this.denied.get(old);
      if (until === undefined) continue;
      this.denied.delete(old);
      this.denied.set(hash, Math.max(until, this.denied.get(hash) ?? 0));
    }
  }

  isDenied(hash: string, now: number): boolean {
    return now <= (this.denied.get(hash) ?? Number.NEGATIVE_INFINITY);
  }

  /**
   * Whether a subject cutoff at or after the token's issue time (`coveredFrom` for a stored
   * token: see Entry), a revoked key or a revoked family covers it.
   */
  covers(rec: Covered, now: number): boolean {
    return this.coveredBy(rec, now) !== undefined;
  }

  /** What covers the token, and since when: its subject's cutoff first, then its key's revocation, then its family's. */
  coveredBy(rec: Covered, now: number): { by: "subject" | "key" | "family"; at: number } | undefined {
    const cut = this.cutoffs.get(rec.subject);
    if (cut !== undefined && now <= cut.until && (rec.coveredFrom ?? rec.issuedAt) <= cut.at)
      return { by: "subject", at: cut.at };
    const key = rec.keyId === undefined ? undefined : this.keys.get(rec.keyId);
    if (key !== undefined && now <= key.until) return { by: "key", at: key.at };
    const family = rec.family === undefined ? undefined : this.families.get(rec.family);
    return family !== undefined && now <= family.until ? { by: "family", at: family.at } : undefined;
  }

  sweep(now: number): void {
    for (const [k, v] of this.cutoffs) if (now > v.until) this.cutoffs.delete(k);
    for (const [k, v] of this.keys) if (now > v.until) this.keys.delete(k);
    for (const [k, v] of this.families) if (now > v.until) this.families.delete(k);
    for (const [k, until] of this.denied) if (now > until) this.denied.delete(k);
  }

  clear(): void {
    this.cutoffs.clear();
    this.keys.clear();
    this.families.clear();
    this.denied.clear();
  }
}
