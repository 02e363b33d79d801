/**
 * A backend's indexes read raw, not through the store's API: memorySnapshot (memory.ts) and
 * redisSnapshot (redis.ts) fill the same shape, so one check serves both.
 * `expiry` lists the hashes the expiry index would clean up.
 */
export interface IndexSnapshot {
  tokens: { hash: string; id: string; subject: string; expiresAt: number; revokedAt?: number }[];
  ids: [id: string, hash: string][];
  subjects: [subject: string, hashes: string[]][];
  expiry: string[];
}

/**
 * Lists every way the indexes disagree: an id or subject entry pointing at a missing or
 * different token, a token missing from the expiry index, a live token missing from its
 * id or subject index. Empty means consistent.
 */
export function indexViolations(s: IndexSnapshot, now: number): string[] {
  const out: string[] = [];
  const tokens = new Map(s.tokens.map((t) => [t.hash, t]));
  const ids = new Map(s.ids);
  const subjects = new Map(s.subjects.map(([subject, hashes]) => [subject, new Set(hashes)]));
  const expiry = new Set(s.expiry);
  for (const [id, hash] of s.ids) {
    const t = tokens.get(hash);
    if (t === undefined) out.push(`id ${id} points at missing token ${hash.slice(0, 8)}`);
    else if (t.id !== id) out.push(`id ${id} points at token ${hash.slice(0, 8)} whose id is ${t.id}`);
  }
  for (const [subject, hashes] of subjects) {
    if (hashes.size === 0) out.push(`subject ${subject} has an empty index`);
    for (const hash of hashes) {
      const t = tokens.get(hash);
      if (t === undefined) out.push(`subject ${subject} lists missing token ${hash.slice(0, 8)}`);
      else if (t.subject !== subject) out.push(`subject ${subject} lists token ${hash.slice(0, 8)} of ${t.subject}`);
    }
  }
  for (const hash of expiry) {
    if (!tokens.has(hash)) out.push(`expiry index lists missing token ${hash.slice(0, 8)}`);
  }
  for (const t of s.tokens) {
    if (!expiry.has(t.hash)) out.push(`token ${t.hash.slice(0, 8)} is missing from the expiry index`);
    if (now > t.expiresAt) continue;
    if (ids.get(t.id) !== t.hash) out.push(`live token ${t.hash.slice(0, 8)} is missing from id index ${t.id}`);
    if (!subjects.get(t.subject)?.has(t.hash))
      out.push(`live token ${t.hash.slice(0, 8)} is missing from subject ${t.subject}`);
  }
  return out;
}
