/** Test helpers for the Redis backend: a private endpoint, unique prefixes, and Redis read directly. */
import { inject } from "vitest";
import IORedis from "ioredis";
import { escapeGlob } from "./redis-keys.js";
import { startUpstashEndpoint, type UpstashEndpoint } from "./upstash-endpoint.js";
import type { IndexSnapshot } from "./invariants.js";

export const ENDPOINT_TOKEN = "test-endpoint-token";
/** Redis calls in tests wait this long: a loaded CI machine must not turn a slow answer into a failure. */
export const TEST_TIMEOUT_MS = 10_000;

let n = 0;
/** A key prefix no other test (or run) uses. */
export function uniquePrefix(label = "t"): string {
  return `${inject("runPrefix")}${label}${++n}-${Math.random().toString(36).slice(2, 8)}:`;
}

export function startEndpoint(onRequest?: (path: string, body: string) => void): Promise<UpstashEndpoint> {
  return startUpstashEndpoint({ token: ENDPOINT_TOKEN, redisUrl: inject("redisUrl"), onRequest });
}

export function directRedis(): IORedis {
  return new IORedis(inject("redisUrl"));
}

/** Every key under `prefix` with its type and contents, read with SCAN (test-only). */
export async function dumpPrefix(r: IORedis, prefix: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  let cursor = "0";
  do {
    const [next, keys] = await r.scan(cursor, "MATCH", `${escapeGlob(prefix)}*`, "COUNT", 1000);
    for (const key of keys) {
      const type = await r.type(key);
      if (type === "hash") out.set(key, Object.entries(await r.hgetall(key)).flat());
      else if (type === "zset") out.set(key, await r.zrange(key, "0", "-1", "WITHSCORES"));
      else if (type === "string") out.set(key, [(await r.get(key)) ?? ""]);
      else out.set(key, [`<${type}>`]);
    }
    cursor = next;
  } while (cursor !== "0");
  return out;
}

/** The backend's indexes as IndexSnapshot, read from Redis directly. */
export async function redisSnapshot(r: IORedis, prefix: string): Promise<IndexSnapshot> {
  const snap: IndexSnapshot = { tokens: [], ids: [], subjects: [], expiry: [] };
  for (const [key, value] of await dumpPrefix(r, prefix)) {
    const rest = key.slice(prefix.length);
    if (rest.startsWith("t:")) {
      const f = Object.fromEntries(pairs(value));
      snap.tokens.push({
        hash: rest.slice(2),
        id: f.id!,
        subject: f.s!,
        expiresAt: Number(f.e),
        ...(f.r === undefined ? {} : { revokedAt: Number(f.r) }),
      });
    } else if (rest.startsWith("i:")) snap.ids.push([rest.slice(2), value[0]!]);
    else if (rest.startsWith("s:")) {
      // the subject's marker (the latest `ia` stored) is not a token
      const hashes = pairs(value)
        .map(([h]) => h)
        .filter((h) => h !== "~ia");
      if (hashes.length > 0) snap.subjects.push([rest.slice(2), hashes]);
    } else if (rest === "x") snap.expiry = pairs(value).map(([h]) => h);
    else if (rest === "f" || rest === "fm")
      continue; // the change feed: not an index
    else if (/^[ckdg]:/.test(rest))
      continue; // cutoffs, key and family revocations, deny-listed JWTs: not indexes
    else throw new Error(`unexpected key ${key}`);
  }
  // as the memory backend's snapshot: the expiry index may still list a deleted token until its
  // expiry (cleanup drops it then); only entries with a record are ones cleanup would act on
  const stored = new Set(snap.tokens.map((t) => t.hash));
  snap.expiry = snap.expiry.filter((h) => stored.has(h));
  return snap;
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
