import { ANSWER, COVERS, FEED_APPEND, MIGRATE, SUBJECT_ENTRY, SUBJECT_MARKER, TOKEN_INPUTS } from "./fragments.js";

/**
 * store: writes the token and its id, subject and expiry index entries. Refuses a token whose
 * stored record is revoked (marked, or covered by a cutoff or key revocation) and a new record
 * that a cutoff or key revocation covers; refuses an id held by another live token. Storing a
 * token again replaces its record (dropping its old id and subject entries if they differ) and
 * appends "t<h>" to the feed; a new token appends nothing.
 *
 * Reply: "true", or "!stays_revoked" (the stored record is revoked), "!covered", "!conflict".
 * Commands, a new token: HMGET t, MGET (covers), SET i NX GET, HSET t, PEXPIRE t, ZADD s (the
 *   token and the subject's marker, one command), ZADD x (the token, due at its expiry, and the
 *   subject, due at expires_at + grace, when cleanup forgets its set if nothing live is left:
 *   one command) (7, and the EVALSHA: 8).
 * More when: the id is held by another token (HGET t:<holder> e, [SET i]); the token is stored
 *   again (PEXPIRE i or GET i:<old id> [DEL], [ZREM s:<old subject>], [HDEL t k], feed_append).
 * Why:
 * - `SET i NX GET` claims the id unless another key holds it: one command in the common case.
 * - `ZADD s GT` keeps the latest covered_from on the subject's marker (and an entry's longest
 *   expiry): revokeSubject sets its cutoff no earlier, so it reaches every token stored before
 *   it, whatever the clocks of the writers.
 * - The subject's own entry in the expiry index: when it is due, cleanup forgets its set (the
 *   marker with it) unless a token in it is still live, so no set outlives its tokens.
 */
export const STORE =
  FEED_APPEND +
  COVERS +
  MIGRATE +
  TOKEN_INPUTS +
  // id_key       P i:<id>
  // subject_key  P s:<subject>
  // expiry_key   P x
  // now          ms, the caller's clock
  // metadata     the record as JSON (m)
  // id           the token's id
  // subject      the token's subject
  // expires_at   ms, stored as sent (e)
  // grace        ms the token and id keys outlive expires_at
  // covered_from ms, stored as sent (ia): min(issuedAt, now)
  // key_id       the token's keyId ('' for none)
  `
local id_key       = KEYS[2]
local subject_key  = KEYS[3]
local expiry_key   = KEYS[4]
local now          = tonumber(ARGV[4])
local metadata     = ARGV[5]
local id           = ARGV[6]
local subject      = ARGV[7]
local expires_at   = ARGV[8]
local grace        = tonumber(ARGV[9])
local covered_from = ARGV[10]
local key_id       = ARGV[11]
migrate(prefix, previous_hashes, h)
local exp = tonumber(expires_at)
local prev = redis.call('HMGET', token_key, 'id', 's', 'r', 'ia', 'k')
local recs = { { subject, covered_from, key_id } }
if prev[1] then recs[2] = { prev[2], prev[4], prev[5] } end
local cov = covers(prefix, recs)
if prev[3] or cov[2] then return '!stays_revoked' end
if cov[1] then return '!covered' end
local ttl = exp - now + grace
local holder = redis.call('SET', id_key, h, 'NX', 'PX', ttl, 'GET')
if holder and holder ~= h then
  local held = redis.call('HGET', prefix .. 't:' .. holder, 'e')
  if held and now <= tonumber(held) then return '!conflict' end
  redis.call('SET', id_key, h, 'PX', ttl)
elseif holder then
  redis.call('PEXPIRE', id_key, ttl)
end
if prev[1] then
  if prev[1] ~= id and redis.call('GET', prefix .. 'i:' .. prev[1]) == h then
    redis.call('DEL', prefix .. 'i:' .. prev[1])
  end
  if prev[2] ~= subject then redis.call('ZREM', prefix .. 's:' .. prev[2], h) end
  if prev[5] and key_id == '' then redis.call('HDEL', token_key, 'k') end
end
local fields = { 'm', metadata, 'id', id, 's', subject, 'e', expires_at, 'ia', covered_from }
if key_id ~= '' then
  fields[#fields + 1] = 'k'
  fields[#fields + 1] = key_id
end
redis.call('HSET', token_key, unpack(fields))
redis.call('PEXPIRE', token_key, ttl)
redis.call('ZADD', subject_key, 'GT', exp, h, covered_from, '${SUBJECT_MARKER}')
redis.call('ZADD', expiry_key, exp, h, exp + grace, '${SUBJECT_ENTRY}' .. subject)
if prev[1] then feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 't' .. h) end
return 'true'
`;

