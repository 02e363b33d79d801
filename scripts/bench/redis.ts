/**
 * Redis backend figures through the local Upstash-compatible endpoint and a private
 * redis-server: round trips per operation (counted at the endpoint) beside the Go store's,
 * commands billed (every command a script runs, plus the EVALSHA: INFO commandstats) beside
 * the budget, and median and p99 latency of sequential calls.
 * Run: npm run bench:redis   (env: BENCH_CALLS=500)
 */
import { ErrTokenReused, RedisTokenStore, StorageError } from "../../src/store/index.js";
import { commandCounter } from "../../test/support/commands.js";
import { startPrivateRedis } from "../../test/support/redis-server.js";
import { startUpstashEndpoint } from "../../test/support/upstash-endpoint.js";
import { printTable } from "./util.js";

const calls = Number(process.env.BENCH_CALLS ?? 500);
const redis = await startPrivateRedis();
const redisUrl = redis.url;
const prefix = "ets-bench:";
const endpoint = await startUpstashEndpoint({ token: "bench", redisUrl });
const counter = commandCounter(redisUrl);
let t = Date.now();
const store = new RedisTokenStore({
  url: endpoint.url,
  token: "bench",
  keyPrefix: prefix,
  now: () => t,
  cleanupBatchSize: 500,
});
const token = (i: number) => `bench-token-${i}-0123456789abcdef`;

/** Round trips and commands of one call (after warm-up), then median and p99 of `n` sequential calls. */
async function measure(n: number, fn: (i: number) => Promise<unknown>) {
  await fn(-1);
  endpoint.resetStats();
  const { total: commands } = await counter.count(() => fn(-2));
  const trips = endpoint.stats.requests;
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn(i);
    ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  return { trips, commands, p50: ms[Math.floor(n * 0.5)]!, p99: ms[Math.min(n - 1, Math.floor(n * 0.99))]! };
}

for (let i = 0; i < 1000; i++) await store.store(token(i), { id: `id-${i}`, subject: `sub-${i % 100}` });
for (let i = 0; i < 100; i++)
  await store.store(token(10_000 + i), { id: `big-${i}`, subject: "big", family: "big-family" });
const pick = (i: number) => token(((i + 1000) * 7919) % 1000);

const rows: (string | number)[][] = [];
const add = (
  op: string,
  goStore: string,
  budget: string,
  m: { trips: number; commands: number; p50: number; p99: number },
) => rows.push([op, String(m.trips), goStore, String(m.commands), budget, m.p50.toFixed(2), m.p99.toFixed(2)]);

add(
  "store (a new token)",
  "1",
  "≤ 8",
  await measure(calls, (i) => store.store(token(20_000 + i + 2), { id: `new-${i + 2}`, subject: "new" })),
);
add("get", "2", "≤ 3", await measure(calls, (i) => store.get(pick(i))));
add("getById", "2", "-", await measure(calls, (i) => store.getById(`id-${((i + 1000) * 31) % 1000}`)));
add("isRevoked", "2", "≤ 3", await measure(calls, (i) => store.isRevoked(pick(i))));
add("list (10 tokens)", "1 + 2×10 = 21", "≤ 14", await measure(calls, (i) => store.list(`sub-${(i + 100) % 100}`)));
add("list (100 tokens)", "1 + 2×100 = 201", "≤ 104", await measure(calls, () => store.list("big")));
add("revoke", "4", "≤ 6", await measure(calls, (i) => store.revoke(pick(i))));
add("revokeSubject (100 tokens)", "no such operation", "≤ 8", await measure(calls, () => store.revokeSubject("big")));
add("revokeKey", "no such operation", "-", await measure(calls, (i) => store.revokeKey(`bench-key-${i + 2}`)));
add(
  "revokeFamily (100 tokens)",
  "no such operation",
  "≤ 8",
  await measure(calls, () => store.revokeFamily("big-family")),
);
// refresh tokens to rotate, one family each: call i rotates refresh(i) into refresh(i + 100_000)
const refresh = (i: number) => token(30_000 + i);
for (let i = -2; i < calls; i++)
  await store.store(refresh(i), { id: `rt-${i}`, subject: "rt", family: `rt-family-${i}`, type: "refresh_token" });
add(
  "rotate (a live refresh token)",
  "no such operation",
  "≤ 14",
  await measure(calls, (i) => store.rotate(refresh(i), refresh(i + 100_000), { id: `rt-new-${i}` })),
);
add(
  "rotate (a reuse: its family revoked)",
  "no such operation",
  "-",
  await measure(calls, (i) =>
    store.rotate(refresh(i), refresh(i + 200_000), { id: `rt-again-${i}` }).then(
      () => Promise.reject(new Error("a reuse was accepted")),
      (e: unknown) => (e instanceof StorageError && e.err === ErrTokenReused ? undefined : Promise.reject(e)),
    ),
  ),
);
// refresh tokens revoked with their families (what POST /oauth/revoke does with one)
const ended = (i: number) => token(40_000 + i);
for (let i = -2; i < calls; i++)
  await store.store(ended(i), { id: `re-${i}`, subject: "re", family: `re-family-${i}`, type: "refresh_token" });
