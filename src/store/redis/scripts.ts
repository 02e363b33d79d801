/**
 * The Lua scripts behind the Redis backend: each operation is one script, so one round trip,
 * and atomic, so concurrent callers never leave an index entry pointing at nothing.
 *
 * Keys (P = the key prefix, h = the token's hex hash):
 *   P t:<h>        HASH  m = metadata JSON, id, s = subject, e = expiresAt ms, ia = issuedAt ms,
 *                        k = keyId (if any), r = revokedAt ms (if revoked)
 *   P i:<id>       STRING h
 *   P s:<subject>  ZSET  h scored by expiresAt
 *   P x            ZSET  every h scored by expiresAt: cleanup's work list (no TTL; see README)
 *   P f            ZSET  the change feed: "<seq>:<ms>:t<h>" or "<seq>:<ms>:s<subject>", scored by seq
 *   P fm           HASH  n = the feed's last seq, e = its epoch (set by the first write)
 *   P c:<subject>  STRING the subject's cutoff (ms): tokens issued at or before it are refused
 *   P k:<keyId>    STRING when the key was revoked (ms): its tokens are refused
 *   P d:<h>        STRING a deny-listed JWT (never stored), until its exp + grace
 * Cutoffs and key revocations live maxTokenLifetime + grace, longer than any token they reach.
 * Token and id keys expire at expiresAt + grace; a subject key at its latest member's.
 * Old id and subject keys are derived from the stored record inside the script, which plain
 * Redis and Upstash allow (a Redis Cluster would not).
 *
 * Every script returns one string: JSON, or "!<code>" for an outcome the caller turns into
 * a StorageError. `now` always comes from the caller's clock, never from Redis.
 */

/**
 * Appends one change to the feed, in the calling script's atomic step, then trims what is
 * past the length cap or older than the retention window (a few entries per write at most;
 * the key's own TTL drops a feed nobody writes to). f, fm: the feed keys; ev: "t<h>" or "s<subject>".
 */
const FEED_APPEND = `
local function feed_append(f, fm, now, epoch, retention, maxlen, ev)
  local n = redis.call('HINCRBY', fm, 'n', 1)
  redis.call('HSETNX', fm, 'e', epoch)
  redis.call('ZADD', f, n, n .. ':' .. now .. ':' .. ev)
  local count = redis.call('ZCARD', f)
  if count > maxlen then redis.call('ZREMRANGEBYRANK', f, 0, count - maxlen - 1) end
  for _ = 1, 16 do
    local first = redis.call('ZRANGE', f, 0, 0)[1]
    if not first or tonumber(string.match(first, '^%d+:(%-?%d+):')) >= now - retention then break end
    redis.call('ZREMRANGEBYRANK', f, 0, 0)
  end
  redis.call('PEXPIRE', f, retention)
end
`;

/**
 * Whether a subject cutoff at or after the token's issue time, or a revocation of its key,
 * covers it (prefix, subject, issuedAt ms, keyId or false).
 */
const COVERED = `
local function covered(prefix, sub, ia, kid)
  local cut = redis.call('GET', prefix .. 'c:' .. sub)
  if cut and tonumber(ia or 0) <= tonumber(cut) then return true end
  return kid and kid ~= '' and redis.call('EXISTS', prefix .. 'k:' .. kid) == 1
end
`;

/**
 * Key rotation. Every script that takes a token gets three more ARGV at the end: prefix, the
 * token's hashes under the previous peppers (comma-separated, '' for none), and its current
 * hash. Before anything else, a token stored (or a JWT deny-listed) under a previous hash is
 * renamed to the current one, with its id, subject and expiry index entries, in the same
 * atomic step. TTLs go with RENAME and KEEPTTL.
 */
