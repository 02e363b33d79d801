/** The admin routes that only read: the audit log, the feed's activity, this isolate's stats, the OpenAPI document. */
import type { Hono } from "hono";
import { errorJson, withStore } from "../../http/errors.js";
import type { AdminVariables } from "../../middleware/admin-auth.js";
import { AUDIT_ID, AUDIT_PAGE_MAX } from "../../store/core/index.js";
import { RECENT_CHANGES_MAX, type RecentChange } from "../../store/core/index.js";
import { fingerprint } from "../../store/core/index.js";
import type { AdminDeps } from "./deps.js";
import { pageLimit, parseSince, singleQuery } from "./query.js";

/** A feed change as the admin API shows it: a token by its fingerprint, never its hash or itself. */
function activityItem({ seq, at, event }: RecentChange) {
  const base = { seq, at: new Date(at).toISOString() };
  if (event.type === "token") return { ...base, type: event.type, fingerprint: fingerprint(event.hash) };
  if (event.type === "subject") return { ...base, type: event.type, subject: event.subject };
  if (event.type === "family") return { ...base, type: event.type, family: event.family };
  return { ...base, type: event.type, keyId: event.keyId };
}

/** Adds the read-only routes to `admin`. */
export function readOnlyRoutes(admin: Hono<{ Variables: AdminVariables }>, deps: AdminDeps): void {
  const { auditLog, feed, cache, assets } = deps;
  admin.get("/audit", (c) =>
    withStore(c, async () => {
      if (auditLog === undefined) return errorJson(c, 404, "not_found", "this store keeps no audit log");
      const q = singleQuery(c, "since", "before", "limit");
      if (q instanceof Response) return q;
      const bad = (message: string) => errorJson(c, 400, "invalid_request", message);
      const limit = pageLimit(q.limit, AUDIT_PAGE_MAX);
      if (Number.isNaN(limit)) return bad(`limit must be a whole number from 1 to ${AUDIT_PAGE_MAX}`);
      const since = q.since === undefined ? undefined : parseSince(q.since);
      if (Number.isNaN(since))
        return bad("since must be epoch milliseconds or an ISO 8601 time such as 2026-12-04T10:00:00Z");
      if (q.before !== undefined && !AUDIT_ID.test(q.before)) return bad("before must be the next of a previous page");
      const page = await auditLog.list({ since, before: q.before, limit });
      return c.json({
        records: page.records.map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
        ...(page.next === undefined ? {} : { next: page.next }),
      });
    }),
  );
  // the newest revocations in the change feed, newest first: what every isolate's cache follows
  admin.get("/activity", (c) =>
    withStore(c, async () => {
      if (feed === undefined) return errorJson(c, 404, "not_found", "this store keeps no change feed");
      const q = singleQuery(c, "limit");
      if (q instanceof Response) return q;
      const limit = pageLimit(q.limit, RECENT_CHANGES_MAX);
      if (Number.isNaN(limit))
        return errorJson(c, 400, "invalid_request", `limit must be a whole number from 1 to ${RECENT_CHANGES_MAX}`);
      return c.json({ changes: (await feed.recentChanges(limit)).map(activityItem) });
    }),
  );
  // this isolate's counters only: every isolate has its own cache
  admin.get("/stats", (c) =>
    c.json({
      scope: "isolate",
      cache:
        cache === undefined
          ? null
          : { maxStalenessMs: cache.maxStalenessMs, maxEntries: cache.maxEntries, ...cache.stats() },
    }),
  );
  // generated from the schemas above by `npm run openapi`; a test keeps it current
  admin.get("/openapi.json", async (c) => {
    const res = await assets?.fetch(new URL("/openapi.json", c.req.url));
    if (!res?.ok) return errorJson(c, 404, "not_found", "the OpenAPI document is not deployed (no ASSETS)");
    return new Response(res.body, { headers: { "Content-Type": "application/json" } });
  });
}