add(
  "revoke with its family (a refresh token)",
  "no such operation",
  "≤ 9",
  await measure(calls, (i) => store.revoke(ended(i), { family: "refresh" })),
);
const jwt = (i: number) => `eyJhbGciOiJFUzI1NiJ9.eyJ9.bench-jwt-${i}`;
const claims = () => ({
  subject: "jwt-bench",
  keyId: "k-jwt",
  issuedAt: new Date(t - 1000),
  expiresAt: new Date(t + 3_600_000),
});
add("denyJwt", "no such operation", "-", await measure(calls, (i) => store.denyJwt(jwt(i + 2), claims())));
add(
  "checkJwt (a live JWT)",
  "no such operation",
  "-",
  await measure(calls, (i) => store.checkJwt(jwt(-10 - i), claims())),
);
add(
  "inspect (the console's token check)",
  "no such operation",
  "≤ 3",
  await measure(calls, (i) => store.inspect(pick(i))),
);
add(
  "revokeById (the console's row revoke)",
  "no such operation",
  "≤ 7",
  await measure(calls, (i) => store.revokeById(`new-${i + 2}`)), // the tokens the first row stored: live
);
add(
  "recentChanges (50, the console's activity)",
  "no such operation",
  "2",
  await measure(calls, () => store.recentChanges(50)),
);
add(
  "audit append (what each admin or OAuth write adds)",
  "no such operation",
  "1",
  await measure(calls, (i) =>
    store.audit.append({
      at: t,
      actor: "alice@example.com",
      action: "revoke",
      target: { fingerprint: (i + 2).toString(16).padStart(12, "0") },
      result: "ok",
    }),
  ),
);
add("audit page (50 records)", "no such operation", "1", await measure(calls, () => store.audit.list({ limit: 50 })));
add("delete", "2", "≤ 8", await measure(Math.min(calls, 900), (i) => store.delete(token(i + 2))));
let since = (await store.changes()).cursor;
add(
  "lookup (verdict + feed, the cache's miss)",
  "no such operation",
  "≤ 5",
  await measure(calls, (i) => store.hashToken(pick(i)).then((h) => store.lookup(h, since))),
);
add(
  "changes (the cache's sync)",
  "no such operation",
  "≤ 3",
  await measure(calls, async () => (since = (await store.changes(since)).cursor)),
);

// cleanup: 1,200 tokens due, batches of 500 → ⌈1200/500⌉ = 3 round trips
for (let i = 0; i < 1200; i++)
  await store.store(token(50_000 + i), { id: `exp-${i}`, subject: "exp", expiresAt: new Date(t + 1000) });
await store.cleanup();
t += 2000;
endpoint.resetStats();
const start = performance.now();
let removed = 0;
const { total: cleanupCommands } = await counter.count(async () => ({ removed } = await store.cleanup()));
const cleanupMs = performance.now() - start;
rows.push([
  `cleanup (${removed} due, batch 500)`,
  String(endpoint.stats.requests),
  "SCAN of every subject key",
  String(cleanupCommands),
  "-",
  cleanupMs.toFixed(2),
  "-",
]);

// the feed's size per change, as Redis itself counts it
const direct = new (await import("ioredis")).default(redisUrl);
const feedBytes = Number(await direct.call("MEMORY", "USAGE", `${prefix}f`, "SAMPLES", "0"));
const feedLength = await direct.zcard(`${prefix}f`);
// and the audit stream's size per record (a revoke by a person, named by email)
const auditBytes = Number(await direct.call("MEMORY", "USAGE", `${prefix}a`, "SAMPLES", "0"));
const auditLength = await direct.xlen(`${prefix}a`);
direct.disconnect();

console.log(
  `redis backend via the local Upstash endpoint over a private redis-server, node ${process.version}, ${calls} sequential calls each, ${new Date().toISOString()}\n`,
);
printTable(["operation", "round trips", "Go store round trips", "commands billed", "budget", "p50 ms", "p99 ms"], rows);
console.log(
  `\nchange feed: ${feedLength} changes kept, ${feedBytes} bytes (MEMORY USAGE), ${(feedBytes / feedLength).toFixed(0)} bytes per change`,
);
console.log(
  `audit stream: ${auditLength} records, ${auditBytes} bytes (MEMORY USAGE), ${(auditBytes / auditLength).toFixed(0)} bytes per record`,
);

await store.close();
await endpoint.close();
counter.close();
redis.stop();