const MIGRATE = `
local function migrate(prefix, olds, h)
  if olds == '' then return end
  local t, d = prefix .. 't:' .. h, prefix .. 'd:' .. h
  local need_t, need_d = redis.call('EXISTS', t) == 0, redis.call('EXISTS', d) == 0
  for o in string.gmatch(olds, '[^,]+') do
    if need_d and redis.call('EXISTS', prefix .. 'd:' .. o) == 1 then
      redis.call('RENAME', prefix .. 'd:' .. o, d)
      need_d = false
    end
    local r = need_t and redis.call('HMGET', prefix .. 't:' .. o, 'id', 's', 'e') or {}
    if r[1] then
      redis.call('RENAME', prefix .. 't:' .. o, t)
      local ik = prefix .. 'i:' .. r[1]
      if redis.call('GET', ik) == o then redis.call('SET', ik, h, 'KEEPTTL') end
      local sk = prefix .. 's:' .. r[2]
      if redis.call('ZREM', sk, o) == 1 then redis.call('ZADD', sk, r[3], h) end
      if redis.call('ZREM', prefix .. 'x', o) == 1 then redis.call('ZADD', prefix .. 'x', r[3], h) end
      need_t = false
    end
  end
end
migrate(ARGV[#ARGV - 2], ARGV[#ARGV - 1], ARGV[#ARGV])
`;

/**
 * Reads the feed after (since_epoch, since_seq) as JSON {e, n, r, ev}. r = true (reset) when
 * there is no cursor (since_seq < 0), the epoch differs, the cursor is ahead of the feed, the
 * next change was trimmed, or more than a page is waiting.
 */
const FEED_READ = `
local function feed_read(f, fm, since_epoch, since_seq, page)
  local meta = redis.call('HMGET', fm, 'n', 'e')
  local n, epoch = tonumber(meta[1]) or 0, meta[2] or ''
  local reset, ev = false, {}
  if since_seq < 0 or since_epoch ~= epoch or since_seq > n then
    reset = true
  elseif since_seq < n then
    local got = redis.call('ZRANGEBYSCORE', f, '(' .. since_seq, '+inf', 'LIMIT', 0, page + 1)
    if #got == 0 or #got > page or tonumber(string.match(got[1], '^(%d+):')) ~= since_seq + 1 then
      reset = true
    else
      for i, m in ipairs(got) do ev[i] = cjson.encode(string.match(m, '^%d+:%-?%d+:(.*)$')) end
    end
  end
  return '{"e":' .. cjson.encode(epoch) .. ',"n":' .. n .. ',"r":' .. tostring(reset) .. ',"ev":[' .. table.concat(ev, ',') .. ']}'
end
`;

/**
 * KEYS: t:<h>, i:<id>, s:<subject>, x, f, fm.
 * ARGV: prefix, h, now, metadata JSON, id, subject, expiresAt, grace, epoch, retention, maxlen, issuedAt, keyId ('' for none).
 */
export const STORE =
  FEED_APPEND +
  COVERED +
  MIGRATE +
  `
local prefix, h, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local md, id, sub, exp, grace = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local prev = redis.call('HMGET', KEYS[1], 'id', 's', 'r')
if prev[3] then return '!revoked' end
if covered(prefix, sub, ARGV[12], ARGV[13]) then return '!covered' end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= h then
  local held = redis.call('HGET', prefix .. 't:' .. holder, 'e')
  if held and now <= tonumber(held) then return '!conflict' end
end
if prev[1] then
  if prev[1] ~= id and redis.call('GET', prefix .. 'i:' .. prev[1]) == h then
    redis.call('DEL', prefix .. 'i:' .. prev[1])
  end
  if prev[2] ~= sub then redis.call('ZREM', prefix .. 's:' .. prev[2], h) end
end
local ttl = exp - now + grace
redis.call('HSET', KEYS[1], 'm', md, 'id', id, 's', sub, 'e', ARGV[7], 'ia', ARGV[12])
if ARGV[13] ~= '' then redis.call('HSET', KEYS[1], 'k', ARGV[13]) else redis.call('HDEL', KEYS[1], 'k') end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], h, 'PX', ttl)
redis.call('ZADD', KEYS[3], exp, h)
if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
redis.call('ZADD', KEYS[4], exp, h)
feed_append(KEYS[5], KEYS[6], now, ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11]), 't' .. h)
return 'true'
`;

/**
 * KEYS: t:<h>. ARGV: now, prefix. get's order of checks: unknown, expired, revoked (marked,
 * or covered by a subject cutoff or key revocation).
 */
