/**
 * The Lua behind the Redis backend: each operation is one script, so one round trip, and
 * atomic, so concurrent callers never leave an index entry pointing at nothing. Upstash bills
 * every command a script runs (each `redis.call`) on top of the EVALSHA, so each script's
 * header lists its commands, and docs/redis.md holds the budget they are measured against.
 *
 * Keys (P = the key prefix, h = the token's hex hash):
 *   P t:<h>        HASH  m = metadata JSON, id, s = subject, e = expiresAt ms, ia = the time a
 *                        subject cutoff is compared with (issuedAt, but never after the store),
 *                        k = keyId (if any), r = revokedAt ms (if revoked one by one)
 *   P i:<id>       STRING h, expiring with the token
 *   P s:<subject>  ZSET  h scored by expiresAt (the longest it was stored with), and the marker
 *                        member "~ia" scored by the latest `ia` stored (revokeSubject's cutoff
 *                        is never earlier); no TTL: cleanup removes expired members, and
 *                        the rest (the marker too) once the subject's entry in x comes due
 *                        with nothing live left; Redis drops an empty set
 *   P x            ZSET  every h scored by expiresAt, and "s:<subject>" per subject scored by
 *                        its latest expiresAt + grace: cleanup's work list (no TTL); a deleted
 *                        token's h stays until cleanup, at its expiry, finds no record
 *   P f            ZSET  the change feed (below), each change scored by its seq (no TTL)
 *   P fm           HASH  n = the feed's last seq, e = its epoch (set by the first append)
 *   P c:<subject>  STRING the subject's cutoff (ms): tokens issued at or before it are refused
 *   P k:<keyId>    STRING when the key was revoked (ms): its tokens are refused
 *   P d:<h>        STRING a deny-listed JWT (never stored), until its exp + grace
 * Cutoffs and key revocations live maxTokenLifetime + grace, longer than any token they reach.
 * Token and id keys expire at expiresAt + grace. Old id and subject keys are derived from the
 * stored record inside the script, which plain Redis and Upstash allow (a Redis Cluster would not).
 *
 * The feed holds revocations only: the writes that can make a served verdict wrong in the
 * unsafe direction. Issuing a new token appends nothing. Each member of P f is
 * "<seq>:<ms>:<event>": seq counts up from 1 (HINCRBY on fm's n; it is also the score), ms is
 * the writer's `now`, and the event is one of
 *   t<h>        a token was revoked, deleted, deny-listed as a JWT, or its record replaced
 *   s<subject>  a subject cutoff was set (revokeSubject)
 *   k<keyId>    a signing key was revoked: every token carrying that keyId is refused
 * A read answers {"e": epoch, "n": seq of the last event returned (the head unless "m"),
 * "r": reset, "m": more waiting, "ev": [event, ...]} (parseBatch reads it).
 *
 * Inputs. Each script names its KEYS and ARGV as locals in its first lines, in order, and
 * reads neither table anywhere else; the fragments take everything as parameters. A local is
 * converted with tonumber where it is only used as a number, and holds the string as sent
 * where it is also stored.
 *
 * Every script returns one string: JSON, or "!<code>" for an outcome the caller turns into
 * a StorageError (REFUSALS). `now` always comes from the caller's clock, never from Redis.
 *
 * Counts. Each script's "Commands:" line counts the EVALSHA, for an ordinary feed append and
 * no previous pepper: the feed's first append (HSET fm e) and every FEED_TRIM_EVERY-th one
 * (ZREMRANGEBYSCORE f) add one command each, and key rotation adds migrate's.
 */

/** The member of `P s:<subject>` scored by the latest `ia` stored for the subject (no hash is "~ia"). */
export const SUBJECT_MARKER = "~ia";

/**
 * The prefix of a subject's own member of `P x` ("s:<subject>"; no hash holds ':'), scored by
 * when cleanup should look at the subject's set: the latest expires_at stored, plus the grace.
 */
export const SUBJECT_ENTRY = "s:";

/** The feed is trimmed to its length cap on every FEED_TRIM_EVERY-th append, not on each. */
export const FEED_TRIM_EVERY = 32;

/**
 * feed_append(f, fm, now, epoch, maxlen, ev): appends one change in the calling script's
 * atomic step. The first append sets the epoch; every FEED_TRIM_EVERY-th one trims the feed
 * to its newest `maxlen` changes, so it never holds more than maxlen + FEED_TRIM_EVERY − 1.
 * Commands: HINCRBY fm n, [HSET fm e] (first append), ZADD f,
 * [ZREMRANGEBYSCORE f] (every FEED_TRIM_EVERY-th append).
 */
