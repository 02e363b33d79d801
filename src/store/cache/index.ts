// The verdict cache: wraps any FeedStore, keeps verdicts per isolate, follows the change feed,
// and shares verdicts and feed reads between the isolates of a data center through a tier.
export { withVerdictCache, VerdictCache, type VerdictCacheOptions, type VerdictCacheStats } from "./verdict-cache.js";
export { SharedTier, type SharedCache, type SharedTierOptions, type SharedTierStats } from "./shared-tier.js";
export { CHANGE_LOG_MAX } from "./follower.js";
