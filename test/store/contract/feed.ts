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

    it("lists the newest changes first with their times, naming tokens by hash only, within the limit", async () => {
      expect(await store.recentChanges(10)).toEqual([]);
      const [a, b] = [tok(), tok()];
      await store.store(a, { id: "ra", subject: "recent-alice" });
      await store.store(b, { id: "rb", subject: "recent-alice" });
      const t0 = t;
      await store.revoke(a);
      t += 1_000;
      await store.revokeSubject("recent-alice");
      t += 1_000;
      await store.revokeKey("recent-key");
      t += 1_000;
      await store.revokeById("rb");
      const got = await store.recentChanges(10);
      expect(got.map(({ at, event }) => ({ at: at - t0, event }))).toEqual([
        { at: 3_000, event: { type: "token", hash: sha(b) } },
        { at: 2_000, event: { type: "key", keyId: "recent-key" } },
        { at: 1_000, event: { type: "subject", subject: "recent-alice" } },
        { at: 0, event: { type: "token", hash: sha(a) } },
      ]);
      expect(got.map((c) => c.seq)).toEqual([4, 3, 2, 1].map((i) => got[3]!.seq + i - 1));
      expect(await store.recentChanges(2)).toEqual(got.slice(0, 2));
      for (const bad of [0, 1001, 1.5, -1, Number.NaN])
        await expect(store.recentChanges(bad)).rejects.toMatchObject({ err: ErrInvalidMetadata });
      expect(JSON.stringify(got)).not.toContain(a);
    });

    it("answers a reader with no cursor with a reset and the current position", async () => {
      const first = await store.changes();
      expect(first.reset).toBe(true);
      expect(first.events).toEqual([]);
      expect(await store.changes(first.cursor)).toEqual({
        cursor: first.cursor,
        reset: false,
        more: false,
        events: [],
      });
    });

    it("appends one event per write that can make a verdict unsafe, in order, naming tokens by hash only", async () => {
      const [a, b] = [tok(), tok()];
      await store.store(a, { id: "fa", subject: "feed-alice" });
      await store.store(b, { id: "fb", subject: "feed-alice" });
      await store.revokeKey("feed-key-0"); // the feed has begun (an empty Redis feed has no epoch yet)
      const start = (await store.changes()).cursor;
      await store.store(tok(), { id: "fc", subject: "feed-alice" }); // a new token: nothing
      await store.store(a, { id: "fa2", subject: "feed-alice" }); // replaces a's record
      await store.revoke(b);
      await store.revoke(b); // already revoked: no change, no event
      await store.revokeSubject("feed-alice");
      await store.delete(a);
      await store.revokeKey("feed-key-1");
      const jwt = `eyJhbGciOiJFUzI1NiJ9.eyJ9.${tok()}`;
      await store.denyJwt(jwt, { subject: "feed-jwt", issuedAt: new Date(t - 1000), expiresAt: new Date(t + HOUR) });
      const batch = await store.changes(start);
      expect(batch.reset).toBe(false);
      expect(batch.more).toBe(false);
      expect(batch.events).toEqual<ChangeEvent[]>([
        { type: "token", hash: sha(a) },
        { type: "token", hash: sha(b) },
        { type: "subject", subject: "feed-alice" },
        { type: "token", hash: sha(a) },
        { type: "key", keyId: "feed-key-1" },
        { type: "token", hash: sha(jwt) },
      ]);
      expect(batch.cursor.seq).toBe(start.seq + 6);
      expect(batch.cursor.epoch).toBe(start.epoch);
      for (const raw of [a, b, jwt]) expect(JSON.stringify(batch)).not.toContain(raw);
    });

    it("appends nothing for new tokens, for reads and for refused writes", async () => {
      const a = tok();
      await store.store(a, { id: "held", subject: "s" });
      await store.revokeKey("feed-key-begin");
      const start = (await store.changes()).cursor;
      for (let i = 0; i < 5; i++) await store.store(tok(), { id: `new-${i}`, subject: "s" });
      await store.get(a);
      await store.getById("held");
      await store.list("s");
      await store.isRevoked(a);
      await expect(store.store(tok(), { id: "held", subject: "s" })).rejects.toMatchObject({ err: ErrIDConflict });
      await expect(store.revoke(tok())).rejects.toMatchObject({ err: ErrTokenNotFound });
      await store.lookup(sha(a), start);
      expect(await store.changes(start)).toEqual({ cursor: start, reset: false, more: false, events: [] });
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
        changes: { cursor, reset: false, more: false, events: [] },
      });
      expect((await store.lookup(sha(revoked))).verdict).toEqual({ state: "revoked", expiresAt: t - 11 + HOUR });
      expect((await store.lookup(sha(expired))).verdict).toEqual({ state: "expired", expiresAt: t - 1 });
      expect((await store.lookup(sha(tok()))).verdict).toEqual({ state: "unknown" });
      const other = tok();
      await store.store(other, { id: "o", subject: "s" });
      await store.revoke(other);
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

    it("hands a reader more than a page behind the backlog a page at a time, without a reset", async () => {
      const s = await make({ feedPageSize: 3 });
      await s.revokeKey("page-0");
      const start = (await s.changes()).cursor;
      for (let i = 1; i <= 3; i++) await s.revokeKey(`page-${i}`);
      expect(await s.changes(start)).toMatchObject({ reset: false, more: false }); // exactly a page
      await s.revokeKey("page-4");
      const first = await s.changes(start); // 4 waiting
      expect(first).toMatchObject({ reset: false, more: true, cursor: { epoch: start.epoch, seq: start.seq + 3 } });
      expect(first.events.map((e) => (e as { keyId: string }).keyId)).toEqual(["page-1", "page-2", "page-3"]);
      const rest = await s.changes(first.cursor);
      expect(rest).toEqual({
        cursor: { epoch: start.epoch, seq: start.seq + 4 },
        reset: false,
        more: false,
        events: [{ type: "key", keyId: "page-4" }],
      });
    });

    it("resets a reader whose next change was trimmed by the length cap", async () => {
      const s = await make({ feedMaxLength: 5 });
      await s.revokeKey("len-0");
      const start = (await s.changes()).cursor;
      for (let i = 1; i <= 5; i++) await s.revokeKey(`len-${i}`);
      expect((await s.changes(start)).events).toHaveLength(5); // all five kept
      // the cap holds within a few writes (Redis trims every FEED_TRIM_EVERY appends, not on each)
      for (let i = 6; i <= 200; i++) await s.revokeKey(`len-${i}`);
      expect((await s.changes(start)).reset).toBe(true);
    });

    it("forgets changes older than the retention window by cleanup, and resets a reader who needed them", async () => {
      const s = await make({ feedRetentionMs: 1000 });
      await s.revokeKey("ret-0");
      const start = (await s.changes()).cursor;
      await s.revokeKey("ret-old");
      expect((await s.changes(start)).reset).toBe(false);
      t += 1500;
      await s.revokeKey("ret-new");
      await s.cleanup();
      expect((await s.changes(start)).reset).toBe(true);
    });

    it("resets a reader with a cursor from another epoch or ahead of the feed", async () => {
      await store.revokeKey("epoch-key");
      const { cursor } = await store.changes();
      expect((await store.changes({ epoch: "another-epoch", seq: cursor.seq })).reset).toBe(true);
      expect((await store.changes({ epoch: cursor.epoch, seq: cursor.seq + 1 })).reset).toBe(true);
      expect((await store.changes({ epoch: cursor.epoch, seq: -1 })).reset).toBe(true);
    });
  });
}
