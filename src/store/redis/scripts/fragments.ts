/**
 * The pieces the scripts share: names the data model gives meaning to, and the Lua functions
 * several scripts prepend. A function takes everything as parameters and reads neither KEYS
 * nor ARGV; only the input blocks below read them. The keys and the feed's members are laid out in docs/redis.md (Data model, The
 * change feed).
 */

/**
 * The inputs several scripts share, each described once, here, and read in one place. A
 * script prepends TOKEN_INPUTS when it is about one token, and STORE_INPUTS after them when it
 * stores it; FEED_APPEND and FEED_READ bring the feed's own inputs with them. Their positions are the order scripts/index.ts states.
 */

/** A token's inputs: KEYS 1 and ARGV 1 to 3 of every script about one token. */
export const TOKEN_INPUTS =
  // token_key       P t:<h>
  // prefix          P, the key prefix
  // h               the token's hash
  // previous_hashes its hashes under the previous peppers, comma-separated ('' for none)
  `
local token_key = KEYS[1]
local prefix = ARGV[1]
local h = ARGV[2]
local previous_hashes = ARGV[3]
`;

/** What store writes beside the token's inputs: ARGV 4 to 12 of STORE and ROTATE. */
export const STORE_INPUTS =
  // now          ms, the caller's clock
  // metadata     the record as JSON (m): rotate's without subject, family and clientId
  // id           the token's id
  // subject      the token's subject ('' for rotate: the old token's)
  // expires_at   ms, stored as sent (e)
  // grace        ms the token and id keys outlive expires_at
  // covered_from ms, stored as sent (ia): min(issuedAt, now)
  // key_id       the token's keyId ('' for none)
  // family       the token's family ('' for none, and for rotate: the old token's)
  `
local now = tonumber(ARGV[4])
local metadata = ARGV[5]
local id = ARGV[6]
local subject = ARGV[7]
local expires_at = ARGV[8]
local grace = tonumber(ARGV[9])
local covered_from = ARGV[10]
local key_id = ARGV[11]
local family = ARGV[12]
`;

/** The feed's keys: the last two KEYS of every script that appends to it or reads it. */
const FEED_KEYS =
  // feed_key      P f
  // feed_meta_key P fm
  `
local feed_key = KEYS[#KEYS - 1]
local feed_meta_key = KEYS[#KEYS]
`;

/** What an append needs: the last two ARGV of every script that appends to the feed. */
const APPEND_INPUTS =
  // epoch  offered as the feed's epoch
  // maxlen the feed's length cap
  `
local epoch = ARGV[#ARGV - 1]
local maxlen = tonumber(ARGV[#ARGV])
`;

/** A cursor and a page size: the last three ARGV of every script that reads the feed. */
const READ_INPUTS =
  // since_epoch the cursor's epoch ('' for none)
  // since_seq   the cursor's seq (-1 for none)
  // page        most changes returned
  `
local since_epoch = ARGV[#ARGV - 2]
local since_seq = tonumber(ARGV[#ARGV - 1])
local page = tonumber(ARGV[#ARGV])
`;

/** The member of `P s:<subject>` scored by the latest `ia` stored for the subject (no hash is "~ia"). */
export const SUBJECT_MARKER = "~ia";

/**
 * The prefix of a subject's own member of `P x` ("s:<subject>"; no hash holds ':'), scored by
 * when cleanup should look at the subject's set: the expires_at of the token stored last for it,
 * plus the grace (cleanup then moves it to the set's latest member while one is left).
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
export const FEED_APPEND =
  FEED_KEYS +
  APPEND_INPUTS +
  `
local function feed_append(f, fm, now, epoch, maxlen, ev)
  local n = redis.call('HINCRBY', fm, 'n', 1)
  if n == 1 then redis.call('HSET', fm, 'e', epoch) end
  redis.call('ZADD', f, n, n .. ':' .. now .. ':' .. ev)
  if n % ${FEED_TRIM_EVERY} == 0 then redis.call('ZREMRANGEBYSCORE', f, '-inf', n - maxlen) end
end
`;

/**
 * feed_read(f, fm, since_epoch, since_seq (n), page (n)): the feed after the cursor, at most
 * `page` changes, as JSON {e, n, r, m, ev}: e the feed's epoch, n the seq of the last change
 * returned (the head unless m), ev their events. r = true (reset) when there is no cursor
 * (since_seq < 0), the epoch differs, the cursor is ahead of the feed, or the next change was
 * trimmed. m = true when more than a page was waiting. parseBatch reads it.
 * Commands: HMGET fm n e, [ZRANGEBYSCORE f (since_seq +inf LIMIT 0 page] (behind the head).
 */
