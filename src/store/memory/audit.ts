import {
  checkAuditQuery,
  compareAuditIds,
  page,
  type AuditEntry,
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
} from "../core/audit.js";

/** The memory backend's audit log: the newest `maxRecords` records, in an array. */
export class MemoryAuditLog implements AuditLog {
  private records: AuditRecord[] = [];
  private last = { ms: 0, seq: 0 };

  constructor(readonly maxRecords: number) {}

  async append(entry: AuditEntry): Promise<void> {
    // ids as Redis makes stream ids: never going back, a sequence within one millisecond
    const ms = Math.max(entry.at, this.last.ms);
    this.last = { ms, seq: ms === this.last.ms ? this.last.seq + 1 : 0 };
    this.records.push({ id: `${ms}-${this.last.seq}`, ...structuredClone(entry) });
    if (this.records.length > this.maxRecords) this.records.splice(0, this.records.length - this.maxRecords);
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    checkAuditQuery(query);
    const { since, before, limit } = query;
    const out: AuditRecord[] = [];
    for (let i = this.records.length - 1; i >= 0 && out.length <= limit; i--) {
      const r = this.records[i]!;
      if (before !== undefined && compareAuditIds(r.id, before) >= 0) continue;
      if (since !== undefined && compareAuditIds(r.id, `${since}-0`) < 0) break;
      out.push(structuredClone(r));
    }
    return page(out, limit);
  }
}
