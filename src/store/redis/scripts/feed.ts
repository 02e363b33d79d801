import { ANSWER, COVERS, FEED_READ, MIGRATE, TOKEN_INPUTS } from "./fragments.js";

/**
 * lookup: the verdict get would give, and the feed since the cursor, in one atomic step (the
 * verdict cache's miss).
 *
 * Reply: {"v": {"s": "unknown"|"expired"|"revoked"|"live", "e": expiresAt, "m": metadata}, "f": feed_read}.
 * Commands: HMGET t, [MGET (covers)], feed_read: at most 5 with the EVALSHA.
 */
export const LOOKUP =
  FEED_READ +
  COVERS +
  ANSWER +
  MIGRATE +
  TOKEN_INPUTS +
  // now ms, the caller's clock
  `
local now = tonumber(ARGV[4])
migrate(prefix, previous_hashes, h)
local r = redis.call('HMGET', token_key, 'm', 'e', 'r', 's', 'ia', 'k', 'g')
local a = answer(prefix, r, now)
local v
if a == '!not_found' then v = '{"s":"unknown"}'
elseif a == '!expired' then v = '{"s":"expired","e":' .. r[2] .. '}'
elseif a == '!revoked' or a == '!covered' then v = '{"s":"revoked","e":' .. r[2] .. '}'
else v = '{"s":"live","m":' .. a .. '}' end
return '{"v":' .. v .. ',"f":' .. feed_read(feed_key, feed_meta_key, since_epoch, since_seq, page) .. '}'
`;

/**
 * lookupJwt: a verified JWT's verdict (revoked when deny-listed, stored and marked, or covered,
 * its family's revocation included; else live) and the feed since the cursor, in one atomic step.
 *
 * Reply: {"v": {"s": "revoked"|"live"}, "f": feed_read}.
 * Commands: EXISTS d, [HEXISTS t r], [MGET (covers)], feed_read: at most 6 with the EVALSHA.
 */
export const LOOKUP_JWT =
  FEED_READ +
  COVERS +
  MIGRATE +
  TOKEN_INPUTS +
  // deny_key  P d:<h>
  // now       ms, the caller's clock (a family mark lapses)
  // subject   the JWT's sub
  // issued_at its iat, ms
  // key_id    its kid ('' for none)
  // family    its family claim ('' for none)
  `
local deny_key = KEYS[2]
local now = tonumber(ARGV[4])
local subject = ARGV[5]
local issued_at = ARGV[6]
local key_id = ARGV[7]
local family = ARGV[8]
migrate(prefix, previous_hashes, h)
local revoked = redis.call('EXISTS', deny_key) == 1 or redis.call('HEXISTS', token_key, 'r') == 1
  or covers(prefix, { { subject, issued_at, key_id, family } }, now)[1]
local v = revoked and '"revoked"' or '"live"'
return '{"v":{"s":' .. v .. '},"f":' .. feed_read(feed_key, feed_meta_key, since_epoch, since_seq, page) .. '}'
`;

/**
 * changes: the feed since the cursor (the verdict cache's sync).
 *
 * Reply: feed_read's JSON.
 * Commands: feed_read: 2 with the EVALSHA when nothing is new, else 3.
 */
export const CHANGES =
  FEED_READ +
  `
return feed_read(feed_key, feed_meta_key, since_epoch, since_seq, page)
`;

/**
 * recentChanges: the feed's newest changes, newest first, each as stored ("<seq>:<ms>:<event>").
 *
 * Reply: a JSON array of members.
 * Commands: ZREVRANGE f: 2 with the EVALSHA.
 */
export const RECENT_CHANGES =
  // feed_key P f
  // limit    most changes returned
  `
local feed_key = KEYS[1]
local limit = tonumber(ARGV[1])
local got = redis.call('ZREVRANGE', feed_key, 0, limit - 1)
if #got == 0 then return '[]' end
return cjson.encode(got)
`;
