import type { ChangeEvent } from "../core/feed.js";
import type { Cached } from "./entry.js";

/**
 * This isolate's verdicts by token hash, least recently used first, and the rules for serving
 * them. Which verdicts a feed change reaches lives here too (`names`), so the feed follower and
 * the shared tier's adoption rules agree on it.
 */
export class VerdictMap {
  private readonly map = new Map<string, Cached>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.map.size;
  }

  get(hash: string): Cached | undefined {
    return this.map.get(hash);
  }

  /** Marks a verdict most recently used. */
  touch(hash: string, cached: Cached): void {
    this.map.delete(hash);
    this.map.set(hash, cached);
  }

  set(hash: string, cached: Cached): void {
    this.map.delete(hash);
    this.map.set(hash, cached);
    if (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value!);
  }

  clear(): void {
    this.map.clear();
  }

  /** Drops every verdict a change reaches. */
  drop(event: ChangeEvent): void {
    if (event.type === "token") this.map.delete(event.hash);
    else for (const [hash, v] of this.map) if (names(event, hash, v)) this.map.delete(hash);
  }

  /**
   * After a reset, which may hide any change: a revocation (live verdicts go) or a delete that
   * lifted a revocation (revoked ones go too). Unknown and expired verdicts age on their own.
   */
  dropFinalAndLive(): void {
    for (const [hash, v] of this.map) if (v.state === "live" || v.state === "revoked") this.map.delete(hash);
  }
}

/**
 * Whether a change reaches a verdict: a token change reaches its own verdict, whatever its
 * state; a subject cutoff, a key revocation or a family revocation reaches the live verdicts of
 * that subject, key or family.
 */
export function names(event: ChangeEvent, hash: string, v: Cached): boolean {
  if (event.type === "token") return event.hash === hash;
  if (v.state !== "live") return false;
  if (event.type === "subject") return v.subject === event.subject;
  return event.type === "key" ? v.keyId === event.keyId : v.family === event.family;
}

/**
 * Whether a verdict may answer at `now` without a round trip. A live one: while the last feed
 * read that reached the head was sent less than `bound` ago. A revoked one that has not expired:
 * until a feed change for it (only a delete can lift it). Unknown and expired ones: while the
 * read that answered them is younger than the bound, because issuing a token appends nothing
 * to the feed (and an expired token's record may be cleaned up and the token issued again).
 */
export function usable(c: Cached, now: number, syncSentAt: number, bound: number): boolean {
  if (c.state === "live") return now - syncSentAt < bound;
  if (c.state === "revoked" && now <= c.expiresAt) return true;
  return now - c.fetchedAt < bound;
}
