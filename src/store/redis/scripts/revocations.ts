import { FEED_APPEND, MIGRATE, SUBJECT_MARKER } from "./fragments.js";

/**
 * revokeSubject: records the subject's cutoff (keeping the latest) and appends "s<subject>".
 * Constant cost: no token record is touched; every read applies the cutoff. The cutoff is
 * `now`, or the subject's latest stored `ia` if that is later (another writer's clock ahead),
 * so every token stored before this call is reached.
 *
 * KEYS  1 subject_key      P s:<subject>
 *       2 feed_key         P f
 *       3 feed_meta_key    P fm
 *       4 cutoff_key       P c:<subject>
 * ARGV  1 now              (n) ms: the cutoff
 *       2 subject
 *       3 epoch            offered as the feed's epoch
 *       4 maxlen           (n) the feed's length cap
 *       5 cutoff_ttl       (n) ms the cutoff is kept: maxTokenLifetime + grace
 * Reply: how many unexpired stored tokens of the subject the cutoff reaches.
 * Commands: ZSCORE s (the marker), SET c GET, [SET c] (a later cutoff was already set),
 *   ZCOUNT s, feed_append: 6 with the EVALSHA whatever the subject holds, 7 when a later
 *   cutoff was already set.
 * Why: the cutoff is never earlier than the marker, the latest token stored for the subject,
 * whatever its writer's clock said; and the marker, counted by ZCOUNT when it is that late, is
 * not a token.
 */
export const REVOKE_SUBJECT =
  FEED_APPEND +
  `
local subject_key   = KEYS[1]
local feed_key      = KEYS[2]
local feed_meta_key = KEYS[3]
local cutoff_key    = KEYS[4]
local now           = tonumber(ARGV[1])
local subject       = ARGV[2]
local epoch         = ARGV[3]
local maxlen        = tonumber(ARGV[4])
local cutoff_ttl    = tonumber(ARGV[5])
local latest = tonumber(redis.call('ZSCORE', subject_key, '${SUBJECT_MARKER}') or 0)
local cut = math.max(now, latest)
local before = redis.call('SET', cutoff_key, cut, 'PX', cutoff_ttl, 'GET')
if before and tonumber(before) > cut then redis.call('SET', cutoff_key, before, 'PX', cutoff_ttl) end
local reached = redis.call('ZCOUNT', subject_key, now, '+inf')
if latest >= now then reached = reached - 1 end
feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 's' .. subject)
return tostring(reached)
`;

/**
 * revokeKey: records the key's revocation and appends "k<keyId>".
 *
 * KEYS  1 key_revoked_key  P k:<keyId>
 *       2 feed_key         P f
 *       3 feed_meta_key    P fm
 * ARGV  1 now              ms
 *       2 key_id
 *       3 ttl              ms the revocation is kept: maxTokenLifetime + grace
 *       4 epoch            offered as the feed's epoch
 *       5 maxlen           (n) the feed's length cap
 * Reply: "true".
 * Commands: SET k, feed_append: 4 with the EVALSHA.
 */
export const REVOKE_KEY =
  FEED_APPEND +
  `
local key_revoked_key = KEYS[1]
local feed_key        = KEYS[2]
local feed_meta_key   = KEYS[3]
local now             = ARGV[1]
local key_id          = ARGV[2]
local ttl             = ARGV[3]
local epoch           = ARGV[4]
local maxlen          = tonumber(ARGV[5])
redis.call('SET', key_revoked_key, now, 'PX', ttl)
feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 'k' .. key_id)
return 'true'
`;

/**
 * denyJwt: deny-lists a JWT's hash (keeping the longest TTL), marks it revoked if it is
 * stored, and appends "t<h>".
 *
 * KEYS  1 deny_key         P d:<h>
 *       2 token_key        P t:<h>
 *       3 feed_key         P f
 *       4 feed_meta_key    P fm
 * ARGV  1 now              ms
 *       2 h                the token's hash
 *       3 deny_ttl         ms: until exp + DENY_GRACE_MS
 *       4 epoch            offered as the feed's epoch
 *       5 maxlen           (n) the feed's length cap
 *       6..8               migrate's
 * Reply: "true".
 * Commands: SET d NX, [PEXPIRE d GT] (denied before), EXISTS t, [HSETNX t r] (stored),
 *   feed_append: 5 to 7 with the EVALSHA.
 */
export const DENY_JWT =
  FEED_APPEND +
  MIGRATE +
  `
local deny_key        = KEYS[1]
local token_key       = KEYS[2]
local feed_key        = KEYS[3]
local feed_meta_key   = KEYS[4]
local now             = ARGV[1]
local h               = ARGV[2]
local deny_ttl        = ARGV[3]
local epoch           = ARGV[4]
local maxlen          = tonumber(ARGV[5])
local migrate_prefix  = ARGV[6]
local previous_hashes = ARGV[7]
local current_hash    = ARGV[8]
migrate(migrate_prefix, previous_hashes, current_hash)
if not redis.call('SET', deny_key, '1', 'PX', deny_ttl, 'NX') then redis.call('PEXPIRE', deny_key, deny_ttl, 'GT') end
if redis.call('EXISTS', token_key) == 1 then redis.call('HSETNX', token_key, 'r', now) end
feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 't' .. h)
return 'true'
`;
