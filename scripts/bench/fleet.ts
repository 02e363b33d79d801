/**
 * A data center's fleet of isolates, with and without the data-center tier, side by side in one
 * run. Isolates are verdict caches, each with its own client, over one private redis-server
 * behind the local Upstash endpoint with added latency; with the tier they share one in-memory
 * stand-in for the Cache API (test/support/shared-cache.ts) that answers after BENCH_TIER_MS.
 * Clients pick tokens by Zipf popularity and an isolate at random; isolates are replaced in
 * turn so each lives BENCH_LIFETIME_MS. Once a second a popular token is revoked (straight to
 * Redis) and every live isolate is polled until it refuses it: the worst delay is reported.
 * Round trips are counted at the endpoint, commands with INFO commandstats.
 * Two workloads, each with and without the tier: BENCH_TOKENS (the realistic one), then a hot set
 * of BENCH_HOT_TOKENS where every check can hit and the feed's syncs are what is left to share.
 * Run: npm run bench:fleet   (env: BENCH_TOKENS=20000, BENCH_HOT_TOKENS=100, BENCH_ZIPF=1.1,
 *      BENCH_ISOLATES=8, BENCH_LIFETIME_MS=10000 (0: never replaced), BENCH_LATENCY_MS=20,
 *      BENCH_BOUND_MS=1000, BENCH_MAX_ENTRIES=10000, BENCH_TIER_MS=2, BENCH_CLIENTS=16,
 *      BENCH_WARMUP_S=5, BENCH_SECONDS=30, BENCH_HOT_SECONDS=10)
 */
import IORedis from "ioredis";
import { RedisTokenStore, withVerdictCache, type GetHints, type VerdictCache } from "../../src/store/index.js";
import { commandCounter } from "../../test/support/commands.js";
import { startPrivateRedis } from "../../test/support/redis-server.js";
import { MemoryCache } from "../../test/support/shared-cache.js";
import { startUpstashEndpoint } from "../../test/support/upstash-endpoint.js";
import { pipelined, printTable } from "./util.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const TOKENS = env("BENCH_TOKENS", 20_000);
/** A second workload: a hot set only, where every check hits and syncs are the only round trips. */
const HOT_TOKENS = env("BENCH_HOT_TOKENS", 100);
const HOT_SECONDS = env("BENCH_HOT_SECONDS", 10);
const ZIPF = env("BENCH_ZIPF", 1.1);
const ISOLATES = env("BENCH_ISOLATES", 8);
const LIFETIME_MS = env("BENCH_LIFETIME_MS", 10_000);
const LATENCY_MS = env("BENCH_LATENCY_MS", 20);
const BOUND_MS = env("BENCH_BOUND_MS", 1000);
const MAX_ENTRIES = env("BENCH_MAX_ENTRIES", 10_000);
const TIER_MS = env("BENCH_TIER_MS", 2);
const CLIENTS = env("BENCH_CLIENTS", 16);
const WARMUP_S = env("BENCH_WARMUP_S", 5);
const SECONDS = env("BENCH_SECONDS", 30);
/** Revocations come from the most popular tokens, so every isolate holds them. */
const REVOKE_FROM_TOP = 50;
if (env("BENCH_HOT_TOKENS", 100) < REVOKE_FROM_TOP)
  throw new Error(`BENCH_HOT_TOKENS must be ${REVOKE_FROM_TOP} or more`);

const redis = await startPrivateRedis();
const endpoint = await startUpstashEndpoint({ token: "bench", redisUrl: redis.url, latencyMs: LATENCY_MS });
const io = new IORedis(redis.url, { enableAutoPipelining: true });
const commands = commandCounter(redis.url);