export const FEED_READ =
  FEED_KEYS +
  READ_INPUTS +
  `
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
 * covers(prefix, recs, now (n)): for each record {subject, ia, kid, family} (kid and family
 * false or '' for none), what covers it: {'subject', cutoff} for a subject cutoff at or after
 * ia, else {'key', revoked at} for a revocation of its key, else {'family', revoked at} for a
 * family mark whose until is not past now, else false. One MGET reads every cutoff, key
 * revocation and family mark the records name, however many records there are.
 * Commands: MGET c:<subject>... k:<kid>... g:<family>... (when recs is not empty).
 */
export const COVERS = `
local function covers(prefix, recs, now)
  local keys, at, out = {}, {}, {}
  local function named(kind, v) if v and v ~= '' then return kind .. v end end
  local function want(name)
    if name and not at[name] then
      keys[#keys + 1] = prefix .. name
      at[name] = #keys
    end
  end
  for _, r in ipairs(recs) do
    want('c:' .. r[1])
    want(named('k:', r[3]))
    want(named('g:', r[4]))
  end
  if #keys == 0 then return out end
  local got = redis.call('MGET', unpack(keys))
  local function val(name) return name and got[at[name]] end
  for i, r in ipairs(recs) do
    local cut, key_at = val('c:' .. r[1]), val(named('k:', r[3]))
    local family_at, till = string.match(val(named('g:', r[4])) or '', '^(.-):(.*)$')
    if cut and tonumber(r[2] or 0) <= tonumber(cut) then out[i] = { 'subject', cut }
    elseif key_at then out[i] = { 'key', key_at }
    elseif family_at and now <= tonumber(till) then out[i] = { 'family', family_at }
    else out[i] = false end
  end
  return out
end
`;

/**
 * revoke_family(key, family, now (n), ttl (n)): sets a family's mark (key: P g:<family>) to
 * "<now>:<until>", until = now + ttl, and appends "g<family>". covers refuses the family's
 * tokens while the reader's clock is not past until (the stores' clocks decide, not Redis's),
 * and Redis drops the key after ttl. Needs FEED_APPEND. Commands: SET g, feed_append.
 */
export const FAMILY_MARK = `
local function revoke_family(key, family, now, ttl)
  redis.call('SET', key, now .. ':' .. (now + ttl), 'PX', ttl)
  feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 'g' .. family)
end
`;

/**
 * migrate(prefix, olds, h): key rotation. Every script that takes a token calls it first, with
 * its prefix, previous_hashes and h. A token stored (or a JWT deny-listed) under one of the
 * old hashes (comma-separated, '' for none) is renamed to h, with its id, subject and expiry
 * index entries, in the same atomic step. TTLs go with RENAME and KEEPTTL.
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
 * answer(prefix, r, now): get's answer for a record read as HMGET t m e r s ia k g, in get's
 * order of checks: "!not_found", "!expired", "!revoked" (marked), "!covered", else the
 * metadata JSON. Needs COVERS. Commands: [MGET (covers)] (a live, unmarked record).
 */
export const ANSWER = `
local function answer(prefix, r, now)
  if not r[1] then return '!not_found' end
  if now > tonumber(r[2]) then return '!expired' end
  if r[3] then return '!revoked' end
  if covers(prefix, { { unpack(r, 4) } }, now)[1] then return '!covered' end
  return r[1]
end
`;

/**
 * store_token(prefix, token_key, h, now (n), metadata, id, subject, expires_at, grace (n),
 * covered_from, key_id, family): store's write, for STORE and ROTATE. Refuses a token whose
 * stored record is revoked (marked, or covered), a new record that a cutoff or a key or family
 * revocation covers, and an id held by another live token; else writes the token and its id,
 * subject and expiry index entries, replacing a stored record (dropping its old id and subject
 * entries if they differ) and appending "t<h>". Returns the refusal ("!stays_revoked", "!covered",
 * "!conflict"), or nil. Needs COVERS and FEED_APPEND.
 * Commands, a new token: HMGET t, MGET (covers), SET i NX GET, HSET t, PEXPIRE t, ZADD s (the
 *   token and the subject's marker, one command), ZADD x (the token, due at its expiry, and the
 *   subject, due at expires_at + grace, when cleanup forgets its set if nothing live is left:
 *   one command): 7.
 * More when: the id is held by another token (HGET t:<holder> e, [SET i]); the token is stored
 *   again (PEXPIRE i or GET i:<old id> [DEL], ZREM s:<old subject>, [HDEL t k g], feed_append).
 * Why:
 * - `SET i NX GET` claims the id unless another key holds it: one command in the common case.
 * - `ZADD s GT` keeps the latest covered_from on the subject's marker: revokeSubject sets its
 *   cutoff no earlier, so it reaches every token stored before it, whatever the clocks of the
 *   writers. A token stored again leaves its subject's set first, so its entry is scored by
 *   the expiry it has now, which revokeSubject's count reads.
 * - The subject's own entry in the expiry index: when it is due, cleanup forgets its set (the
 *   marker with it) unless a token in it is still live, so no set outlives its tokens.
 */
export const STORE_TOKEN = `
local function store_token(prefix, token_key, h, now, metadata, id, subject, expires_at, grace, covered_from, key_id, family)
  local exp, id_key = tonumber(expires_at), prefix .. 'i:' .. id
  local prev = redis.call('HMGET', token_key, 'id', 'r', 's', 'ia', 'k', 'g')
  local recs = { { subject, covered_from, key_id, family } }
  if prev[1] then recs[2] = { unpack(prev, 3) } end
  local cov = covers(prefix, recs, now)
  if prev[2] or cov[2] then return '!stays_revoked' end
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
    redis.call('ZREM', prefix .. 's:' .. prev[3], h)
    if (prev[5] and key_id == '') or (prev[6] and family == '') then redis.call('HDEL', token_key, 'k', 'g') end
  end
  local fields = { 'm', metadata, 'id', id, 's', subject, 'e', expires_at, 'ia', covered_from }
  for name, v in pairs({ k = key_id, g = family }) do
    if v ~= '' then
      fields[#fields + 1] = name
      fields[#fields + 1] = v
    end
  end
  redis.call('HSET', token_key, unpack(fields))
  redis.call('PEXPIRE', token_key, ttl)
  redis.call('ZADD', prefix .. 's:' .. subject, 'GT', exp, h, covered_from, '${SUBJECT_MARKER}')
  redis.call('ZADD', prefix .. 'x', exp, h, exp + grace, '${SUBJECT_ENTRY}' .. subject)
  if prev[1] then feed_append(feed_key, feed_meta_key, now, epoch, maxlen, 't' .. h) end
end
`;
