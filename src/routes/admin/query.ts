/** The admin API's query parameters: each given once, page sizes and times, checked. */
import type { Context } from "hono";
import { errorJson } from "../../http/errors.js";

/** How many records `GET /admin/audit`, or changes `GET /admin/activity`, lists when no `limit` is given. */
export const DEFAULT_PAGE_LIMIT = 50;

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * The query's named parameters, each once (undefined when absent), or a 400 when one is
 * repeated: `?limit=5&limit=5000` must not mean whichever a layer happens to read.
 */
export function singleQuery<K extends string>(c: Context, ...names: K[]): Record<K, string | undefined> | Response {
  const out = {} as Record<K, string | undefined>;
  for (const name of names) {
    const given = c.req.queries(name) ?? [];
    if (given.length > 1) return errorJson(c, 400, "invalid_request", `give ${name} at most once`);
    out[name] = given[0];
  }
  return out;
}

/** A page size from the query: the default when absent, else 1 to `max` in plain digits; NaN otherwise. */
export function pageLimit(raw: string | undefined, max: number): number {
  if (raw === undefined) return DEFAULT_PAGE_LIMIT;
  const n = /^[0-9]{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  return n >= 1 && n <= max ? n : Number.NaN;
}

/**
 * `since`: epoch milliseconds or an ISO 8601 time with its zone; NaN for anything else, an
 * impossible date included (Date.parse would roll 2026-02-31 over into March).
 */
export function parseSince(raw: string): number {
  if (/^\d{1,15}$/.test(raw)) return Number(raw);
  const m = ISO_TIME.exec(raw);
  if (m === null) return Number.NaN;
  const [y, mo, d, h, mi, sec, zh, zm] = m.slice(1).map((x) => Number(x ?? "0"));
  const day = new Date(Date.UTC(y!, mo! - 1, d!));
  const real = day.getUTCMonth() === mo! - 1 && day.getUTCDate() === d;
  if (!real || h! > 23 || mi! > 59 || sec! > 59 || zh! > 23 || zm! > 59) return Number.NaN;
  const ms = Date.parse(raw);
  return ms >= 0 ? ms : Number.NaN;
}
