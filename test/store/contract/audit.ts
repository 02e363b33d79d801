import { describe, expect, it } from "vitest";
import { ErrInvalidMetadata, type AuditEntry, type AuditLog, type AuditRecord } from "../../../src/store/index.js";

/** Makes a backend's audit log holding at most `maxRecords`, and says how many it holds now (read directly). */
export type AuditFactory = (maxRecords?: number) => Promise<{ log: AuditLog; held(): Promise<number> }>;

/** The audit log, the same on every backend: append, page newest first, `since`, the bound. */
export function auditContract(name: string, factory: AuditFactory): void {
  describe(`${name}: audit log`, () => {
    const T0 = Date.now();
    const entry = (i: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
      at: T0 + i,
      actor: `actor-${i}`,
      action: "revoke",
      target: { fingerprint: i.toString(16).padStart(12, "0") },
      result: "ok",
      ...over,
    });

    it("lists what was appended, newest first, as it was appended", async () => {
      const { log } = await factory();
      expect(await log.list({ limit: 10 })).toEqual({ records: [] });
      await log.append(entry(1, { action: "store", target: { fingerprint: "aaaaaaaaaaaa", id: "i", subject: "s" } }));
      await log.append(entry(2, { actor: "alice@example.com", action: "revokeSubject", target: { subject: "bob" } }));
      await log.append(entry(3, { action: "cleanup", target: {}, result: "store_unavailable" }));
      const { records, next } = await log.list({ limit: 10 });
      expect(next).toBeUndefined();
      expect(records.map(({ id: _id, ...r }) => r)).toEqual([
        entry(3, { action: "cleanup", target: {}, result: "store_unavailable" }),
        entry(2, { actor: "alice@example.com", action: "revokeSubject", target: { subject: "bob" } }),
        entry(1, { action: "store", target: { fingerprint: "aaaaaaaaaaaa", id: "i", subject: "s" } }),
      ]);
      expect(new Set(records.map((r) => r.id)).size).toBe(3);
    });

    it("keeps the family actions with their targets: a rotation's old token and family, a revoked family", async () => {
      const { log } = await factory();
      const rotated = entry(1, {
        action: "rotate",
        target: { fingerprint: "bbbbbbbbbbbb", id: "new-id", family: "grant-1" },
      });
      const reused = entry(2, { action: "rotate", target: { fingerprint: "bbbbbbbbbbbb" }, result: "token_reused" });
      const revoked = entry(3, { action: "revokeFamily", target: { family: "grant-1" } });
      for (const e of [rotated, reused, revoked]) await log.append(e);
      const { records } = await log.list({ limit: 10 });
      expect(records.map(({ id: _id, ...r }) => r)).toEqual([revoked, reused, rotated]);
    });

    it("pages through every record exactly once with `next`, and `since` leaves out older ones", async () => {
      const { log } = await factory();
      for (let i = 0; i < 25; i++) await log.append(entry(i));
      const seen: AuditRecord[] = [];
      let before: string | undefined;
      const sizes: number[] = [];
      for (;;) {
        const page = await log.list({ limit: 10, before });
        sizes.push(page.records.length);
        seen.push(...page.records);
        if (page.next === undefined) break;
        before = page.next;
      }
      expect(sizes).toEqual([10, 10, 5]);
      expect(seen.map((r) => r.actor)).toEqual(Array.from({ length: 25 }, (_, i) => `actor-${24 - i}`));
      // since: by the time each record was appended (ms of its id)
      const cut = Number(seen[9]!.id.split("-")[0]);
      const recent = await log.list({ limit: 1000, since: cut });
      expect(recent.records.length).toBeGreaterThanOrEqual(10);
      expect(recent.records.every((r) => Number(r.id.split("-")[0]) >= cut)).toBe(true);
      expect((await log.list({ limit: 1000, since: Date.now() + 60_000 })).records).toEqual([]);
    });

    it("refuses a bad limit, since or before with ErrInvalidMetadata", async () => {
      const { log } = await factory();
      for (const q of [
        { limit: 0 },
        { limit: 1001 },
        { limit: 1.5 },
        { limit: 5, since: -1 },
        { limit: 5, before: "x" },
      ])
        await expect(log.list(q)).rejects.toMatchObject({ err: ErrInvalidMetadata });
    });

    it("stays bounded under a flood of appends, keeping the newest", async () => {
      const max = 50;
      const { log, held } = await factory(max);
      expect(log.maxRecords).toBe(max);
      for (let i = 0; i < 600; i++) await log.append(entry(i));
      // Redis trims whole stream nodes (MAXLEN ~): up to one node (100 entries) more than asked
      expect(await held()).toBeLessThanOrEqual(max + 100);
      expect(await held()).toBeGreaterThanOrEqual(max);
      const { records } = await log.list({ limit: max });
      expect(records.map((r) => r.actor)).toEqual(Array.from({ length: max }, (_, i) => `actor-${599 - i}`));
    });
  });
}
