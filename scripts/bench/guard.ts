/**
 * Guard throughput: the built Worker (memory backend, then Redis backend through the local
 * endpoint) in front of a loopback origin, beside a bare pass-through Worker, all under
 * Miniflare (workerd) in one run. Target: memory guard ≥ 0.8× the bare pass-through.
 * The origin is a workerd Worker as well, so Node only generates load.
 * Run: npm run bench:guard   (BENCH_REQUESTS=30000, BENCH_CONCURRENCY=32)
 */
import { execFileSync } from "node:child_process";
import { Agent, request } from "node:http";
import { Miniflare } from "miniflare";
import { deletePrefix } from "../redis-keys.js";
import { startUpstashEndpoint } from "../upstash-endpoint.js";
import { printTable } from "./util.js";

const total = Number(process.env.BENCH_REQUESTS ?? 30_000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ADMIN = "bench-admin-token-0123456789";
const TOKEN = "bench-bearer-token-0123456789";

execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", "dist", "--minify"], { stdio: "ignore", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });


const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const keyPrefix = `ets-bench:${Date.now().toString(36)}:`;
const endpoint = await startUpstashEndpoint({ token: "bench", redisUrl });

const base = { modules: true, compatibilityDate: "2026-04-26", host: "127.0.0.1", port: 0, cf: false } as const;
// the origin runs in workerd too, so the Node process does nothing but generate load
const originWorker = new Miniflare({ ...base, script: 'export default { fetch() { return new Response("ok"); } };' });
const originUrl = (await originWorker.ready).toString().replace(/\/$/, "");
const workers = {
  bare: new Miniflare({
    ...base,
    script: "export default { fetch(req, env) { const u = new URL(req.url); return fetch(env.ORIGIN_URL + u.pathname + u.search, req); } };",
    bindings: { ORIGIN_URL: originUrl },
  }),
  memory: new Miniflare({ ...base, scriptPath: "dist/worker.js", bindings: { ADMIN_TOKEN: ADMIN, ORIGIN_URL: originUrl } }),
  redis: new Miniflare({
    ...base,
    scriptPath: "dist/worker.js",
    bindings: { ADMIN_TOKEN: ADMIN, ORIGIN_URL: originUrl, UPSTASH_REDIS_REST_URL: endpoint.url, UPSTASH_REDIS_REST_TOKEN: "bench", KEY_PREFIX: keyPrefix },
  }),
};
const urls = Object.fromEntries(await Promise.all(Object.entries(workers).map(async ([k, mf]) => [k, (await mf.ready).toString().replace(/\/$/, "")]))) as Record<keyof typeof workers, string>;
for (const k of ["memory", "redis"] as const) {
  const res = await fetch(`${urls[k]}/admin/tokens`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ token: TOKEN, id: "bench", subject: "bench" }),
  });
  if (res.status !== 201) throw new Error(`${k}: storing the bench token answered ${res.status}`);
}

const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = request(`${url}/bench/path?q=1`, { agent, headers: { Authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
}
async function load(url: string, n: number) {
  const ms: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < n) ms.push(await get(url));
  }));
  const seconds = (performance.now() - start) / 1000;
  ms.sort((a, b) => a - b);
  return { rps: ms.length / seconds, p50: ms[Math.floor(ms.length / 2)]!, p99: ms[Math.floor(ms.length * 0.99)]! };
}

// rounds alternate which worker goes first; each round's ratio compares neighbours in time
const ROUNDS = 5;
type Run = { rps: number; p50: number; p99: number };
const results: Record<keyof typeof urls, Run[]> = { bare: [], memory: [], redis: [] };
for (const k of Object.keys(urls) as (keyof typeof urls)[]) await load(urls[k], 1000); // warm up
for (let round = 0; round < ROUNDS; round++) {
  const order = (round % 2 === 0 ? ["bare", "memory", "redis"] : ["redis", "memory", "bare"]) as (keyof typeof urls)[];
  for (const k of order) results[k].push(await load(urls[k], Math.floor(total / ROUNDS)));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (label: string, k: keyof typeof urls, note: (r: number[]) => string) => {
  const runs = results[k];
  const ratios = runs.map((r, i) => r.rps / results.bare[i]!.rps);
  return [label, median(runs.map((r) => r.rps)), median(runs.map((r) => r.p50)).toFixed(2), median(runs.map((r) => r.p99)).toFixed(2), note(ratios)];
};
const spread = (r: number[]) => `${median(r).toFixed(2)}× (rounds ${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)})`;
console.log(`guard throughput under Miniflare: ${total} requests per worker in ${ROUNDS} alternating rounds, ${concurrency} in flight, medians; node ${process.version}, ${new Date().toISOString()}\n`);
printTable(
  ["worker", "req/s", "p50 ms", "p99 ms", "vs bare (median of per-round ratios)"],
  [
    row("bare pass-through (reference)", "bare", () => "1.00×"),
    row("guard, memory backend", "memory", (r) => `${spread(r)}; target ≥ 0.8×`),
    row("guard, Redis backend (local endpoint)", "redis", spread),
  ],
);

agent.destroy();
await Promise.all(Object.values(workers).map((mf) => mf.dispose()));
await endpoint.close();
await deletePrefix(redisUrl, keyPrefix);
await originWorker.dispose();
