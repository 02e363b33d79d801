import {
  ANSWER,
  COVERS,
  FAMILY_MARK,
  FEED_APPEND,
  MIGRATE,
  STORE_INPUTS,
  STORE_TOKEN,
  SUBJECT_MARKER,
  TOKEN_INPUTS,
} from "./fragments.js";

/**
 * store: store_token (which appends "t<h>" when it replaced a stored record; a new token appends
 * nothing).
 *
 * Reply: "true", or "!stays_revoked" (the stored record is revoked), "!covered", "!conflict".
 * Commands: store_token's (7 for a new token, and the EVALSHA: 8), [feed_append] (stored again).
 */
export const STORE =
  FEED_APPEND +
  COVERS +
  STORE_TOKEN +
  MIGRATE +
  TOKEN_INPUTS +
  STORE_INPUTS +
  `
migrate(prefix, previous_hashes, h)
return store_token(prefix, token_key, h, now, metadata, id, subject, expires_at, grace, covered_from, key_id, family)
  or 'true'
`;

/**
 * get: the stored metadata, in get's order of checks: unknown, expired, revoked (marked, or
 * covered by a subject cutoff, a key or a family revocation).
 *
 * Reply: the metadata JSON (m), or "!not_found", "!expired", "!revoked", "!covered".
 * Commands: HMGET t, [MGET (covers)] (a live, unmarked record): at most 3 with the EVALSHA.
 */
export const GET =
  COVERS +
  ANSWER +
  MIGRATE +
  TOKEN_INPUTS +
  // now ms, the caller's clock
  `
local now = tonumber(ARGV[4])
migrate(prefix, previous_hashes, h)
local r = redis.call('HMGET', token_key, 'm', 'e', 'r', 's', 'ia', 'k', 'g')
return answer(prefix, r, now)
`;

/**
 * getById: get's answer for the token an id names.
 *
 * Reply: as get's.
 * Commands: GET i, HMGET t, [MGET (covers)].
 */
export const GET_BY_ID =
  COVERS +
  ANSWER +
  // id_key P i:<id>
  // prefix P, the key prefix
  // now    ms, the caller's clock
  `
local id_key = KEYS[1]
local prefix = ARGV[1]
local now = tonumber(ARGV[2])
local h = redis.call('GET', id_key)
if not h then return '!not_found' end
local r = redis.call('HMGET', prefix .. 't:' .. h, 'm', 'e', 'r', 's', 'ia', 'k', 'g')
return answer(prefix, r, now)
`;

/**
 * delete: removes the token with its id and subject entries, and appends "t<h>". Its hash
 * stays in the expiry index until its expiry, when cleanup finds no record and drops it: one
 * command less, so even the append that trims the feed stays within the budget of 8.
 *
 * Reply: "true", or "!not_found".
 * Commands: HMGET t, GET i, DEL t [i] (one DEL for both), ZREM s, feed_append
 *   (6 or 7, and the EVALSHA: 7 or 8).
 */
export const DELETE =
  FEED_APPEND +
  MIGRATE +
  TOKEN_INPUTS +
  // now ms, written to the feed
  `
local now = ARGV[4]
migrate(prefix, previous_hashes, h)
local r = redis.call('HMGET', token_key, 'id', 's')
if not r[1] then return '!not_found' end
local id_key = prefix .. 'i:' .. r[1]
if redis.call('GET', id_key) == h then redis.call('DEL', token_key, id_key) else redis.call('DEL', token_key) end
redis.call('ZREM', prefix .. 's:' .. r[2], h)
feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 't' .. h)
return 'true'
`;

/**
 * list: the subject's live tokens (unexpired, unmarked, uncovered), unsorted: the caller
 * orders them by issuedAt, then id.
 *
 * Members expired longer than the grace (their records are gone: cleanup did not run in
 * time) are dropped here, since the set itself has no TTL.
 *
 * Reply: a JSON array of metadata.
 * Commands: ZREMRANGEBYSCORE s, ZRANGEBYSCORE s, HMGET t per unexpired member (N),
 *   [MGET (covers)]: at most N + 4 with the EVALSHA.
 */
export const LIST =
  COVERS +
  // subject_key P s:<subject>
  // prefix      P, the key prefix
  // now         ms: the lowest expiresAt still live
  // grace       ms a record outlives its expiry
  `
local subject_key = KEYS[1]
local prefix = ARGV[1]
local now = ARGV[2]
local grace = tonumber(ARGV[3])
local found, recs, out = {}, {}, {}
redis.call('ZREMRANGEBYSCORE', subject_key, '-inf', '(' .. (tonumber(now) - grace))
for _, h in ipairs(redis.call('ZRANGEBYSCORE', subject_key, now, '+inf')) do
  local r = h ~= '${SUBJECT_MARKER}' and redis.call('HMGET', prefix .. 't:' .. h, 'm', 'r', 'e', 's', 'ia', 'k', 'g') or {}
  if r[1] and not r[2] and tonumber(r[3]) >= tonumber(now) then
    found[#found + 1] = r[1]
    recs[#recs + 1] = { unpack(r, 4) }
  end
end
local cov = covers(prefix, recs, tonumber(now))
for i, m in ipairs(found) do
  if not cov[i] then out[#out + 1] = m end
end
return '[' .. table.concat(out, ',') .. ']'
`;

