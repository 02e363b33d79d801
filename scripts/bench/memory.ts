/**
 * Memory backend figures at 10k and 1M tokens, beside a bare `Map.get` + SHA-256 loop.
 * Run: npm run bench:memory  (node --expose-gc, so heap figures are after a full GC)
 */
import { MemoryTokenStore, createHasher, withVerdictCache } from "../../src/store/index.js";
import { heapUsed, opsPerSec, printTable, timeMs } from "./util.js";

const HOUR = 3_600_000;
const sizes = (process.env.BENCH_SIZES ?? "10000,1000000").split(",").map(Number);
const token = (i: number) => `bench-token-${i}-0123456789abcdef`;

async function bareLoop(n: number, reads: number) {
  const hash = createHasher();
  const before = heapUsed();
  const map = new Map<string, { id: string; expiresAt: number }>();
  const fill = await opsPerSec(n, async (i) => map.set(await hash(token(i)), { id: `id-${i}`, expiresAt: i }));
  const bytes = (heapUsed() - before) / n;
  const get = await opsPerSec(reads, async (i) => map.get(await hash(token((i * 7919) % n))));
  // the reference for cleanup: one pass over every entry, deleting the 10% that are due
  const scan = await timeMs(() => {
    for (const [k, v] of map) if (v.expiresAt % 10 === 0) map.delete(k);
  });
  return { fill, bytes, get, scan };
}

async function memoryStore(n: number, reads: number) {
  let t = Date.now();
  const store = new MemoryTokenStore({ now: () => t });
  const before = heapUsed();
  // every 10th token expires in an hour, the rest in a day; subjects hold 10 tokens each
  const fill = await opsPerSec(n, (i) =>
    store.store(token(i), {
      id: `id-${i}`,
      subject: `sub-${Math.floor(i / 10)}`,
      expiresAt: new Date(t + (i % 10 === 0 ? HOUR : 24 * HOUR)),
    }),
  );
  const bytes = (heapUsed() - before) / n;
  const pick = (i: number) => token((i * 7919) % n);
  const get = await opsPerSec(reads, (i) => store.get(pick(i)));
  const isRevoked = await opsPerSec(reads, (i) => store.isRevoked(pick(i)));
  const list = await opsPerSec(Math.min(reads, n / 10), (i) => store.list(`sub-${i}`));
  const idle = await timeMs(() => store.cleanup());
  t += 2 * HOUR;
  let removed = 0;
  const cleanup = await timeMs(async () => ({ removed } = await store.cleanup()));
  await store.close();
  return { fill, bytes, get, isRevoked, list, idle, cleanup, removed };
}

const rows: (string | number)[][] = [];
for (const n of sizes) {
  const reads = Math.min(n * 2, 200_000);
  const bare = await bareLoop(n, reads);
  const mem = await memoryStore(n, reads);
  rows.push(
    [n, "store", "ops/s", mem.fill, bare.fill, "`Map.set` + SHA-256"],
    [n, "get", "ops/s", mem.get, bare.get, "`Map.get` + SHA-256"],
    [
      n,
      "isRevoked",
      "ops/s",
      mem.isRevoked,
      bare.get,
      `${(mem.isRevoked / bare.get).toFixed(2)}× the loop (target ≥ 0.5×)`,
    ],
    [n, "list (10 tokens)", "ops/s", mem.list, "-", ""],
    [
      n,
      `cleanup (${mem.removed} of ${n} expired)`,
      "ms",
      mem.cleanup,
      bare.scan,
      "a full scan of a bare Map, same size",
    ],
    [n, "cleanup (none due)", "ms", mem.idle, bare.scan, "a full scan of a bare Map, same size"],
    [n, "heap per token", "bytes", mem.bytes, bare.bytes, `bare Map of hash → {id, expiresAt} (target ≤ 400)`],
  );
}
console.log(`memory backend, node ${process.version}, ${new Date().toISOString()}\n`);
printTable(["tokens", "operation", "unit", "memory store", "bare loop", "note"], rows);

/** The verdict cache full at 10,000 entries (live verdicts with metadata), over a memory store. */
async function cacheHeap(entries: number) {
  const store = new MemoryTokenStore();
  for (let i = 0; i < entries; i++)
    await store.store(token(i), {
      id: `id-${i}`,
      subject: `sub-${Math.floor(i / 10)}`,
      issuer: "https://issuer.example",
    });
  const cache = withVerdictCache(store, { maxEntries: entries, maxStalenessMs: 60_000 });
  await cache.get(token(0)); // a first sync: the cursor is known
  const before = heapUsed();
  for (let i = 1; i < entries; i++) await cache.get(token(i));
  const bytes = heapUsed() - before;
  if (cache.stats().size !== entries) throw new Error(`cache holds ${cache.stats().size}, expected ${entries}`);
  return bytes;
}
const cacheBytes = await cacheHeap(10_000);
console.log(`\nverdict cache heap at 10,000 live entries\n`);
printTable(
  ["entries", "heap", "per entry", "target"],
  [[10_000, `${(cacheBytes / 2 ** 20).toFixed(2)} MiB`, `${Math.round(cacheBytes / 10_000)} B`, "≤ 4 MiB"]],
);
