import { DENY_GRACE_MS } from "../core/types.js";
import type { TokenRecord } from "../core/validate.js";

/**
 * The memory backend's revocations that reach tokens it never stored: subject cutoffs, key
 * revocations and deny-listed JWT hashes. Each entry lapses at `until`; a lapsed entry reads
 * as absent, and `sweep` (run by cleanup) forgets it.
 */
export class MemoryRevocations {
  private readonly cutoffs = new Map<string, { at: number; until: number }>();
  private readonly keys = new Map<string, number>();
  private readonly denied = new Map<string, number>();

  constructor(private readonly lifetime: number) {}

  cutSubject(subject: string, now: number): void {
    this.cutoffs.set(subject, { at: Math.max(now, this.cutoffs.get(subject)?.at ?? now), until: now + this.lifetime });
  }

  revokeKey(keyId: string, now: number): void {
    this.keys.set(keyId, now + this.lifetime);
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
   * token: see Entry), or a revoked key, covers it.
   */
  covers(rec: Pick<TokenRecord, "subject" | "issuedAt" | "keyId"> & { coveredFrom?: number }, now: number): boolean {
    const cut = this.cutoffs.get(rec.subject);
    if (cut !== undefined && now <= cut.until && (rec.coveredFrom ?? rec.issuedAt) <= cut.at) return true;
    return rec.keyId !== undefined && now <= (this.keys.get(rec.keyId) ?? Number.NEGATIVE_INFINITY);
  }

  sweep(now: number): void {
    for (const [k, v] of this.cutoffs) if (now > v.until) this.cutoffs.delete(k);
    for (const m of [this.keys, this.denied]) for (const [k, until] of m) if (now > until) m.delete(k);
  }

  clear(): void {
    this.cutoffs.clear();
    this.keys.clear();
    this.denied.clear();
  }
}
