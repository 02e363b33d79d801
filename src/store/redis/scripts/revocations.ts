import { FEED_APPEND, MIGRATE, SUBJECT_MARKER, TOKEN_INPUTS } from "./fragments.js";

/**
 * revokeSubject: records the subject's cutoff (keeping the latest) and appends "s<subject>".
 * Constant cost: no token record is touched; every read applies the cutoff. The cutoff is
 * `now`, or the subject's latest stored `ia` if that is later (another writer's clock ahead),
 * so every token stored before this call is reached.
 *
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
  // subject_key P s:<subject>
  // cutoff_key  P c:<subject>
  // subject     the subject whose tokens are revoked
  // now         ms: the cutoff, unless the marker is later
  // ttl         ms the cutoff is kept: maxTokenLifetime + grace
  `
local subject_key = KEYS[1]
local cutoff_key = KEYS[2]
local subject = ARGV[1]
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local latest = tonumber(redis.call('ZSCORE', subject_key, '${SUBJECT_MARKER}') or 0)
local cut = math.max(now, latest)
local before = redis.call('SET', cutoff_key, cut, 'PX', ttl, 'GET')
if before and tonumber(before) > cut then redis.call('SET', cutoff_key, before, 'PX', ttl) end
local reached = redis.call('ZCOUNT', subject_key, now, '+inf')
if latest >= now then reached = reached - 1 end
feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 's' .. subject)
return tostring(reached)
`;

/**
 * revokeKey: records the key's revocation and appends "k<keyId>".
 *
 * Reply: "true".
 * Commands: SET k, feed_append: 4 with the EVALSHA.
 */
export const REVOKE_KEY =
  FEED_APPEND +
  // key_revoked_key P k:<keyId>
  // key_id          the revoked key's id
  // now             ms, written as the revocation time and to the feed
  // ttl             ms the revocation is kept: maxTokenLifetime + grace
  `
local key_revoked_key = KEYS[1]
local key_id = ARGV[1]
local now = ARGV[2]
local ttl = ARGV[3]
redis.call('SET', key_revoked_key, now, 'PX', ttl)
feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 'k' .. key_id)
return 'true'
`;

/**
 * denyJwt: deny-lists a JWT's hash (keeping the longest TTL), marks it revoked if it is
 * stored, and appends "t<h>".
 *
 * Reply: "true".
 * Commands: SET d NX, [PEXPIRE d GT] (denied before), EXISTS t, [HSETNX t r] (stored),
 *   feed_append: 5 to 7 with the EVALSHA.
 */
export const DENY_JWT =
  FEED_APPEND +
  MIGRATE +
  TOKEN_INPUTS +
  // deny_key P d:<h>
  // now      ms, written as the revocation time (r) and to the feed
  // ttl      ms the deny-listing is kept: until exp + DENY_GRACE_MS
  `
local deny_key = KEYS[2]
local now = ARGV[4]
local ttl = ARGV[5]
migrate(prefix, previous_hashes, h)
if not redis.call('SET', deny_key, '1', 'PX', ttl, 'NX') then redis.call('PEXPIRE', deny_key, ttl, 'GT') end
if redis.call('EXISTS', token_key) == 1 then redis.call('HSETNX', token_key, 'r', now) end
feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 't' .. h)
return 'true'
`;
