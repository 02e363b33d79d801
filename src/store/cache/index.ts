// The verdict cache: wraps any FeedStore, keeps verdicts per isolate, follows the change feed.
export { withVerdictCache, VerdictCache, type VerdictCacheOptions, type VerdictCacheStats } from "./verdict-cache.js";
