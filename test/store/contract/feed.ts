import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ErrIDConflict, ErrInvalidMetadata, ErrTokenNotFound, StorageError } from "../../../src/index.js";
import type { ChangeEvent, FeedStore } from "../../../src/store/index.js";
import type { ContractHarness, ContractOptions } from "./token-store.js";

export type FeedStoreFactory = (
  options: ContractOptions & { feedRetentionMs?: number; feedMaxLength?: number; feedPageSize?: number },
) => Promise<ContractHarness & { store: FeedStore }>;

const HOUR = 3_600_000;
const sha = (raw: string) => createHash("sha256").update(raw).digest("hex");

/** The change feed and the one-round-trip lookup, the same on every backend. */
export function feedContract(name: string, factory: FeedStoreFactory): void {
  describe(`${name}: change feed`, () => {
    let t = Math.floor(Date.now() / 1000) * 1000;
    const now = () => t;
    const made: ContractHarness[] = [];
    let store: FeedStore;
    let n = 0;
    const tok = () => `raw-feed-token-${++n}-${Math.random().toString(36).slice(2)}`;
    const make = async (o: Parameters<FeedStoreFactory>[0] extends infer P ? Partial<P> : never = {}) => {
      const h = await factory({ now, ...o });
      made.push(h);
      return h.store;
    };
    beforeEach(async () => {
      t = Math.floor(Date.now() / 1000) * 1000;
      store = await make();
    });
    afterEach(async () => {
      for (const h of made.splice(0)) {
        await h.store.close();
        await h.dispose?.();
      }
    });

    it("answers a reader with no cursor with a reset and the current position", async () => {
      const first = await store.changes();
      expect(first.reset).toBe(true);
      expect(first.events).toEqual([]);
      expect(await store.changes(first.cursor)).toEqual({ cursor: first.cursor, reset: false, events: [] });
    });

    it("appends one event per verdict-changing write, in order, naming tokens by hash only", async () => {
      const [a, b] = [tok(), tok()];
      await store.store(a, { id: "fa", subject: "feed-alice" });
      const start = (await store.changes()).cursor;
      await store.store(b, { id: "fb", subject: "feed-alice" });
      await store.revoke(a);
      await store.revoke(a); // already revoked: no change, no event
      await store.revokeSubject("feed-alice");
      await store.delete(b);
      const batch = await store.changes(start);
      expect(batch.reset).toBe(false);
      expect(batch.events).toEqual<ChangeEvent[]>([
        { type: "token", hash: sha(b) },
        { type: "token", hash: sha(a) },
        { type: "subject", subject: "feed-alice" },
        { type: "token", hash: sha(b) },
      ]);
      expect(batch.cursor.seq).toBe(start.seq + 4);
      expect(batch.cursor.epoch).toBe(start.epoch);
      expect(JSON.stringify(batch)).not.toContain(a);
      expect(JSON.stringify(batch)).not.toContain(b);
    });

    it("appends nothing for reads and for refused writes", async () => {
      const a = tok();
      await store.store(a, { id: "held", subject: "s" });
      const start = (await store.changes()).cursor;
      await store.get(a);
      await store.getById("held");
      await store.list("s");
      await store.isRevoked(a);
      await store
        .store(tok(), { id: "held", subject: "s" })
        .catch((e: StorageError) => expect(e.err).toBe(ErrIDConflict));
      await store.revoke(tok()).catch((e: StorageError) => expect(e.err).toBe(ErrTokenNotFound));
      await store.lookup(sha(a), start);
      expect(await store.changes(start)).toEqual({ cursor: start, reset: false, events: [] });
    });

    it("looks up every verdict together with the feed in one call", async () => {
      const [live, revoked, expired] = [tok(), tok(), tok()];
      const md = await store.store(live, { id: "l", subject: "s", keyId: "k1" });
      await store.store(revoked, { id: "r", subject: "s", expiresAt: new Date(t + HOUR) });
      await store.revoke(revoked);
      await store.store(expired, { id: "e", subject: "s", expiresAt: new Date(t + 10) });
      const cursor = (await store.changes()).cursor;
      t += 11;
      expect(await store.lookup(sha(live), cursor)).toEqual({
        verdict: { state: "live", metadata: md },
        changes: { cursor, reset: false, events: [] },
      });
      expect((await store.lookup(sha(revoked))).verdict).toEqual({ state: "revoked", expiresAt: t - 11 + HOUR });
      expect((await store.lookup(sha(expired))).verdict).toEqual({ state: "expired", expiresAt: t - 1 });
      expect((await store.lookup(sha(tok()))).verdict).toEqual({ state: "unknown" });
      const other = tok();
      await store.store(other, { id: "o", subject: "s" });
      const res = await store.lookup(sha(live), cursor);
      expect(res.changes.events).toEqual([{ type: "token", hash: sha(other) }]);
    });

    it("hashes tokens as the store keys them, and refuses malformed tokens and hashes", async () => {
      const a = tok();
      expect(await store.hashToken(a)).toBe(sha(a));
      for (const call of [
        () => store.hashToken("x\ud800"),
        () => store.hashToken(""),
        () => store.lookup("not-a-hash"),
        () => store.lookup(sha(a).toUpperCase()),
      ]) {
        const e = await call().then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(e).toBeInstanceOf(StorageError);
        expect((e as StorageError).err).toBe(ErrInvalidMetadata);
      }
    });

    it("resets a reader that is more than a page behind", async () => {
      const s = await make({ feedPageSize: 3 });
      await s.store(tok(), { id: "p0", subject: "s" });
      const start = (await s.changes()).cursor;
      for (let i = 1; i <= 3; i++) await s.store(tok(), { id: `p${i}`, subject: "s" });
      expect((await s.changes(start)).events).toHaveLength(3); // exactly a page
      await s.store(tok(), { id: "p4", subject: "s" });
      const behind = await s.changes(start); // 4 waiting
      expect(behind.reset).toBe(true);
      expect(behind.events).toEqual([]);
      expect(behind.cursor.seq).toBe(start.seq + 4);
    });

    it("resets a reader whose next change was trimmed by the length cap", async () => {
      const s = await make({ feedMaxLength: 5 });
      await s.store(tok(), { id: "l0", subject: "s" });
      const start = (await s.changes()).cursor;
      for (let i = 1; i <= 5; i++) await s.store(tok(), { id: `l${i}`, subject: "s" });
      expect((await s.changes(start)).events).toHaveLength(5); // all five kept
      const mid = (await s.changes()).cursor;
      for (let i = 6; i <= 11; i++) await s.store(tok(), { id: `l${i}`, subject: "s" });
      expect((await s.changes(mid)).reset).toBe(true); // six since, five kept
    });

    it("resets a reader whose next change is older than the retention window", async () => {
      const s = await make({ feedRetentionMs: 1000 });
      await s.store(tok(), { id: "r0", subject: "s" });
      const start = (await s.changes()).cursor;
      await s.store(tok(), { id: "old", subject: "s" });
      expect((await s.changes(start)).reset).toBe(false);
      t += 1500;
      await s.store(tok(), { id: "new", subject: "s" }); // trims "old"
      expect((await s.changes(start)).reset).toBe(true);
    });

    it("resets a reader with a cursor from another epoch or ahead of the feed", async () => {
      await store.store(tok(), { id: "e1", subject: "s" });
      const { cursor } = await store.changes();
      expect((await store.changes({ epoch: "another-epoch", seq: cursor.seq })).reset).toBe(true);
      expect((await store.changes({ epoch: cursor.epoch, seq: cursor.seq + 1 })).reset).toBe(true);
      expect((await store.changes({ epoch: cursor.epoch, seq: -1 })).reset).toBe(true);
    });
  });
}
