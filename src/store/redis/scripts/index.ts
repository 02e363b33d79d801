/**
 * Every script the Redis backend runs, one per operation; fragments.ts holds the pieces they
 * share. Each script is one round trip, and atomic, so concurrent callers never leave an index
 * entry pointing at nothing. Upstash bills every command a script runs (each `redis.call`) on
 * top of the EVALSHA, so each script's header lists its commands, and docs/redis.md holds the
 * budget they are measured against, the keys and the feed's members.
 *
 * Inputs. Every script takes them in this order, leaving out what it does not use:
 *   KEYS  the keys it acts on, the token's (P t:<h>) first; then the feed's, P f and P fm.
 *   ARGV  prefix (P), when the script or a fragment it calls builds keys from it;
 *         what it acts on: a token's h and previous_hashes (its hashes under the previous
 *           peppers, for migrate; rotate's are the new token's, the old one's come with its
 *           own inputs), a subject, a key id or a family;
 *         now, from the caller's clock (never from Redis);
 *         the script's own inputs;
 *         the feed's, last: epoch and maxlen for a script that appends to it, since_epoch,
 *           since_seq and page for one that reads it.
 * A script names each input as a local in its first lines, and reads neither KEYS nor ARGV
 * anywhere else. The inputs several scripts share come in blocks from fragments.ts
 * (TOKEN_INPUTS, FEED_KEYS, APPEND_INPUTS, READ_INPUTS): the feed's are read from the end of
 * KEYS and ARGV, so they are last by construction. What each input holds is said once, in the
 * line comments just above the Lua that names it, one line per local: a comment inside the
 * Lua would ship with the Worker. A local is
 * converted with tonumber where it is only used as a number, and holds the string as sent
 * where it is also stored or written.
 *
 * Every script returns one string: JSON, or "!<code>" for an outcome the caller turns into
 * a StorageError (REFUSALS).
 *
 * Counts. Each script's "Commands:" line counts the EVALSHA, for an ordinary feed append and
 * no previous pepper: the feed's first append (HSET fm e) and every FEED_TRIM_EVERY-th one
 * (ZREMRANGEBYSCORE f) add one command each, and key rotation adds migrate's.
 */
export * from "./tokens.js";
export * from "./families.js";
export * from "./revocations.js";
export * from "./feed.js";
export * from "./cleanup.js";
