import { SUBJECT_MARKER } from "./fragments.js";

/**
 * cleanup: takes up to `batch` entries due before now off the expiry index and removes each
 * token that is still expired, with its id and subject entries; a token stored again with a
 * later expiry goes back in the index. Then forgets feed changes older than the retention
 * window, up to `batch` of them a call (appends trim the feed by length only, so this keeps
 * its age bounded too).
 *
 * KEYS  1 expiry_key       P x
 *       2 feed_key         P f
 * ARGV  1 prefix           P
 *       2 now              ms
 *       3 batch            (n) most entries taken
 *       4 retention        (n) ms a change stays in the feed
 * Reply: [removed, popped]; popped < batch means nothing more is due.
 * Commands: ZRANGEBYSCORE x, per entry HMGET t and ZADD x or ZREM x (with GET i, [DEL i],
 *   ZREM s, ZCARD s, [ZREM s marker], DEL t for an expired token); ZRANGE f 0 0, [ZRANGE f, ZREMRANGEBYRANK f] (an old
 *   change): 3 with the EVALSHA when nothing is due.
 */
export const CLEANUP = `
local expiry_key = KEYS[1]
local feed_key   = KEYS[2]
local prefix     = ARGV[1]
local now        = ARGV[2]
local batch      = tonumber(ARGV[3])
local retention  = tonumber(ARGV[4])
local due = redis.call('ZRANGEBYSCORE', expiry_key, '-inf', '(' .. now, 'LIMIT', 0, batch)
local removed = 0
for _, h in ipairs(due) do
  local t = prefix .. 't:' .. h
  local r = redis.call('HMGET', t, 'id', 's', 'e')
  if r[1] and tonumber(now) > tonumber(r[3]) then
    if redis.call('GET', prefix .. 'i:' .. r[1]) == h then redis.call('DEL', prefix .. 'i:' .. r[1]) end
    local sk = prefix .. 's:' .. r[2]
    redis.call('ZREM', sk, h)
    -- the subject's last token: its marker goes too, and with it the set
    if redis.call('ZCARD', sk) == 1 then redis.call('ZREM', sk, '${SUBJECT_MARKER}') end
    redis.call('DEL', t)
    removed = removed + 1
  end
  if r[1] and tonumber(now) <= tonumber(r[3]) then
    redis.call('ZADD', expiry_key, r[3], h)
  else
    redis.call('ZREM', expiry_key, h)
  end
end
local oldest = tonumber(now) - retention
local at = function(m) return tonumber(string.match(m, '^%d+:(%-?%d+):')) end
local first = redis.call('ZRANGE', feed_key, 0, 0)[1]
if first and at(first) < oldest then
  -- at most a batch of the oldest changes per call: the script's work stays bounded
  local oldest_changes, old = redis.call('ZRANGE', feed_key, 0, batch - 1), 0
  for i, m in ipairs(oldest_changes) do
    if at(m) >= oldest then break end
    old = i
  end
  redis.call('ZREMRANGEBYRANK', feed_key, 0, old - 1)
end
return '[' .. removed .. ',' .. #due .. ']'
`;