export const GET =
  COVERED +
  MIGRATE +
  `
local r = redis.call('HMGET', KEYS[1], 'm', 'e', 'r', 's', 'ia', 'k')
if not r[1] then return '!not_found' end
if tonumber(ARGV[1]) > tonumber(r[2]) then return '!expired' end
if r[3] then return '!revoked' end
if covered(ARGV[2], r[4], r[5], r[6]) then return '!covered' end
return r[1]
`;

/** KEYS: i:<id>. ARGV: prefix, now. */
export const GET_BY_ID =
  COVERED +
  `
local h = redis.call('GET', KEYS[1])
if not h then return '!not_found' end
local r = redis.call('HMGET', ARGV[1] .. 't:' .. h, 'm', 'e', 'r', 's', 'ia', 'k')
if not r[1] then return '!not_found' end
if tonumber(ARGV[2]) > tonumber(r[2]) then return '!expired' end
if r[3] then return '!revoked' end
if covered(ARGV[1], r[4], r[5], r[6]) then return '!covered' end
return r[1]
`;

/** KEYS: t:<h>, x, f, fm. ARGV: prefix, h, now, epoch, retention, maxlen. */
export const DELETE =
  FEED_APPEND +
  MIGRATE +
  `
local r = redis.call('HMGET', KEYS[1], 'id', 's')
if not r[1] then return '!not_found' end
if redis.call('GET', ARGV[1] .. 'i:' .. r[1]) == ARGV[2] then redis.call('DEL', ARGV[1] .. 'i:' .. r[1]) end
redis.call('ZREM', ARGV[1] .. 's:' .. r[2], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1])
feed_append(KEYS[3], KEYS[4], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), 't' .. ARGV[2])
return 'true'
`;

/** KEYS: s:<subject>. ARGV: prefix, now. Unsorted: the caller orders by issuedAt, then id. */
export const LIST =
  COVERED +
  `
local out = {}
for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf')) do
  local r = redis.call('HMGET', ARGV[1] .. 't:' .. h, 'm', 'r', 's', 'ia', 'k')
  if r[1] and not r[2] and not covered(ARGV[1], r[3], r[4], r[5]) then out[#out + 1] = r[1] end
end
return '[' .. table.concat(out, ',') .. ']'
`;

/**
 * KEYS: t:<h>, f, fm. ARGV: now, h, epoch, retention, maxlen, clientId ('' for any).
 * Keeps the first revocation time. A token issued to another client is left alone.
 */
export const REVOKE =
  FEED_APPEND +
  MIGRATE +
  `
local m = redis.call('HGET', KEYS[1], 'm')
if not m then return '!not_found' end
if ARGV[6] ~= '' then
  local owner = cjson.decode(m).clientId
  if type(owner) == 'string' and owner ~= ARGV[6] then return '!client' end
end
if redis.call('HSETNX', KEYS[1], 'r', ARGV[1]) == 1 then
  feed_append(KEYS[2], KEYS[3], tonumber(ARGV[1]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), 't' .. ARGV[2])
end
return 'true'
`;

/**
 * KEYS: s:<subject>, f, fm, c:<subject>. ARGV: prefix, now, subject, epoch, retention, maxlen, cutoff ttl.
 * Marks every token of the subject and records the cutoff; returns how many were unmarked.
 */
export const REVOKE_SUBJECT =
  FEED_APPEND +
  `
local n = 0
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local t = ARGV[1] .. 't:' .. h
  if redis.call('EXISTS', t) == 1 and redis.call('HSETNX', t, 'r', ARGV[2]) == 1 then n = n + 1 end
end
local cut = tonumber(redis.call('GET', KEYS[4]) or '0')
redis.call('SET', KEYS[4], math.max(cut, tonumber(ARGV[2])), 'PX', ARGV[7])
feed_append(KEYS[2], KEYS[3], tonumber(ARGV[2]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), 's' .. ARGV[3])
return tostring(n)
`;

/**
 * KEYS: t:<h>, f, fm. ARGV: now, since_epoch, since_seq (-1: none), page, prefix.
 * The verdict get would give, and the feed since the cursor, read in one atomic step.
 */
