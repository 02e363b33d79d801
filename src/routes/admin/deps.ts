import type { AccessVerifier } from "../../jwt/access.js";
import type { VerdictCache } from "../../store/cache/index.js";
import type { AuditLog } from "../../store/core/index.js";
import type { FeedStore } from "../../store/core/index.js";
import type { TokenStore } from "../../store/core/index.js";
import type { EdgeOptions } from "../../tokens/credential.js";
import type { Audited } from "../audited.js";
import type { AssetFetcher } from "../console.js";

/** What the admin routes are given; the edge checks (`jwt`, `tags`, `tokenFormat`) are its {@link EdgeOptions}. */
export interface AdminDeps extends EdgeOptions {
  /** The authoritative store: every admin call is one round trip to it. */
  store: TokenStore;
  /** The shared admin token; undefined when turned off (Access only). */
  adminToken?: string;
  /** Verifies Cloudflare Access assertions, when Access is configured. */
  access?: AccessVerifier;
  /** Records each write (who, what, on what, result); see src/routes/audited.ts. */
  audited: Audited;
  /** Where `GET /admin/audit` reads the records from; without it that route answers 404. */
  auditLog?: AuditLog;
  /** This isolate's verdict cache, whose counters `GET /admin/stats` shows. */
  cache?: Pick<VerdictCache, "stats" | "maxStalenessMs" | "maxEntries">;
  /** The change feed `GET /admin/activity` reads; without it that route answers 404. */
  feed?: Pick<FeedStore, "recentChanges">;
  /** Where `GET /admin/openapi.json` comes from (the ASSETS binding): kept out of the Worker's bundle. */
  assets?: AssetFetcher;
}
