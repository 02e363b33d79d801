import { COVERS, FAMILY_MARK, FEED_APPEND, MIGRATE, STORE_INPUTS, STORE_TOKEN, TOKEN_INPUTS } from "./fragments.js";

/**
 * rotate: refresh-token rotation (RFC 9700 §4.14.2). TOKEN_INPUTS and STORE_INPUTS are the new
 * token's, the old one comes with the script's own inputs. Checks the old token in this order:
 * unknown, expired, already rotated (within reuse_grace of its rotation a retry, refused with
 * nothing written; later a reuse, which revokes its family as revokeFamily does), revoked
 * (marked or covered), without a family, a given subject, family or clientId that is not its
 * own. Then stores the new token as store does (store_token), in the old token's subject,
 * family and client, and only then retires the old one: its revocation and rotation times (r,
 * o) set to now, and "t<old h>" appended so caches drop its verdict.
 *
 * Reply: the new token's metadata JSON (m); about the old token "!not_found", "!expired",
 *   "!rotated", "!reused", "!revoked", "!covered", "!no_family"; about the new one {"new": x},
 *   x a given field that is not the old token's, or store_token's refusal without its "!".
 * Commands, success: HMGET t:<old h>, MGET (covers), store_token (7 for a new token), HSET
 *   t:<old h> r o, feed_append: 13 with the EVALSHA (more when the new token was stored before,
 *   as for store). A reuse: HMGET, SET g (revoke_family), feed_append: 5. A retry within the
 *   grace, or an old token unknown, expired or revoked: HMGET: 2. Covered, without a family or
 *   given another subject, family or client: HMGET, MGET: 3. The new token refused by
 *   store_token: HMGET, MGET and store_token's reads (an id held by another token: 7).
 * Why: the old token is retired after the new one is stored, so a refused store (an id held by
 * another token, say) leaves it live; every check reads the record first, and the script is
 * atomic, so of two concurrent rotations of one token the second finds o set: a reuse.
 */
export const ROTATE =
  FEED_APPEND +
  FAMILY_MARK +
  COVERS +
  STORE_TOKEN +
  MIGRATE +
  TOKEN_INPUTS +
  STORE_INPUTS +
  // old_key      P t:<old h>
  // old_h        the old token's hash
  // old_previous its hashes under the previous peppers, comma-separated ('' for none)
  // given        the subject, family and clientId the caller gave, as a JSON object
  // reuse_grace  ms after a rotation within which another rotation of the token is a retry
  // family_ttl   ms a family revocation is kept: maxTokenLifetime + grace
  `
local old_key = KEYS[2]
local old_h = ARGV[13]
local old_previous = ARGV[14]
local given = ARGV[15]
local reuse_grace = tonumber(ARGV[16])
local family_ttl = tonumber(ARGV[17])
migrate(prefix, old_previous, old_h)
migrate(prefix, previous_hashes, h)
local r = redis.call('HMGET', old_key, 'm', 'e', 'r', 's', 'ia', 'k', 'g', 'o')
subject, family = r[4], r[7]
if not r[1] then return '!not_found' end
if now > tonumber(r[2]) then return '!expired' end
if r[8] then
  if math.abs(now - tonumber(r[8])) < reuse_grace then return '!rotated' end
  revoke_family(prefix .. 'g:' .. family, family, now, family_ttl)
  return '!reused'
end
if r[3] then return '!revoked' end
if covers(prefix, { { unpack(r, 4) } }, now)[1] then return '!covered' end
if not family then return '!no_family' end
local old = cjson.decode(r[1])
for name, v in pairs(cjson.decode(given)) do
  if old[name] ~= v then return cjson.encode({ new = name }) end
end
local m = cjson.decode(metadata)
m.subject, m.family, m.clientId = subject, family, old.clientId
metadata = cjson.encode(m)
local refused =
  store_token(prefix, token_key, h, now, metadata, id, subject, expires_at, grace, covered_from, key_id, family)
if refused then return cjson.encode({ new = string.sub(refused, 2) }) end
redis.call('HSET', old_key, 'r', now, 'o', now)
feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 't' .. old_h)
return metadata
`;

/**
 * revokeFamily: sets the family's mark (revoke_family) and appends "g<family>". Constant cost:
 * no token record is touched; every read applies the mark.
 *
 * Reply: "true".
 * Commands: SET g, feed_append: 4 with the EVALSHA.
 */
export const REVOKE_FAMILY =
  FEED_APPEND +
  FAMILY_MARK +
  // family_key P g:<family>
  // family     the revoked family
  // now        ms, the revocation time: written to the mark and the feed
  // ttl        ms the mark is kept: maxTokenLifetime + grace
  `
local family_key = KEYS[1]
local family = ARGV[1]
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
revoke_family(family_key, family, now, ttl)
return 'true'
`;
