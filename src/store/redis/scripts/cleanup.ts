import { SUBJECT_ENTRY } from "./fragments.js";

/**
 * cleanup: takes up to `batch` entries due before now off the expiry index and removes each
 * token that is still expired, with its id and subject entries; a token stored again with a
 * later expiry goes back in the index. A subject's own entry ("s:<subject>", due at the expiry of
 * the token stored last for it, plus the grace) drops the set's members older than the grace, the
 * marker among them, and goes back in the index while a member is left: so a subject's set,
 * and its marker, go once its last token is gone, whether deleted or expired. Then forgets feed
 * changes older than the retention window, up to `batch` of them a call (appends trim the feed
 * by length only, so this keeps its age bounded too).
 *
 * Reply: [removed, popped]; popped < batch means nothing more is due.
 * Commands: ZRANGEBYSCORE x; per token entry HMGET t and ZADD x or ZREM x (with GET i, [DEL i],
 *   ZREM s, DEL t for an expired token); per subject entry ZREMRANGEBYSCORE s, ZRANGE s -1 -1,
 *   and ZADD x or ZREM x; ZRANGE f 0 0, [ZRANGE f, ZREMRANGEBYRANK f] (an old change): 3 with
 *   the EVALSHA when nothing is due.
 * Why: a subject's members older than the grace are expired tokens whose records are gone, and
 * the marker once the grace has passed since the latest token was stored (no cutoff needs it
 * any more); and the feed's age trim takes at most a batch of the oldest changes per call, so
 * the script's work stays bounded.
 */
export const CLEANUP =
  // expiry_key P x
  // feed_key   P f
  // prefix     P, the key prefix
  // now        ms: entries due before it are taken
  // batch      most entries taken
  // retention  ms a change stays in the feed
  // grace      ms a record outlives its expiry
  `
local expiry_key = KEYS[1]
local feed_key = KEYS[2]
local prefix = ARGV[1]
local now = ARGV[2]
local batch = tonumber(ARGV[3])
local retention = tonumber(ARGV[4])
local grace = tonumber(ARGV[5])
local due = redis.call('ZRANGEBYSCORE', expiry_key, '-inf', '(' .. now, 'LIMIT', 0, batch)
local removed = 0
local function forget_subject(entry)
  local sk = prefix .. entry
  redis.call('ZREMRANGEBYSCORE', sk, '-inf', '(' .. (tonumber(now) - grace))
  local last = redis.call('ZRANGE', sk, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('ZADD', expiry_key, tonumber(last[2]) + grace, entry)
  else redis.call('ZREM', expiry_key, entry) end
end
for _, h in ipairs(due) do
  if string.sub(h, 1, ${SUBJECT_ENTRY.length}) == '${SUBJECT_ENTRY}' then
    forget_subject(h)
  else
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
end
local oldest = tonumber(now) - retention
local at = function(m) return tonumber(string.match(m, '^%d+:(%-?%d+):')) end
local first = redis.call('ZRANGE', feed_key, 0, 0)[1]
if first and at(first) < oldest then
  local oldest_changes, old = redis.call('ZRANGE', feed_key, 0, batch - 1), 0
  for i, m in ipairs(oldest_changes) do
    if at(m) >= oldest then break end
    old = i
  end
  redis.call('ZREMRANGEBYRANK', feed_key, 0, old - 1)
end
return '[' .. removed .. ',' .. #due .. ']'
`;