export const FEED_APPEND = `
local function feed_append(f, fm, now, epoch, maxlen, ev)
  local n = redis.call('HINCRBY', fm, 'n', 1)
  if n == 1 then redis.call('HSET', fm, 'e', epoch) end
  redis.call('ZADD', f, n, n .. ':' .. now .. ':' .. ev)
  if n % ${FEED_TRIM_EVERY} == 0 then redis.call('ZREMRANGEBYSCORE', f, '-inf', n - maxlen) end
end
`;

/**
 * feed_read(f, fm, since_epoch, since_seq (n), page (n)): the feed after the cursor, at most
 * `page` changes, as JSON {e, n, r, m, ev}. r = true (reset) when there is no cursor
 * (since_seq < 0), the epoch differs, the cursor is ahead of the feed, or the next change was
 * trimmed. m = true when more than a page was waiting: n is then the last change returned.
 * Commands: HMGET fm n e, [ZRANGEBYSCORE f (since_seq +inf LIMIT 0 page] (behind the head).
 */
export const FEED_READ = `
local function feed_read(f, fm, since_epoch, since_seq, page)
  local meta = redis.call('HMGET', fm, 'n', 'e')
  local n, epoch = tonumber(meta[1]) or 0, meta[2] or ''
  local reset, more, last, ev = false, false, n, {}
  if since_seq < 0 or since_epoch ~= epoch or since_seq > n then
    reset = true
  elseif since_seq < n then
    local got = redis.call('ZRANGEBYSCORE', f, '(' .. since_seq, '+inf', 'LIMIT', 0, page)
    if #got == 0 or tonumber(string.match(got[1], '^(%d+):')) ~= since_seq + 1 then
      reset = true
    else
      for i, m in ipairs(got) do ev[i] = cjson.encode(string.match(m, '^%d+:%-?%d+:(.*)$')) end
      last = tonumber(string.match(got[#got], '^(%d+):'))
      more = last < n
    end
  end
  return '{"e":' .. cjson.encode(epoch) .. ',"n":' .. last .. ',"r":' .. tostring(reset) ..
    ',"m":' .. tostring(more) .. ',"ev":[' .. table.concat(ev, ',') .. ']}'
end
`;

/**
 * covers(prefix, recs): for each record {subject, ia, kid} (kid false or '' for none), what
 * covers it: {'subject', cutoff} for a subject cutoff at or after ia, else {'key', revoked at}
 * for a revocation of its key, else false. One MGET reads every cutoff and key revocation the
 * records name, however many records there are.
 * Commands: MGET c:<subject>... k:<kid>... (when recs is not empty).
 */
export const COVERS = `
local function covers(prefix, recs)
  local keys, at, out = {}, {}, {}
  local function want(name)
    if not at[name] then
      keys[#keys + 1] = prefix .. name
      at[name] = #keys
    end
  end
  for _, r in ipairs(recs) do
    want('c:' .. r[1])
    if r[3] and r[3] ~= '' then want('k:' .. r[3]) end
  end
  if #keys == 0 then return out end
  local got = redis.call('MGET', unpack(keys))
  for i, r in ipairs(recs) do
    local cut = got[at['c:' .. r[1]]]
    local key_at = r[3] and r[3] ~= '' and got[at['k:' .. r[3]]]
    if cut and tonumber(r[2] or 0) <= tonumber(cut) then out[i] = { 'subject', cut }
    elseif key_at then out[i] = { 'key', key_at }
    else out[i] = false end
  end
  return out
end
`;

/**
 * migrate(prefix, olds, h): key rotation. Every script that takes a token gets three more ARGV
 * at the end (migrate_prefix, previous_hashes, current_hash: the prefix, the token's hashes
 * under the previous peppers, comma-separated, '' for none, and its current hash) and calls
 * this with them before anything else. A token stored (or a JWT deny-listed) under a previous
 * hash is renamed to the current one, with its id, subject and expiry index entries, in the
 * same atomic step. TTLs go with RENAME and KEEPTTL.
 * Commands: none when olds is '' (no previous pepper configured); else EXISTS t, EXISTS d, then
 * for each old hash o in turn: [EXISTS d:<o>, [RENAME d:<o> d]] while d is missing, and
 * [HMGET t:<o> id s e, [RENAME t:<o> t, GET i, [SET i KEEPTTL], ZREM s, [ZADD s], ZREM x,
 * [ZADD x]] (t:<o> found)] while t is missing.
 */
export const MIGRATE = `
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
`;

/**
 * answer(prefix, r, now): get's answer for a record read as HMGET t m e r s ia k, in get's
 * order of checks: "!not_found", "!expired", "!revoked" (marked), "!covered", else the
 * metadata JSON. Needs COVERS. Commands: [MGET (covers)] (a live, unmarked record).
 */
export const ANSWER = `
local function answer(prefix, r, now)
  if not r[1] then return '!not_found' end
  if now > tonumber(r[2]) then return '!expired' end
  if r[3] then return '!revoked' end
  if covers(prefix, { { r[4], r[5], r[6] } })[1] then return '!covered' end
  return r[1]
end
`;