/**
 * get: the stored metadata, in get's order of checks: unknown, expired, revoked (marked, or
 * covered by a subject cutoff or key revocation).
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
local r = redis.call('HMGET', token_key, 'm', 'e', 'r', 's', 'ia', 'k')
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
local now    = tonumber(ARGV[2])
local h = redis.call('GET', id_key)
if not h then return '!not_found' end
local r = redis.call('HMGET', prefix .. 't:' .. h, 'm', 'e', 'r', 's', 'ia', 'k')
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
local prefix      = ARGV[1]
local now         = ARGV[2]
local grace       = tonumber(ARGV[3])
local found, recs, out = {}, {}, {}
redis.call('ZREMRANGEBYSCORE', subject_key, '-inf', '(' .. (tonumber(now) - grace))
for _, h in ipairs(redis.call('ZRANGEBYSCORE', subject_key, now, '+inf')) do
  local r = h ~= '${SUBJECT_MARKER}' and redis.call('HMGET', prefix .. 't:' .. h, 'm', 'r', 's', 'ia', 'k', 'e') or {}
  if r[1] and not r[2] and tonumber(r[6]) >= tonumber(now) then
    found[#found + 1] = r[1]
    recs[#recs + 1] = { r[3], r[4], r[5] }
  end
end
local cov = covers(prefix, recs)
for i, m in ipairs(found) do
  if not cov[i] then out[#out + 1] = m end
end
return '[' .. table.concat(out, ',') .. ']'
`;

/**
 * revoke: marks the token revoked, keeping the first revocation time, and appends "t<h>" when
 * the mark is new. A token issued to another client is left alone.
 *
 * Reply: "true", or "!not_found", "!client".
 * Commands: HGET t m, HSETNX t r, [feed_append] (a new mark): at most 5 with the EVALSHA.
 */
export const REVOKE =
  FEED_APPEND +
  MIGRATE +
  TOKEN_INPUTS +
  // now       ms, written as the revocation time (r) and to the feed
  // client_id the revoking client ('' for any: the admin API)
  `
local now       = ARGV[4]
local client_id = ARGV[5]
migrate(prefix, previous_hashes, h)
local m = redis.call('HGET', token_key, 'm')
if not m then return '!not_found' end
if client_id ~= '' then
  local owner = cjson.decode(m).clientId
  if type(owner) == 'string' and owner ~= client_id then return '!client' end
end
if redis.call('HSETNX', token_key, 'r', now) == 1 then
  feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 't' .. h)
end
return 'true'
`;

/**
 * inspect: get's verdict as data, with when and by what a revoked token was revoked (its mark,
 * its subject's cutoff, or its key's revocation, in that order).
 *
 * Reply: {"s": "unknown"|"expired"|"revoked"|"live", "m": metadata, "at": ms, "by": "token"|"subject"|"key"}.
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
local r = redis.call('HMGET', token_key, 'm', 'e', 'r', 's', 'ia', 'k')
local m, expires_at, revoked_at = r[1], r[2], r[3]
if not m then return '{"s":"unknown"}' end
if now > tonumber(expires_at) then return '{"s":"expired","m":' .. m .. '}' end
local by = revoked_at and { 'token', revoked_at } or covers(prefix, { { r[4], r[5], r[6] } })[1]
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
local now    = ARGV[2]
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
  `
migrate(prefix, previous_hashes, h)
local r = redis.call('HMGET', token_key, 'e', 'r', 's', 'ia', 'k')
if not r[1] then return '!not_found' end
if r[2] or covers(prefix, { { r[3], r[4], r[5] } })[1] then return 'true' end
return 'false'
`;
