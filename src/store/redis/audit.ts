import type { Redis } from "@upstash/redis/cloudflare";
import {
  checkAuditQuery,
  page,
  type AuditEntry,
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
} from "../core/audit.js";
import { NO_KEY } from "../core/errors.js";
import { describeFailure, unavailable } from "./replies.js";

/**
 * The Redis backend's audit log: the stream `P a`, one entry per record (field `r`, the record
 * as JSON), ids made by Redis. `XADD ... MAXLEN ~ maxRecords` trims it on every append: one
 * billed command, and Redis keeps at most maxRecords plus one stream node (100 entries by
 * default) more. A page is one `XREVRANGE`.
 */
export class RedisAuditLog implements AuditLog {
  constructor(
    private readonly redis: Pick<Redis, "exec">,
    private readonly key: string,
    readonly maxRecords: number,
    private readonly timeoutMs: number,
  ) {}

  async append(entry: AuditEntry): Promise<void> {
    const record = JSON.stringify(entry);
    await this.call(["XADD", this.key, "MAXLEN", "~", this.maxRecords, "*", "r", record]);
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    checkAuditQuery(query);
    const { since, before, limit } = query;
    if (before === "0-0") return { records: [] }; // nothing is older, and Redis refuses "(0-0"
    const end = before === undefined ? "+" : `(${before}`;
    const raw = await this.call(["XREVRANGE", this.key, end, since === undefined ? "-" : since, "COUNT", limit + 1]);
    if (!Array.isArray(raw)) throw unavailable("audit", NO_KEY, "the reply is not a list");
    return page(raw.map(toRecord), limit);
  }

  private async call(command: [string, ...(string | number)[]]): Promise<unknown> {
    try {
      return await this.redis.exec(command);
    } catch (e) {
      throw unavailable("audit", NO_KEY, describeFailure(e, this.timeoutMs));
    }
  }
}

/** A stream entry, [id, ["r", json]], as a record; anything else means Redis answered wrongly. */
function toRecord(entry: unknown): AuditRecord {
  const [id, fields] = Array.isArray(entry) ? entry : [];
  let r: Partial<AuditEntry> | undefined;
  try {
    // a caller's own client may parse the JSON itself (automaticDeserialization)
    const value: unknown = Array.isArray(fields) && fields[0] === "r" ? fields[1] : undefined;
    r = typeof value === "string" ? (JSON.parse(value) as AuditEntry) : (value as AuditEntry | undefined);
  } catch {
    // malformed: refused below
  }
  if (
    typeof id !== "string" ||
    typeof r?.at !== "number" ||
    typeof r.actor !== "string" ||
    typeof r.action !== "string"
  )
    throw unavailable("audit", NO_KEY, "an audit record is malformed");
  return { id, ...(r as AuditEntry) };
}
