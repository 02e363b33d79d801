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
 *   P f            ZSET  the change feed (below), each change scored by its seq
 *   P fm           HASH  n = the feed's last seq, e = its epoch (set by the first write)
 *   P c:<subject>  STRING the subject's cutoff (ms): tokens issued at or before it are refused
 *   P k:<keyId>    STRING when the key was revoked (ms): its tokens are refused
 *   P d:<h>        STRING a deny-listed JWT (never stored), until its exp + grace
 * Cutoffs and key revocations live maxTokenLifetime + grace, longer than any token they reach.
 * Token and id keys expire at expiresAt + grace; a subject key at its latest member's.
 * Old id and subject keys are derived from the stored record inside the script, which plain
 * Redis and Upstash allow (a Redis Cluster would not).
 *
 * The feed. Each member of P f is "<seq>:<ms>:<event>": seq counts up from 1 (HINCRBY on
 * fm's n; it is also the score), ms is the writer's `now`, and the event is one of
 *   t<h>        a token changed: stored, deleted, revoked, or deny-listed as a JWT (h its hash)
 *   s<subject>  a subject was revoked: its tokens marked, a cutoff set (revokeSubject)
 *   k<keyId>    a signing key was revoked: every token carrying that keyId is refused (revokeKey)
 * A read answers {"e": epoch, "n": last seq, "r": reset, "ev": [event, ...]}: the events
 * after the cursor, oldest first, as above without "<seq>:<ms>:" (parseBatch reads it).
 *
 * Inputs. Each script names its KEYS and ARGV as locals in its first lines, in order, and
 * reads neither table anywhere else; the fragments (FEED_APPEND, COVERED, MIGRATE, FEED_READ)
 * take everything they need as parameters. ARGV arrive as strings: a local is converted with
 * tonumber where the script only uses it as a number (marked "(n)" below), and otherwise holds
 * the string as sent, since it is also stored or passed on (converted where compared).
 *
 * Each script's doc comment gives its KEYS and ARGV (position, local, meaning), its reply and
 * the commands it runs, in order: "[...]" is a conditional command, a "!<code>" reply ends the
 * list where its check fails, a fragment's name stands for the commands listed on the fragment,
 * and keys go by their short names above (t, i, s, ...).
 *
 * Every script returns one string: JSON, or "!<code>" for an outcome the caller turns into
 * a StorageError. `now` always comes from the caller's clock, never from Redis.
 */

/**
 * feed_append(f, fm, now (n), epoch, retention (n), maxlen (n), ev): appends one change to the
 * feed, in the calling script's atomic step, then trims what is past the length cap or older
 * than the retention window (a few entries per write at most; the key's own TTL drops a feed
 * nobody writes to). f, fm: the feed keys; ev: "t<h>", "s<subject>" or "k<keyId>".
 * Commands: HINCRBY fm n, HSETNX fm e, ZADD f, ZCARD f, [ZREMRANGEBYRANK f] (past maxlen),
 * then up to 16 times ZRANGE f 0 0, [ZREMRANGEBYRANK f 0 0] (older than retention), PEXPIRE f.
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
 * covered(prefix, sub, ia, kid): whether a subject cutoff at or after the token's issue time
 * (ia, ms), or a revocation of its key (kid, false or '' for none), covers it.
 * Commands: GET c:<sub>, [EXISTS k:<kid>] (when the cutoff does not cover and there is a kid).
 */
const COVERED = `
local function covered(prefix, sub, ia, kid)
  local cut = redis.call('GET', prefix .. 'c:' .. sub)
  if cut and tonumber(ia or 0) <= tonumber(cut) then return true end
  return kid and kid ~= '' and redis.call('EXISTS', prefix .. 'k:' .. kid) == 1
end
`;

/**
 * migrate(prefix, olds, h): key rotation. Every script that takes a token gets three more ARGV
 * at the end (migrate_prefix, previous_hashes, current_hash: the prefix, the token's hashes
 * under the previous peppers, comma-separated, '' for none, and its current hash) and calls
 * this with them before anything else. A token stored (or a JWT deny-listed) under a previous
 * hash is renamed to the current one, with its id, subject and expiry index entries, in the
 * same atomic step. TTLs go with RENAME and KEEPTTL.
 * Commands: none when olds is ''; else EXISTS t, EXISTS d, then for each old hash o in turn:
 * [EXISTS d:<o>, [RENAME d:<o> d]] while d is missing, and [HMGET t:<o> id s e, [RENAME t:<o> t,
 * GET i, [SET i KEEPTTL], ZREM s, [ZADD s], ZREM x, [ZADD x]] (t:<o> found)] while t is missing
 * (i and s: the id and subject the old record names).
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
`;

/**
 * feed_read(f, fm, since_epoch, since_seq (n), page (n)): the feed after the cursor, as JSON
 * {e, n, r, ev} (see the file header). r = true (reset) when there is no cursor
 * (since_seq < 0), the epoch differs, the cursor is ahead of the feed, the next change was
 * trimmed, or more than a page is waiting.
 * Commands: HMGET fm n e, [ZRANGEBYSCORE f (since_seq +inf LIMIT 0 page+1] (a cursor in this
 * epoch, behind the feed).
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
 * store: writes the token and its id, subject and expiry index entries. Refuses a token that
 * is revoked or covered, and an id held by another live token; drops the old id and subject
 * entries of a token stored again under another id or subject.
 *
 * KEYS  1 token_key        P t:<h>
 *       2 id_key           P i:<id>
 *       3 subject_key      P s:<subject>
 *       4 expiry_key       P x
 *       5 feed_key         P f
 *       6 feed_meta_key    P fm
 * ARGV  1 prefix           P
 *       2 h                the token's hash
 *       3 now              (n) ms
 *       4 metadata         the record as JSON (stored as m)
 *       5 id
 *       6 subject
 *       7 expires_at       ms, stored as sent (e); exp is its number
 *       8 grace            (n) ms the keys outlive expires_at
 *       9 epoch            offered as the feed's epoch
 *      10 retention        (n) the feed's retention, ms
 *      11 maxlen           (n) the feed's length cap
 *      12 issued_at        ms, stored as sent (ia)
 *      13 key_id           '' for none
 *      14 migrate_prefix   } for migrate (= prefix)
 *      15 previous_hashes  }
 *      16 current_hash     } (= h)
 * Reply: "true", or "!revoked", "!covered", "!conflict".
 * Commands: migrate; HMGET t id s r; covered; GET i, [HGET t:<holder> e] (another token holds
 *   the id); if stored before: [GET i:<old id>, [DEL i:<old id>]] (another id), [ZREM
 *   s:<old subject>] (another subject); HSET t, HSET t k or HDEL t k, PEXPIRE t, SET i PX, ZADD s,
 *   PTTL s, [PEXPIRE s] (a longer ttl), ZADD x; feed_append "t<h>".
 */
export const STORE =
  FEED_APPEND +
  COVERED +
  MIGRATE +
  `
local token_key       = KEYS[1]
local id_key          = KEYS[2]
local subject_key     = KEYS[3]
local expiry_key      = KEYS[4]
local feed_key        = KEYS[5]
local feed_meta_key   = KEYS[6]
local prefix          = ARGV[1]
local h               = ARGV[2]
local now             = tonumber(ARGV[3])
local metadata        = ARGV[4]
local id              = ARGV[5]
local subject         = ARGV[6]
local expires_at      = ARGV[7]
local grace           = tonumber(ARGV[8])
local epoch           = ARGV[9]
local retention       = tonumber(ARGV[10])
local maxlen          = tonumber(ARGV[11])
local issued_at       = ARGV[12]
local key_id          = ARGV[13]
local migrate_prefix  = ARGV[14]
local previous_hashes = ARGV[15]
local current_hash    = ARGV[16]
migrate(migrate_prefix, previous_hashes, current_hash)
local exp = tonumber(expires_at)
local prev = redis.call('HMGET', token_key, 'id', 's', 'r')
if prev[3] then return '!revoked' end
if covered(prefix, subject, issued_at, key_id) then return '!covered' end
local holder = redis.call('GET', id_key)
if holder and holder ~= h then
  local held = redis.call('HGET', prefix .. 't:' .. holder, 'e')
  if held and now <= tonumber(held) then return '!conflict' end
end
if prev[1] then
  if prev[1] ~= id and redis.call('GET', prefix .. 'i:' .. prev[1]) == h then
    redis.call('DEL', prefix .. 'i:' .. prev[1])
  end
  if prev[2] ~= subject then redis.call('ZREM', prefix .. 's:' .. prev[2], h) end
end
local ttl = exp - now + grace
redis.call('HSET', token_key, 'm', metadata, 'id', id, 's', subject, 'e', expires_at, 'ia', issued_at)
if key_id ~= '' then redis.call('HSET', token_key, 'k', key_id) else redis.call('HDEL', token_key, 'k') end
redis.call('PEXPIRE', token_key, ttl)
redis.call('SET', id_key, h, 'PX', ttl)
redis.call('ZADD', subject_key, exp, h)
if redis.call('PTTL', subject_key) < ttl then redis.call('PEXPIRE', subject_key, ttl) end
redis.call('ZADD', expiry_key, exp, h)
feed_append(feed_key, feed_meta_key, now, epoch, retention, maxlen, 't' .. h)
return 'true'
`;

/**
 * get: the stored metadata, in get's order of checks: unknown, expired, revoked (marked, or
 * covered by a subject cutoff or key revocation).
 *
 * KEYS  1 token_key        P t:<h>
 * ARGV  1 now              (n) ms
 *       2 prefix           P
 *       3 migrate_prefix   } for migrate (= prefix)
 *       4 previous_hashes  }
 *       5 current_hash     } (the token's hash h)
 * Reply: the metadata JSON (m), or "!not_found", "!expired", "!revoked", "!covered".
 * Commands: migrate; HMGET t m e r s ia k; covered.
 */
export const GET =
  COVERED +
  MIGRATE +
  `
local token_key       = KEYS[1]
local now             = tonumber(ARGV[1])
local prefix          = ARGV[2]
local migrate_prefix  = ARGV[3]
local previous_hashes = ARGV[4]
local current_hash    = ARGV[5]
migrate(migrate_prefix, previous_hashes, current_hash)
local r = redis.call('HMGET', token_key, 'm', 'e', 'r', 's', 'ia', 'k')
if not r[1] then return '!not_found' end
if now > tonumber(r[2]) then return '!expired' end
if r[3] then return '!revoked' end
if covered(prefix, r[4], r[5], r[6]) then return '!covered' end
return r[1]
`;

/**
 * getById: as get, for the token the id points at. No key rotation: ids are not hashed.
 *
 * KEYS  1 id_key           P i:<id>
 * ARGV  1 prefix           P
 *       2 now              (n) ms
 * Reply: the metadata JSON (m), or "!not_found", "!expired", "!revoked", "!covered".
 * Commands: GET i; HMGET t:<h> m e r s ia k; covered.
 */
export const GET_BY_ID =
  COVERED +
  `
local id_key = KEYS[1]
local prefix = ARGV[1]
local now    = tonumber(ARGV[2])
local h = redis.call('GET', id_key)
if not h then return '!not_found' end
local r = redis.call('HMGET', prefix .. 't:' .. h, 'm', 'e', 'r', 's', 'ia', 'k')
if not r[1] then return '!not_found' end
if now > tonumber(r[2]) then return '!expired' end
if r[3] then return '!revoked' end
if covered(prefix, r[4], r[5], r[6]) then return '!covered' end
return r[1]
`;

/**
 * delete: removes the token with its id, subject and expiry index entries.
 *
 * KEYS  1 token_key        P t:<h>
 *       2 expiry_key       P x
 *       3 feed_key         P f
 *       4 feed_meta_key    P fm
 * ARGV  1 prefix           P
 *       2 h                the token's hash
 *       3 now              (n) ms
 *       4 epoch            offered as the feed's epoch
 *       5 retention        (n) the feed's retention, ms
 *       6 maxlen           (n) the feed's length cap
 *       7 migrate_prefix   } for migrate (= prefix)
 *       8 previous_hashes  }
 *       9 current_hash     } (= h)
 * Reply: "true", or "!not_found".
 * Commands: migrate; HMGET t id s; GET i:<id>, [DEL i:<id>] (it names h), ZREM s:<subject>,
 *   ZREM x, DEL t; feed_append "t<h>".
 */
export const DELETE =
  FEED_APPEND +
  MIGRATE +
  `
local token_key       = KEYS[1]
local expiry_key      = KEYS[2]
local feed_key        = KEYS[3]
local feed_meta_key   = KEYS[4]
local prefix          = ARGV[1]
local h               = ARGV[2]
local now             = tonumber(ARGV[3])
local epoch           = ARGV[4]
local retention       = tonumber(ARGV[5])
local maxlen          = tonumber(ARGV[6])
local migrate_prefix  = ARGV[7]
local previous_hashes = ARGV[8]
local current_hash    = ARGV[9]
migrate(migrate_prefix, previous_hashes, current_hash)
local r = redis.call('HMGET', token_key, 'id', 's')
if not r[1] then return '!not_found' end
if redis.call('GET', prefix .. 'i:' .. r[1]) == h then redis.call('DEL', prefix .. 'i:' .. r[1]) end
redis.call('ZREM', prefix .. 's:' .. r[2], h)
redis.call('ZREM', expiry_key, h)
redis.call('DEL', token_key)
feed_append(feed_key, feed_meta_key, now, epoch, retention, maxlen, 't' .. h)
return 'true'
`;

/**
 * list: the subject's tokens that are unexpired, unmarked and not covered. Unsorted: the
 * caller orders by issuedAt, then id.
 *
 * KEYS  1 subject_key      P s:<subject>
 * ARGV  1 prefix           P
 *       2 now              ms, sent to ZRANGEBYSCORE as is
 * Reply: a JSON array of metadata.
 * Commands: ZRANGEBYSCORE s now +inf; per member: HMGET t:<h> m r s ia k, [covered] (stored
 *   and unmarked).
 */
export const LIST =
  COVERED +
  `
local subject_key = KEYS[1]
local prefix      = ARGV[1]
local now         = ARGV[2]
local out = {}
for _, h in ipairs(redis.call('ZRANGEBYSCORE', subject_key, now, '+inf')) do
  local r = redis.call('HMGET', prefix .. 't:' .. h, 'm', 'r', 's', 'ia', 'k')
  if r[1] and not r[2] and not covered(prefix, r[3], r[4], r[5]) then out[#out + 1] = r[1] end
end
return '[' .. table.concat(out, ',') .. ']'
`;

/**
 * revoke: marks the token revoked, keeping the first revocation time. A token issued to
 * another client is left alone.
 *
 * KEYS  1 token_key        P t:<h>
 *       2 feed_key         P f
 *       3 feed_meta_key    P fm
 * ARGV  1 now              ms, stored as sent (r)
 *       2 h                the token's hash
 *       3 epoch            offered as the feed's epoch
 *       4 retention        (n) the feed's retention, ms
 *       5 maxlen           (n) the feed's length cap
 *       6 client_id        the caller's client, '' for any
 *       7 migrate_prefix   } for migrate (P)
 *       8 previous_hashes  }
 *       9 current_hash     } (= h)
 * Reply: "true", or "!not_found", "!client".
 * Commands: migrate; HGET t m; HSETNX t r; [feed_append "t<h>"] (newly marked).
 */
export const REVOKE =
  FEED_APPEND +
  MIGRATE +
  `
local token_key       = KEYS[1]
local feed_key        = KEYS[2]
local feed_meta_key   = KEYS[3]
local now             = ARGV[1]
local h               = ARGV[2]
local epoch           = ARGV[3]
local retention       = tonumber(ARGV[4])
local maxlen          = tonumber(ARGV[5])
local client_id       = ARGV[6]
local migrate_prefix  = ARGV[7]
local previous_hashes = ARGV[8]
local current_hash    = ARGV[9]
migrate(migrate_prefix, previous_hashes, current_hash)
local m = redis.call('HGET', token_key, 'm')
if not m then return '!not_found' end
if client_id ~= '' then
  local owner = cjson.decode(m).clientId
  if type(owner) == 'string' and owner ~= client_id then return '!client' end
end
if redis.call('HSETNX', token_key, 'r', now) == 1 then
  feed_append(feed_key, feed_meta_key, tonumber(now), epoch, retention, maxlen, 't' .. h)
end
return 'true'
`;

/**
 * revokeSubject: marks every token of the subject and records the cutoff (the later of the
 * stored one and now), so tokens issued until now are refused even if stored later.
 *
 * KEYS  1 subject_key      P s:<subject>
 *       2 feed_key         P f
 *       3 feed_meta_key    P fm
 *       4 cutoff_key       P c:<subject>
 * ARGV  1 prefix           P
 *       2 now              ms, stored as sent (r)
 *       3 subject
 *       4 epoch            offered as the feed's epoch
 *       5 retention        (n) the feed's retention, ms
 *       6 maxlen           (n) the feed's length cap
 *       7 cutoff_ttl       ms the cutoff is kept (maxTokenLifetime + grace)
 * Reply: how many tokens were newly marked, a JSON number.
 * Commands: ZRANGE s 0 -1; per member: EXISTS t:<h>, [HSETNX t:<h> r] (stored); GET c,
 *   SET c PX; feed_append "s<subject>".
 */
export const REVOKE_SUBJECT =
  FEED_APPEND +
  `
local subject_key   = KEYS[1]
local feed_key      = KEYS[2]
local feed_meta_key = KEYS[3]
local cutoff_key    = KEYS[4]
local prefix        = ARGV[1]
local now           = ARGV[2]
local subject       = ARGV[3]
local epoch         = ARGV[4]
local retention     = tonumber(ARGV[5])
local maxlen        = tonumber(ARGV[6])
local cutoff_ttl    = ARGV[7]
local n = 0
for _, h in ipairs(redis.call('ZRANGE', subject_key, 0, -1)) do
  local t = prefix .. 't:' .. h
  if redis.call('EXISTS', t) == 1 and redis.call('HSETNX', t, 'r', now) == 1 then n = n + 1 end
end
local cut = tonumber(redis.call('GET', cutoff_key) or '0')
redis.call('SET', cutoff_key, math.max(cut, tonumber(now)), 'PX', cutoff_ttl)
feed_append(feed_key, feed_meta_key, tonumber(now), epoch, retention, maxlen, 's' .. subject)
return tostring(n)
`;

/**
 * lookup: the verdict get would give, and the feed since the cursor, read in one atomic step.
 *
 * KEYS  1 token_key        P t:<h>
 *       2 feed_key         P f
 *       3 feed_meta_key    P fm
 * ARGV  1 now              (n) ms
 *       2 since_epoch      the cursor's epoch ('' for none)
 *       3 since_seq        (n) the cursor's seq (-1 for none)
 *       4 page             (n) most events one read returns
 *       5 prefix           P
 *       6 migrate_prefix   } for migrate (= prefix)
 *       7 previous_hashes  }
 *       8 current_hash     } (the token's hash h)
 * Reply: {"v": verdict, "f": feed} with verdict {"s":"unknown"}, {"s":"expired","e":ms},
 *   {"s":"revoked","e":ms} or {"s":"live","m":metadata}, and feed as feed_read's.
 * Commands: migrate; HMGET t m e r s ia k; [covered] (live and unmarked); feed_read.
 */
export const LOOKUP =
  FEED_READ +
  COVERED +
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
local v
if not r[1] then v = '{"s":"unknown"}'
elseif now > tonumber(r[2]) then v = '{"s":"expired","e":' .. r[2] .. '}'
elseif r[3] or covered(prefix, r[4], r[5], r[6]) then v = '{"s":"revoked","e":' .. r[2] .. '}'
else v = '{"s":"live","m":' .. r[1] .. '}' end
return '{"v":' .. v .. ',"f":' .. feed_read(feed_key, feed_meta_key, since_epoch, since_seq, page) .. '}'
`;

/**
 * lookupJwt: a verified JWT's verdict, revoked when deny-listed, stored and revoked, or
 * covered, else live; and the feed since the cursor, in one atomic step.
 *
 * KEYS  1 token_key        P t:<h>
 *       2 deny_key         P d:<h>
 *       3 feed_key         P f
 *       4 feed_meta_key    P fm
 * ARGV  1 prefix           P
 *       2 subject          the JWT's sub
 *       3 issued_at        the JWT's iat, ms
 *       4 key_id           the JWT's kid, '' for none
 *       5 since_epoch      the cursor's epoch ('' for none)
 *       6 since_seq        (n) the cursor's seq (-1 for none)
 *       7 page             (n) most events one read returns
 *       8 migrate_prefix   } for migrate (= prefix)
 *       9 previous_hashes  }
 *      10 current_hash     } (the token's hash h)
 * Reply: {"v": {"s": "revoked" or "live"}, "f": feed} with feed as feed_read's.
 * Commands: migrate; EXISTS d, [HEXISTS t r] (not denied), [covered] (not marked either);
 *   feed_read.
 */
export const LOOKUP_JWT =
  FEED_READ +
  COVERED +
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
local revoked = redis.call('EXISTS', deny_key) == 1 or redis.call('HEXISTS', token_key, 'r') == 1 or covered(prefix, subject, issued_at, key_id)
local v = revoked and '"revoked"' or '"live"'
return '{"v":{"s":' .. v .. '},"f":' .. feed_read(feed_key, feed_meta_key, since_epoch, since_seq, page) .. '}'
`;

/**
 * denyJwt: deny-lists a JWT's hash (keeping the longest ttl) and marks it revoked if it is
 * stored.
 *
 * KEYS  1 deny_key         P d:<h>
 *       2 token_key        P t:<h>
 *       3 feed_key         P f
 *       4 feed_meta_key    P fm
 * ARGV  1 now              ms, stored as sent (r)
 *       2 h                the JWT's hash
 *       3 deny_ttl         ms to keep the entry (until exp + grace), sent to SET as is
 *       4 epoch            offered as the feed's epoch
 *       5 retention        (n) the feed's retention, ms
 *       6 maxlen           (n) the feed's length cap
 *       7 migrate_prefix   } for migrate (P)
 *       8 previous_hashes  }
 *       9 current_hash     } (= h)
 * Reply: "true".
 * Commands: migrate; PTTL d, [SET d 1 PX] (a longer ttl); EXISTS t, [HSETNX t r] (stored);
 *   feed_append "t<h>".
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
local retention       = tonumber(ARGV[5])
local maxlen          = tonumber(ARGV[6])
local migrate_prefix  = ARGV[7]
local previous_hashes = ARGV[8]
local current_hash    = ARGV[9]
migrate(migrate_prefix, previous_hashes, current_hash)
if redis.call('PTTL', deny_key) < tonumber(deny_ttl) then redis.call('SET', deny_key, '1', 'PX', deny_ttl) end
if redis.call('EXISTS', token_key) == 1 then redis.call('HSETNX', token_key, 'r', now) end
feed_append(feed_key, feed_meta_key, tonumber(now), epoch, retention, maxlen, 't' .. h)
return 'true'
`;

/**
 * revokeKey: records when a signing key was revoked; every token carrying its keyId is then
 * refused (see covered).
 *
 * KEYS  1 revocation_key   P k:<keyId>
 *       2 feed_key         P f
 *       3 feed_meta_key    P fm
 * ARGV  1 now              ms, stored as sent
 *       2 key_id
 *       3 ttl              ms the revocation is kept (maxTokenLifetime + grace)
 *       4 epoch            offered as the feed's epoch
 *       5 retention        (n) the feed's retention, ms
 *       6 maxlen           (n) the feed's length cap
 * Reply: "true".
 * Commands: SET k PX; feed_append "k<keyId>".
 */
export const REVOKE_KEY =
  FEED_APPEND +
  `
local revocation_key = KEYS[1]
local feed_key       = KEYS[2]
local feed_meta_key  = KEYS[3]
local now            = ARGV[1]
local key_id         = ARGV[2]
local ttl            = ARGV[3]
local epoch          = ARGV[4]
local retention      = tonumber(ARGV[5])
local maxlen         = tonumber(ARGV[6])
redis.call('SET', revocation_key, now, 'PX', ttl)
feed_append(feed_key, feed_meta_key, tonumber(now), epoch, retention, maxlen, 'k' .. key_id)
return 'true'
`;

/**
 * changes: the feed since the cursor.
 *
 * KEYS  1 feed_key         P f
 *       2 feed_meta_key    P fm
 * ARGV  1 since_epoch      the cursor's epoch ('' for none)
 *       2 since_seq        (n) the cursor's seq (-1 for none)
 *       3 page             (n) most events one read returns
 * Reply: feed_read's {e, n, r, ev}.
 * Commands: feed_read.
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
 * isRevoked: whether the token is marked or covered (expiry does not matter).
 *
 * KEYS  1 token_key        P t:<h>
 * ARGV  1 prefix           P
 *       2 migrate_prefix   } for migrate (= prefix)
 *       3 previous_hashes  }
 *       4 current_hash     } (the token's hash h)
 * Reply: "true" or "false", or "!not_found".
 * Commands: migrate; HMGET t e r s ia k; [covered] (stored and unmarked).
 */
export const IS_REVOKED =
  COVERED +
  MIGRATE +
  `
local token_key       = KEYS[1]
local prefix          = ARGV[1]
local migrate_prefix  = ARGV[2]
local previous_hashes = ARGV[3]
local current_hash    = ARGV[4]
migrate(migrate_prefix, previous_hashes, current_hash)
local r = redis.call('HMGET', token_key, 'e', 'r', 's', 'ia', 'k')
if not r[1] then return '!not_found' end
if r[2] or covered(prefix, r[3], r[4], r[5]) then return 'true' end
return 'false'
`;

/**
 * cleanup: takes up to `batch` entries due before now off the expiry index and removes each
 * token that is still expired, with its id and subject entries; an entry whose token is live
 * again (stored again with a later expiry) is re-scored at that expiry instead.
 *
 * KEYS  1 expiry_key       P x
 * ARGV  1 prefix           P
 *       2 now              ms, sent to ZRANGEBYSCORE as is
 *       3 batch            (n) most entries per call
 * Reply: [removed, popped]; popped < batch means nothing more is due.
 * Commands: ZRANGEBYSCORE x -inf (now LIMIT 0 batch; per entry: HMGET t:<h> id s e, then
 *   [GET i:<id>, [DEL i:<id>] (it names h), ZREM s:<subject>, DEL t:<h>] (stored and expired),
 *   then ZADD x (stored and live) or ZREM x.
 */
export const CLEANUP = `
local expiry_key = KEYS[1]
local prefix     = ARGV[1]
local now        = ARGV[2]
local batch      = tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', expiry_key, '-inf', '(' .. now, 'LIMIT', 0, batch)
local removed = 0
for _, h in ipairs(due) do
  local t = prefix .. 't:' .. h
  local r = redis.call('HMGET', t, 'id', 's', 'e')
  if r[1] and tonumber(now) > tonumber(r[3]) then
    if redis.call('GET', prefix .. 'i:' .. r[1]) == h then redis.call('DEL', prefix .. 'i:' .. r[1]) end
    redis.call('ZREM', prefix .. 's:' .. r[2], h)
    redis.call('DEL', t)
    removed = removed + 1
  end
  if r[1] and tonumber(now) <= tonumber(r[3]) then
    redis.call('ZADD', expiry_key, r[3], h)
  else
    redis.call('ZREM', expiry_key, h)
  end
end
return '[' .. removed .. ',' .. #due .. ']'
`;