/** A sampler of token indexes by Zipf(ZIPF) popularity over n tokens: index 0 the most popular. */
function zipfOver(n: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / (k + 1) ** ZIPF;
  return () => {
    const u = Math.random() * sum;
    let [lo, hi] = [0, n - 1];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Isolate {
  cache: VerdictCache;
}

interface Row {
  label: string;
  requests: number;
  withoutTrip: number;
  roundTrips: number;
  billed: number;
  p50: number;
  p99: number;
  syncsPerSecond: number;
  worstDelayMs: number;
  revocations: number;
}

async function run(label: string, count: number, seconds: number, withTier: boolean, round: number): Promise<Row> {
  const keyPrefix = `fleet-${round}:`;
  const zipf = zipfOver(count);
  const writer = new RedisTokenStore({ url: "http://unused", token: "x", keyPrefix, redis: pipelined(io) });
  const tokens = Array.from({ length: count }, (_, i) => `fleet-${round}-${i}-${Math.random().toString(36).slice(2)}`);
  await Promise.all(tokens.map((t, i) => writer.store(t, { id: `f-${i}`, subject: `sub-${i % 1000}` })));
  await writer.revokeKey("fleet-begins"); // the feed exists before the first isolate
  const tier = withTier ? new MemoryCache({ delayMs: TIER_MS }) : undefined;
  let measuring = false;

  let syncReads = 0;
  const isolate = (): Isolate => {
    const store = new RedisTokenStore({ url: endpoint.url, token: "bench", keyPrefix, timeoutMs: 5000 });
    const changes = store.changes.bind(store);
    store.changes = (since) => {
      if (measuring) syncReads++;
      return changes(since);
    };
    return {
      cache: withVerdictCache(store, {
        maxStalenessMs: BOUND_MS,
        maxEntries: MAX_ENTRIES,
        ...(tier === undefined ? {} : { shared: tier, sharedSecret: "bench-pepper", sharedScope: keyPrefix }),
      }),
    };
  };
  let alive = Array.from({ length: ISOLATES }, isolate);
  const pending = new Set<Promise<unknown>>();
  const hints: GetHints = {
    waitUntil(p) {
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
  };

  let stopping = false;
  // the clients' own checks, told by the cache whether it asked the store (the polls below are not counted)
  const counted = { hit: 0, miss: 0 };
  const latencies: number[] = [];
  const clientHints: GetHints = { ...hints, onCache: (use) => void (measuring && counted[use]++) };
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (!stopping) {
      const cache = alive[Math.floor(Math.random() * alive.length)]!.cache;
      const started = performance.now();
      await cache.get(tokens[zipf()]!, clientHints).catch(() => undefined);
      if (measuring) latencies.push(performance.now() - started);
    }
  });
  // each isolate lives LIFETIME_MS: one is replaced every LIFETIME_MS / ISOLATES, oldest first
  const churn =
    LIFETIME_MS > 0
      ? setInterval(() => {
          alive = [...alive.slice(1), isolate()];
        }, LIFETIME_MS / ISOLATES)
      : undefined;

  await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
  measuring = true;
  endpoint.resetStats();
  const started = performance.now();
  let worstDelayMs = 0;
  let revocations = 0;
  const billed = await commands.count(async () => {
    while (performance.now() - started < seconds * 1000) {
      const tick = performance.now();
      // revoke a popular token, then poll every live isolate until each refuses it
      const slot = Math.floor(Math.random() * REVOKE_FROM_TOP);
      const revoked = tokens[slot]!;
      await writer.revoke(revoked);
      const acknowledged = performance.now();
      const waiting = alive.map(async ({ cache }) => {
        for (;;) {
          const refused = await cache.get(revoked, hints).then(
            () => false,
            () => true,
          );
          if (refused) return performance.now() - acknowledged;
          await new Promise((r) => setTimeout(r, 10));
        }
      });
      worstDelayMs = Math.max(worstDelayMs, ...(await Promise.all(waiting)));
      revocations++;
      // the slot gets a fresh live token, so the popular set stays live
      const fresh = `fleet-${round}-r${revocations}-${Math.random().toString(36).slice(2)}`;
      await writer.store(fresh, { id: `f-r${revocations}`, subject: `sub-${slot}` });
      tokens[slot] = fresh;
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - tick))));
    }
  });
  const elapsed = (performance.now() - started) / 1000;
  const roundTrips = endpoint.stats.requests;
  measuring = false;
  stopping = true;
  if (churn !== undefined) clearInterval(churn);
  await Promise.all(clients);
  await Promise.all(pending);
  const withoutTrip = counted.hit / (counted.hit + counted.miss);
  latencies.sort((a, b) => a - b);
  return {
    label,
    requests: latencies.length,
    withoutTrip,
    roundTrips: roundTrips / latencies.length,
    billed: billed.total / latencies.length,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    syncsPerSecond: syncReads / elapsed,
    worstDelayMs,
    revocations,
  };
}

const big = `${TOKENS.toLocaleString("en-US")} tokens`;
const hot = `${HOT_TOKENS.toLocaleString("en-US")} tokens`;
const rows = [
  await run(`${big}, per-isolate cache only`, TOKENS, SECONDS, false, 0),
  await run(`${big}, with the data-center tier`, TOKENS, SECONDS, true, 1),
  await run(`${hot}, per-isolate cache only`, HOT_TOKENS, HOT_SECONDS, false, 2),
  await run(`${hot}, with the data-center tier`, HOT_TOKENS, HOT_SECONDS, true, 3),
];
console.log(
  `fleet: ${big} (then ${hot}), Zipf ${ZIPF}, ${ISOLATES} isolates` +
    `${LIFETIME_MS > 0 ? ` replaced every ${LIFETIME_MS / 1000} s` : ", never replaced"}, ${LATENCY_MS} ms added per` +
    ` store request, ${BOUND_MS} ms bound, ${MAX_ENTRIES.toLocaleString("en-US")} entries per isolate, tier reads` +
    ` ${TIER_MS} ms, ${CLIENTS} clients; ${WARMUP_S} s warm-up, ${SECONDS} s measured (${HOT_SECONDS} s for ${hot});` +
    ` node ${process.version}, ${new Date().toISOString()}\n`,
);
printTable(
  [
    "",
    "requests",
    "checks without a store round trip",
    "round trips / request",
    "commands billed / request",
    "p50 ms",
    "p99 ms",
    "syncs / s (data center)",
    "worst revocation delay ms",
    "revocations",
  ],
  rows.map((r) => [
    r.label,
    r.requests,
    `${(r.withoutTrip * 100).toFixed(1)}%`,
    r.roundTrips.toFixed(3),
    r.billed.toFixed(2),
    r.p50,
    r.p99,
    r.syncsPerSecond.toFixed(2),
    Math.round(r.worstDelayMs),
    r.revocations,
  ]),
);
console.log(
  `\ntargets (DESIGN.md): with the tier ≥ 90% without a round trip, ≤ 0.10 round trips a request, ≤ 3 syncs a second` +
    ` per data center; the worst delay ≤ bound + one round trip (${BOUND_MS + LATENCY_MS} ms plus the 10 ms poll)`,
);
commands.close();
io.disconnect();
await endpoint.close();
redis.stop();
process.exit(0);