/**
 * revoke: marks the token revoked, keeping the first revocation time, and appends "t<h>" when
 * the mark is new. A token issued to another client is left alone. With family_types, the
 * token's family is revoked too (as revokeFamily: its mark, and "g<family>") when it has one
 * and its type is one of them.
 *
 * Reply: "true", or "!not_found", "!client".
 * Commands: HGET t m, HSETNX t r, [feed_append] (a new mark): at most 5 with the EVALSHA; and
 *   SET g (revoke_family), feed_append when the family is revoked too: at most 8.
 */
export const REVOKE =
  FEED_APPEND +
  FAMILY_MARK +
  MIGRATE +
  TOKEN_INPUTS +
  // now          ms, written as the revocation time (r), the family's, and to the feed
  // client_id    the revoking client ('' for any: the admin API)
  // family_types the types whose family is revoked too: '' none, '*' any, else each between newlines
  // family_ttl   ms a family revocation is kept: maxTokenLifetime + grace
  `
local now = ARGV[4]
local client_id = ARGV[5]
local family_types = ARGV[6]
local family_ttl = tonumber(ARGV[7])
migrate(prefix, previous_hashes, h)
local m = redis.call('HGET', token_key, 'm')
if not m then return '!not_found' end
local md = cjson.decode(m)
if client_id ~= '' and md.clientId and md.clientId ~= client_id then return '!client' end
if redis.call('HSETNX', token_key, 'r', now) == 1 then
  feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 't' .. h)
end
local family, kind = md.family, md.type
if family and (family_types == '*' or kind and string.find(family_types, '\\n' .. kind .. '\\n', 1, true)) then
  revoke_family(prefix .. 'g:' .. family, family, tonumber(now), family_ttl)
end
return 'true'
`;

/**
 * inspect: get's verdict as data, with when and by what a revoked token was revoked (its mark,
 * its subject's cutoff, its key's revocation, or its family's, in that order).
 *
 * Reply: {"s": "unknown"|"expired"|"revoked"|"live", "m": metadata, "at": ms,
 *   "by": "token"|"subject"|"key"|"family"}.
 * Commands: HMGET t, [MGET (covers)] (unexpired and unmarked): at most 3 with the EVALSHA.
 */
export const INSPECT =
  COVERS +
  MIGRATE +
  TOKEN_INPUTS +
  // now ms, the caller's clock
  `
local now = tonumber(ARGV[4])
migrate(prefix, previous_hashes, h)
local r = redis.call('HMGET', token_key, 'm', 'e', 'r', 's', 'ia', 'k', 'g')
local m, expires_at, revoked_at = r[1], r[2], r[3]
if not m then return '{"s":"unknown"}' end
if now > tonumber(expires_at) then return '{"s":"expired","m":' .. m .. '}' end
local by = revoked_at and { 'token', revoked_at } or covers(prefix, { { unpack(r, 4) } }, now)[1]
if not by then return '{"s":"live","m":' .. m .. '}' end
return '{"s":"revoked","m":' .. m .. ',"at":' .. by[2] .. ',"by":"' .. by[1] .. '"}'
`;
/**
 * revokeById: revoke for the token an id names (the admin console holds ids, not tokens):
 * marks it revoked, keeping the first revocation time, and appends "t<h>" when the mark is new.
 *
 * Reply: {"h": the token's hash} (the verdict cache drops its verdict by it), or "!not_found".
 * Commands: GET i, EXISTS t, HSETNX t r, [feed_append] (a new mark): at most 6 with the EVALSHA.
 * Why: EXISTS first, because HSETNX would create a record that is not there.
 */
export const REVOKE_BY_ID =
  FEED_APPEND +
  // id_key P i:<id>
  // prefix P, the key prefix
  // now    ms, written as the revocation time (r) and to the feed
  `
local id_key = KEYS[1]
local prefix = ARGV[1]
local now = ARGV[2]
local h = redis.call('GET', id_key)
if not h then return '!not_found' end
local token_key = prefix .. 't:' .. h
if redis.call('EXISTS', token_key) == 0 then return '!not_found' end
if redis.call('HSETNX', token_key, 'r', now) == 1 then
  feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 't' .. h)
end
return '{"h":"' .. h .. '"}'
`;

/**
 * isRevoked: whether the token is marked or covered, expired or not.
 *
 * Reply: "true" or "false", or "!not_found".
 * Commands: HMGET t, [MGET (covers)] (unmarked): at most 3 with the EVALSHA.
 */
export const IS_REVOKED =
  COVERS +
  MIGRATE +
  TOKEN_INPUTS +
  // now ms, the caller's clock (a family mark lapses)
  `
local now = tonumber(ARGV[4])
migrate(prefix, previous_hashes, h)
local r = redis.call('HMGET', token_key, 'e', 'r', 's', 'ia', 'k', 'g')
if not r[1] then return '!not_found' end
if r[2] or covers(prefix, { { unpack(r, 3) } }, now)[1] then return 'true' end
return 'false'
`;
