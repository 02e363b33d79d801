import { ANSWER, COVERS, FEED_READ, MIGRATE } from "./fragments.js";

/**
 * lookup: the verdict get would give, and the feed since the cursor, in one atomic step (the
 * verdict cache's miss).
 *
 * KEYS  1 token_key        P t:<h>
 *       2 feed_key         P f
 *       3 feed_meta_key    P fm
 * ARGV  1 now              (n) ms
 *       2 since_epoch      the reader's cursor ('' for none)
 *       3 since_seq        (n) -1 for none
 *       4 page             (n) most changes returned
 *       5 prefix           P
 *       6..8               migrate's
 * Reply: {"v": {"s": "unknown"|"expired"|"revoked"|"live", "e": expiresAt, "m": metadata}, "f": feed_read}.
 * Commands: HMGET t, [MGET (covers)], feed_read: at most 5 with the EVALSHA.
 */
export const LOOKUP =
  FEED_READ +
  COVERS +
  ANSWER +
  MIGRATE +
  `
local token_key       = KEYS[1]
local feed_key        = KEYS[2]
local feed_meta_key   = KEYS[3]
local now             = tonumber(ARGV[1])
local since_epoch     = ARGV[2]
local since_seq       = tonumber(ARGV[3])
local page            = tonumber(ARGV[4])
local prefix          = ARGV[5]
local migrate_prefix  = ARGV[6]
local previous_hashes = ARGV[7]
local current_hash    = ARGV[8]
migrate(migrate_prefix, previous_hashes, current_hash)
local r = redis.call('HMGET', token_key, 'm', 'e', 'r', 's', 'ia', 'k')
local a = answer(prefix, r, now)
local v
if a == '!not_found' then v = '{"s":"unknown"}'
elseif a == '!expired' then v = '{"s":"expired","e":' .. r[2] .. '}'
elseif a == '!revoked' or a == '!covered' then v = '{"s":"revoked","e":' .. r[2] .. '}'
else v = '{"s":"live","m":' .. a .. '}' end
return '{"v":' .. v .. ',"f":' .. feed_read(feed_key, feed_meta_key, since_epoch, since_seq, page) .. '}'
`;

/**
 * lookupJwt: a verified JWT's verdict (revoked when deny-listed, stored and marked, or covered;
 * else live) and the feed since the cursor, in one atomic step.
 *
 * KEYS  1 token_key        P t:<h>
 *       2 deny_key         P d:<h>
 *       3 feed_key         P f
 *       4 feed_meta_key    P fm
 * ARGV  1 prefix           P
 *       2 subject          the JWT's sub
 *       3 issued_at        its iat, ms
 *       4 key_id           its kid ('' for none)
 *       5 since_epoch      the reader's cursor ('' for none)
 *       6 since_seq        (n) -1 for none
 *       7 page             (n) most changes returned
 *       8..10              migrate's
 * Reply: {"v": {"s": "revoked"|"live"}, "f": feed_read}.
 * Commands: EXISTS d, [HEXISTS t r], [MGET (covers)], feed_read: at most 6 with the EVALSHA.
 */
export const LOOKUP_JWT =
  FEED_READ +
  COVERS +
  MIGRATE +
  `
local token_key       = KEYS[1]
local deny_key        = KEYS[2]
local feed_key        = KEYS[3]
local feed_meta_key   = KEYS[4]
local prefix          = ARGV[1]
local subject         = ARGV[2]
local issued_at       = ARGV[3]
local key_id          = ARGV[4]
local since_epoch     = ARGV[5]
local since_seq       = tonumber(ARGV[6])
local page            = tonumber(ARGV[7])
local migrate_prefix  = ARGV[8]
local previous_hashes = ARGV[9]
local current_hash    = ARGV[10]
migrate(migrate_prefix, previous_hashes, current_hash)
local revoked = redis.call('EXISTS', deny_key) == 1 or redis.call('HEXISTS', token_key, 'r') == 1
  or covers(prefix, { { subject, issued_at, key_id } })[1]
local v = revoked and '"revoked"' or '"live"'
return '{"v":{"s":' .. v .. '},"f":' .. feed_read(feed_key, feed_meta_key, since_epoch, since_seq, page) .. '}'
`;

/**
 * changes: the feed since the cursor (the verdict cache's sync).
 *
 * KEYS  1 feed_key         P f
 *       2 feed_meta_key    P fm
 * ARGV  1 since_epoch      the reader's cursor ('' for none)
 *       2 since_seq        (n) -1 for none
 *       3 page             (n) most changes returned
 * Reply: feed_read's JSON.
 * Commands: feed_read: 2 with the EVALSHA when nothing is new, else 3.
 */
export const CHANGES =
  FEED_READ +
  `
local feed_key      = KEYS[1]
local feed_meta_key = KEYS[2]
local since_epoch   = ARGV[1]
local since_seq     = tonumber(ARGV[2])
local page          = tonumber(ARGV[3])
return feed_read(feed_key, feed_meta_key, since_epoch, since_seq, page)
`;

/**
 * recentChanges: the feed's newest changes, newest first, each as stored ("<seq>:<ms>:<event>").
 *
 * KEYS  1 feed_key         P f
 * ARGV  1 limit            (n) most changes returned
 * Reply: a JSON array of members.
 * Commands: ZREVRANGE f: 2 with the EVALSHA.
 */
export const RECENT_CHANGES = `
local feed_key = KEYS[1]
local limit    = tonumber(ARGV[1])
local got = redis.call('ZREVRANGE', feed_key, 0, limit - 1)
if #got == 0 then return '[]' end
return cjson.encode(got)
`;
