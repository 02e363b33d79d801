/**
 * The verdict cache while the world writes. One reader (a verdict cache with a 1 s bound over
 * the Redis backend, through the local Upstash endpoint) serves gets for a hot set of live
 * tokens, while a writer issues new tokens at rising rates and revokes 1% of them. The writer
 * goes straight to the same private redis-server through a pipelined client (the same Lua
 * scripts, the same RedisTokenStore), because the HTTP endpoint would cap its rate. Round trips
 * and reply bytes are counted at the reader's endpoint.
 * Then a mass revocation: 100,000 stored tokens revoked at once, the reader serving meanwhile.
 * Run: npm run bench:feed   (env: BENCH_SECONDS=6 per row, BENCH_RATES=0,1000,5000,10000, BENCH_HOT=500,
 *      BENCH_MASS=100000, BENCH_FEED_MAX=100000: the feed's length cap)
 */
import IORedis from "ioredis";
import { RedisTokenStore, withVerdictCache } from "../../src/store/index.js";
import { startPrivateRedis } from "../../test/support/redis-server.js";
import { startUpstashEndpoint } from "../../test/support/upstash-endpoint.js";
import { pipelined, printTable } from "./util.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 6);
const rates = (process.env.BENCH_RATES ?? "0,1000,5000,10000").split(",").map(Number);
const hot = Number(process.env.BENCH_HOT ?? 500);
const massCount = Number(process.env.BENCH_MASS ?? 100_000);
const READERS = 16;
const TICK_MS = 20;
const BOUND_MS = 1000;
const keyPrefix = "ets-feed:";

const redis = await startPrivateRedis();
const endpoint = await startUpstashEndpoint({ token: "bench", redisUrl: redis.url });

const io = new IORedis(redis.url, { enableAutoPipelining: true });
const feedMaxLength = Number(process.env.BENCH_FEED_MAX ?? 100_000);
const writer = new RedisTokenStore({
  url: "http://unused",
  token: "x",
  keyPrefix,
  redis: pipelined(io),
  feedMaxLength,
});
const reader = withVerdictCache(
  new RedisTokenStore({ url: endpoint.url, token: "bench", keyPrefix, timeoutMs: 5000 }),
  { maxStalenessMs: BOUND_MS },
);

const HOT = Array.from({ length: hot }, (_, i) => `feed-hot-${i}-${Math.random().toString(36).slice(2)}`);
for (const [i, t] of HOT.entries()) await writer.store(t, { id: `hot-${i}`, subject: `hot-${i % 50}` });
await writer.revokeKey("feed-bench-begins"); // the feed exists before the first row
let issued = 0;

/** Gets the reader's every hot token once and waits for its syncs: it sits at the feed's head. */
async function settle(hints: { waitUntil(p: Promise<unknown>): void }, pending: Promise<unknown>[]): Promise<void> {
  for (const t of HOT) await reader.get(t, hints);
  await Promise.all(pending.splice(0));
}

/** READERS loops of gets on random hot tokens while `going()`; resolves how many gets were made. */
async function readHot(hints: { waitUntil(p: Promise<unknown>): void }, going: () => boolean): Promise<number> {
  let gets = 0;
  await Promise.all(
    Array.from({ length: READERS }, async () => {
      while (going()) {
        await reader.get(HOT[Math.floor(Math.random() * HOT.length)]!, hints).catch(() => undefined);
        gets++;
        if (gets % 64 === 0) await new Promise((r) => setImmediate(r));
      }
    }),
  );
  return gets;
}