export const LOOKUP =
  FEED_READ +
  COVERED +
  MIGRATE +
  `
local r = redis.call('HMGET', KEYS[1], 'm', 'e', 'r', 's', 'ia', 'k')
local v
if not r[1] then v = '{"s":"unknown"}'
elseif tonumber(ARGV[1]) > tonumber(r[2]) then v = '{"s":"expired","e":' .. r[2] .. '}'
elseif r[3] or covered(ARGV[5], r[4], r[5], r[6]) then v = '{"s":"revoked","e":' .. r[2] .. '}'
else v = '{"s":"live","m":' .. r[1] .. '}' end
return '{"v":' .. v .. ',"f":' .. feed_read(KEYS[2], KEYS[3], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])) .. '}'
`;

/**
 * KEYS: t:<h>, d:<h>, f, fm. ARGV: prefix, subject, issuedAt, keyId ('' for none), since_epoch, since_seq, page.
 * A verified JWT's verdict: revoked when deny-listed, stored and revoked, or covered; else live.
 */
export const LOOKUP_JWT =
  FEED_READ +
  COVERED +
  MIGRATE +
  `
local revoked = redis.call('EXISTS', KEYS[2]) == 1 or redis.call('HEXISTS', KEYS[1], 'r') == 1 or covered(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local v = revoked and '"revoked"' or '"live"'
return '{"v":{"s":' .. v .. '},"f":' .. feed_read(KEYS[3], KEYS[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])) .. '}'
`;

/**
 * KEYS: d:<h>, t:<h>, f, fm. ARGV: now, h, deny ttl, epoch, retention, maxlen.
 * Deny-lists a JWT's hash (keeping the longest ttl) and marks it revoked if it is stored.
 */
export const DENY_JWT =
  FEED_APPEND +
  MIGRATE +
  `
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[3]) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSETNX', KEYS[2], 'r', ARGV[1]) end
feed_append(KEYS[3], KEYS[4], tonumber(ARGV[1]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), 't' .. ARGV[2])
return 'true'
`;

/** KEYS: k:<keyId>, f, fm. ARGV: now, keyId, ttl, epoch, retention, maxlen. */
export const REVOKE_KEY =
  FEED_APPEND +
  `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
feed_append(KEYS[2], KEYS[3], tonumber(ARGV[1]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), 'k' .. ARGV[2])
return 'true'
`;

/** KEYS: f, fm. ARGV: since_epoch, since_seq (-1: none), page. */
export const CHANGES =
  FEED_READ +
  `
return feed_read(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
`;

/** KEYS: t:<h>. ARGV: prefix. */
export const IS_REVOKED =
  COVERED +
  MIGRATE +
  `
local r = redis.call('HMGET', KEYS[1], 'e', 'r', 's', 'ia', 'k')
if not r[1] then return '!not_found' end
if r[2] or covered(ARGV[1], r[3], r[4], r[5]) then return 'true' end
return 'false'
`;

/**
 * KEYS: x. ARGV: prefix, now, batch. Pops up to `batch` entries due before now off the expiry
 * index and removes each token that is still expired, with its id and subject entries.
 * Returns [removed, popped]; popped < batch means nothing more is due.
 */
export const CLEANUP = `
local prefix, now = ARGV[1], tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local removed = 0
for _, h in ipairs(due) do
  local t = prefix .. 't:' .. h
  local r = redis.call('HMGET', t, 'id', 's', 'e')
  if r[1] and now > tonumber(r[3]) then
    if redis.call('GET', prefix .. 'i:' .. r[1]) == h then redis.call('DEL', prefix .. 'i:' .. r[1]) end
    redis.call('ZREM', prefix .. 's:' .. r[2], h)
    redis.call('DEL', t)
    removed = removed + 1
  end
  if r[1] and now <= tonumber(r[3]) then
    redis.call('ZADD', KEYS[1], r[3], h)
  else
    redis.call('ZREM', KEYS[1], h)
  end
end
return '[' .. removed .. ',' .. #due .. ']'
`;