async function row(rate: number): Promise<(string | number)[]> {
  const pending: Promise<unknown>[] = [];
  const hints = { waitUntil: (p: Promise<unknown>) => void pending.push(p) };
  // let the reader settle on the feed's head, then count from a clean slate
  await settle(hints, pending);
  const before = reader.stats();
  endpoint.resetStats();
  const start = performance.now();
  const end = start + seconds * 1000;
  let writes = 0;
  let revocations = 0;
  const inflight = new Set<Promise<unknown>>();
  const write = async (): Promise<void> => {
    const n = ++issued;
    const token = `feed-new-${n}-${Math.random().toString(36).slice(2)}`;
    await writer.store(token, { id: `new-${n}`, subject: `new-${n % 1000}` });
    writes++;
    if (n % 100 === 0) {
      await writer.revoke(token);
      revocations++;
    }
  };
  const writing = (async () => {
    for (let tick = 0; performance.now() < end; tick++) {
      const due = Math.floor(((tick + 1) * TICK_MS * rate) / 1000) - Math.floor((tick * TICK_MS * rate) / 1000);
      for (let i = 0; i < due && inflight.size < 4096; i++) {
        const p = write().finally(() => inflight.delete(p));
        inflight.add(p);
      }
      const next = start + (tick + 1) * TICK_MS;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    await Promise.all(inflight);
  })();
  const [, gets] = await Promise.all([writing, readHot(hints, () => performance.now() < end)]);
  await Promise.all(pending.splice(0));
  const elapsed = (performance.now() - start) / 1000;
  const after = reader.stats();
  const hits = after.hits - before.hits;
  const checked = after.checked - before.checked;
  return [
    Math.round(writes / elapsed).toLocaleString("en-US"),
    (revocations / elapsed).toFixed(1),
    gets.toLocaleString("en-US"),
    (endpoint.stats.requests / gets).toFixed(4),
    `${((100 * hits) / checked).toFixed(2)}%`,
    String(after.resets - before.resets),
    String(after.catchUpPages - before.catchUpPages),
    `${(endpoint.stats.replyBytes / elapsed / 1024).toFixed(2)} KiB`,
  ];
}

const rows: (string | number)[][] = [];
for (const rate of rates) rows.push(await row(rate));

/**
 * A mass revocation during an incident: `massCount` stored tokens revoked as fast as the
 * pipelined writer goes, while the reader keeps serving its hot set.
 */
async function massRevocation(): Promise<(string | number)[]> {
  const victims = Array.from(
    { length: massCount },
    (_, i) => `feed-victim-${i}-${Math.random().toString(36).slice(2)}`,
  );
  for (let i = 0; i < victims.length; i += 2000)
    await Promise.all(
      victims.slice(i, i + 2000).map((t, j) => writer.store(t, { id: `v-${i + j}`, subject: "victims" })),
    );
  const pending: Promise<unknown>[] = [];
  const hints = { waitUntil: (p: Promise<unknown>) => void pending.push(p) };
  await settle(hints, pending);
  const before = reader.stats();
  endpoint.resetStats();
  const start = performance.now();
  let revoking = true;
  // the reader keeps going one bound past the last revocation
  const reading = readHot(hints, () => revoking || performance.now() - start < 2 * BOUND_MS);
  for (let i = 0; i < victims.length; i += 2000)
    await Promise.all(victims.slice(i, i + 2000).map((t) => writer.revoke(t)));
  const revokeSeconds = (performance.now() - start) / 1000;
  revoking = false;
  const gets = await reading;
  await Promise.all(pending.splice(0));
  const after = reader.stats();
  return [
    `${massCount.toLocaleString("en-US")} in ${revokeSeconds.toFixed(1)} s`,
    String(Math.round(massCount / revokeSeconds)),
    String(gets),
    (endpoint.stats.requests / gets).toFixed(4),
    String(after.misses - before.misses),
    String(after.resets - before.resets),
    String(after.catchUpPages - before.catchUpPages),
    `${(endpoint.stats.replyBytes / 1024 / 1024).toFixed(1)} MiB`,
  ];
}
const mass = await massRevocation();
console.log(
  `verdict cache (1 s bound) over ${hot} hot tokens while the world writes; ${seconds} s a row, node ${process.version}, ${new Date().toISOString()}\n`,
);
printTable(
  [
    "issuance/s",
    "revocations/s",
    "reader gets",
    "round trips per get",
    "hit ratio",
    "resets",
    "catch-up pages",
    "reader reply bytes/s",
  ],
  rows,
);
console.log(
  `\na mass revocation, the reader serving ${hot} hot tokens meanwhile (the feed keeps ${feedMaxLength.toLocaleString("en-US")} changes, 1,000 a page)\n`,
);
printTable(
  [
    "revoked",
    "revocations/s",
    "reader gets",
    "round trips per get",
    "misses",
    "resets",
    "catch-up pages",
    "reader reply bytes",
  ],
  [mass],
);
await reader.close();
io.disconnect();
await endpoint.close();
redis.stop();
