/**
 * Guard throughput and revocation delay, all under Miniflare (workerd) in one run: the built
 * Worker on the memory backend, and on Redis through the local endpoint with the verdict cache
 * off and at 1 s, beside a bare pass-through Worker. The Redis rows run at 0 ms and at 20 ms
 * of added endpoint latency (standing in for Upstash's distance). 1,000 live tokens are
 * requested in random order. Round trips are counted at the endpoint.
 * JWT rows (ES256, 1,000 tokens) run on the memory backend and on Redis with the cache.
 * Then the revocation delay: revoke through one Worker instance, poll through another until 401.
 * Then forged opaque tokens (BENCH_FORGED=10000 of each shape) with TOKEN_FORMAT=tagged and =any.
 * Run: npm run bench:guard   (BENCH_REQUESTS=4000 per row, BENCH_CONCURRENCY=32, BENCH_TRIALS=20)
 */
import { execFileSync } from "node:child_process";
import { Agent, request } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { COMPATIBILITY_DATE, startMiniflare } from "../../test/support/miniflare.js";
import { deletePrefix } from "../../test/support/redis-keys.js";
import { startUpstashEndpoint } from "../../test/support/upstash-endpoint.js";
import { printTable } from "./util.js";

const total = Number(process.env.BENCH_REQUESTS ?? 4000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const trials = Number(process.env.BENCH_TRIALS ?? 20);
const ADMIN = "bench-admin-token-0123456789";
const TOKENS = Array.from({ length: 1000 }, (_, i) => `bench-token-${i}-${Math.random().toString(36).slice(2)}`);
const BOUND_MS = 1000;

// the Worker as deployed (Redis only), and the development entry for the memory rows
for (const [entry, outdir] of [
  [[], "dist"],
  [["src/worker-dev.ts"], "dist/dev"],
] as const) {
  execFileSync("npx", ["wrangler", "deploy", ...entry, "--dry-run", "--outdir", outdir], {
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
}

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const keyPrefix = `ets-bench:${Date.now().toString(36)}:`;
const endpoint = await startUpstashEndpoint({ token: "bench", redisUrl });

const base = { modules: true, compatibilityDate: COMPATIBILITY_DATE, host: "127.0.0.1", port: 0, cf: false } as const;
// the origin runs in workerd too, so the Node process does nothing but generate load
const originWorker = startMiniflare({ ...base, script: 'export default { fetch() { return new Response("ok"); } };' });
const originUrl = (await originWorker.ready).toString().replace(/\/$/, "");
// 1,000 ES256 JWTs of 100 subjects, verified against an inline key set
const { publicKey, privateKey } = await generateKeyPair("ES256");
const JWKS = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "bench", alg: "ES256" }] });
const nowS = Math.floor(Date.now() / 1000);
const JWTS = await Promise.all(
  TOKENS.map((_, i) =>
    new SignJWT({ sub: `bench-${i % 100}`, jti: `j-${i}` })
      .setProtectedHeader({ alg: "ES256", kid: "bench" })
      .setIssuedAt(nowS - 60)
      .setExpirationTime(nowS + 3600)
      .sign(privateKey),
  ),
);
const guard = (vars: Record<string, string> = {}) =>
  startMiniflare({
    ...base,
    // without Upstash settings: the development entry, the one that has the memory store
    scriptPath: "UPSTASH_REDIS_REST_URL" in vars ? "dist/worker.js" : "dist/dev/worker-dev.js",
    // the Worker's logs are its audit lines (one per admin write): not the bench's output; errors are
    handleStructuredLogs({ level, message }) {
      if (level === "error" || level === "warn") process.stderr.write(`${message}\n`);
    },
    bindings: { ADMIN_TOKEN: ADMIN, ORIGIN_URL: originUrl, JWT_JWKS: JWKS, ...vars },
  });
const redisVars = (cacheMs: number) => ({
  UPSTASH_REDIS_REST_URL: endpoint.url,
  UPSTASH_REDIS_REST_TOKEN: "bench",
  KEY_PREFIX: keyPrefix,
  CACHE_MAX_STALENESS_MS: String(cacheMs),
});
const workers = {
  bare: startMiniflare({
    ...base,
    script:
      "export default { fetch(req, env) { const u = new URL(req.url); return fetch(env.ORIGIN_URL + u.pathname + u.search, req); } };",
    bindings: { ORIGIN_URL: originUrl },
  }),
  memory: guard(),
  redisOff: guard(redisVars(0)),
  redisCache: guard(redisVars(BOUND_MS)),
  // a second instance (isolate) with the cache: the revocation-delay trials revoke through it
  redisCache2: guard(redisVars(BOUND_MS)),
  // forged opaque tokens, with a tag key: only tagged tokens reach the store, or any token does
  redisTagged: guard({ ...redisVars(BOUND_MS), TOKEN_HASH_KEY: "bench-pepper", TOKEN_FORMAT: "tagged" }),
  redisAny: guard({ ...redisVars(BOUND_MS), TOKEN_HASH_KEY: "bench-pepper", TOKEN_FORMAT: "any" }),
};
type Name = keyof typeof workers;
const urls = Object.fromEntries(
  await Promise.all(
    Object.entries(workers).map(async ([k, mf]) => [k, (await mf.ready).toString().replace(/\/$/, "")]),
  ),
) as Record<Name, string>;

const admin = async (url: string, path: string, body: unknown) => {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path} answered ${res.status}`);
};
for (const k of ["memory", "redisOff"] as const) {
  for (let i = 0; i < TOKENS.length; i += 50) {
    await Promise.all(
      TOKENS.slice(i, i + 50).map((token, j) =>
        admin(urls[k], "/admin/tokens", { token, id: `bench-${i + j}`, subject: "bench" }),
      ),
    );
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: concurrency * 2 });
/** One GET; a kept-alive socket the server closed meanwhile (ECONNRESET) is retried once on a new one. */
function get(url: string, token: string, retried = false): Promise<{ ms: number; status: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = request(`${url}/bench/path?q=1`, { agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ ms: performance.now() - start, status: res.statusCode ?? 0 }));
    });
    req.on("error", (e: NodeJS.ErrnoException) =>
      e.code === "ECONNRESET" && !retried ? get(url, token, true).then(resolve, reject) : reject(e),
    );
    req.end();
  });
}
const pick = (list: string[]) => list[Math.floor(Math.random() * list.length)]!;

type Run = { rps: number; p50: number; p99: number; rtPerReq: number; errors: number };
type Row = "bare" | "memory" | "redisOff" | "redisCache" | "memoryJwt" | "redisCacheJwt";
async function load(url: string, n: number, tokens = TOKENS): Promise<Run> {
  const ms: number[] = [];
  let next = 0;
  let errors = 0;
  endpoint.resetStats();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) {
        const r = await get(url, pick(tokens));
        // a live token always gets 200; anything else (a 502 when workerd drops an origin connection) is counted
        if (r.status !== 200) errors++;
        ms.push(r.ms);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  ms.sort((a, b) => a - b);
  return {
    rps: ms.length / seconds,
    p50: ms[Math.floor(ms.length / 2)]!,
    p99: ms[Math.floor(ms.length * 0.99)]!,
    rtPerReq: endpoint.stats.requests / ms.length,
    errors,
  };
}

// rounds alternate the order; each round's ratio compares neighbours in time
const ROUNDS = 4;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: (string | number)[][] = [];
for (const latency of [0, 20]) {
  endpoint.control.latencyMs = latency;
  // a row: which worker, with opaque tokens or JWTs
  const rowsOf: Record<Row, [Name, string[]]> = {
    bare: ["bare", TOKENS],
    memory: ["memory", TOKENS],
    redisOff: ["redisOff", TOKENS],
    redisCache: ["redisCache", TOKENS],
    memoryJwt: ["memory", JWTS],
    redisCacheJwt: ["redisCache", JWTS],
  };
  const names = Object.keys(rowsOf) as Row[];
  const run = (k: Row, n: number) => load(urls[rowsOf[k][0]], n, rowsOf[k][1]);
  const results = Object.fromEntries(names.map((k) => [k, [] as Run[]])) as Record<Row, Run[]>;
  // warm up: every token once (fills the caches), then a little random load
  for (const k of names) {
    if (k !== "redisOff" && k !== "bare") for (const t of rowsOf[k][1]) await get(urls[rowsOf[k][0]], t);
    await run(k, 300);
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const k of order) results[k].push(await run(k, Math.floor(total / ROUNDS)));
  }
  const label: Record<Row, string> = {
    bare: "bare pass-through (reference)",
    memory: "guard, memory backend",
    redisOff: "guard, Redis, cache off",
    redisCache: "guard, Redis, cache 1 s",
    memoryJwt: "guard, JWT (ES256), memory backend",
    redisCacheJwt: "guard, JWT (ES256), Redis, cache 1 s",
  };
  for (const k of names) {
    const runs = results[k];
    const ratios = runs.map((r, i) => r.rps / results.bare[i]!.rps);
    rows.push([
      `${label[k]}`,
      `${latency} ms`,
      median(runs.map((r) => r.rps)),
      `${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
      median(runs.map((r) => r.p50)).toFixed(2),
      median(runs.map((r) => r.p99)).toFixed(2),
      rowsOf[k][0].startsWith("redis") ? median(runs.map((r) => r.rtPerReq)).toFixed(4) : "—",
      String(runs.reduce((n, r) => n + r.errors, 0)),
    ]);
  }
}
console.log(
  `guard under Miniflare: ${total} requests per row in ${ROUNDS} alternating rounds, ${concurrency} in flight, 1,000 tokens in random order, medians (range of per-round ratios); node ${process.version}, ${new Date().toISOString()}\n`,
);
printTable(
  ["worker", "added latency", "req/s", "vs bare", "p50 ms", "p99 ms", "round trips / request", "non-200"],
  rows,
);

// revocation delay across instances, at 20 ms added latency: revoke via one, poll the other
endpoint.control.latencyMs = 20;
const delays: number[] = [];
for (let i = 0; i < trials; i++) {
  const token = `bench-revoke-${i}-${Math.random().toString(36).slice(2)}`;
  await admin(urls.redisCache2, "/admin/tokens", { token, id: `bench-revoke-${i}-${token}`, subject: "bench-revoke" });
  while ((await get(urls.redisCache, token)).status !== 200); // the poller caches it live
  // spread the revocations over the sync cycle
  await new Promise((r) => setTimeout(r, Math.random() * BOUND_MS));
  await admin(urls.redisCache2, "/admin/tokens/revoke", { token });
  const acked = performance.now();
  while ((await get(urls.redisCache, token)).status === 200);
  delays.push(performance.now() - acked);
}
console.log(
  `\nrevocation delay across instances (cache 1 s, 20 ms added latency, ${trials} trials, revoked via one Worker, polled through another until 401)\n`,
);
printTable(
  ["max ms", "median ms", "min ms", "bound + one round trip"],
  [[Math.max(...delays).toFixed(0), median(delays).toFixed(0), Math.min(...delays).toFixed(0), `${BOUND_MS} + ~20 ms`]],
);

// forged opaque tokens: random strings shaped as tagged tokens, and random untagged ones, all unknown
const forgedCount = Number(process.env.BENCH_FORGED ?? 10_000);
const randomChars = (n: number) =>
  Array.from(
    crypto.getRandomValues(new Uint8Array(n)),
    (b) => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[b % 64],
  ).join("");
const forgedRows: (string | number)[][] = [];
endpoint.control.latencyMs = 0;
for (const [name, label] of [
  ["redisTagged", "TOKEN_FORMAT=tagged"],
  ["redisAny", "TOKEN_FORMAT=any"],
] as const) {
  for (const [shape, make] of [
    ["tagged-looking (ets_ + 48, a forged tag)", () => `ets_${randomChars(48)}`],
    ["untagged (32 random characters)", () => randomChars(32)],
  ] as const) {
    const forged = Array.from({ length: forgedCount }, make);
    endpoint.resetStats();
    let next = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < forged.length) if ((await get(urls[name], forged[next++]!)).status === 401) refused++;
      }),
    );
    forgedRows.push([
      label,
      shape,
      forged.length.toLocaleString("en-US"),
      refused.toLocaleString("en-US"),
      endpoint.stats.requests.toLocaleString("en-US"),
      (endpoint.stats.requests / forged.length).toFixed(4),
    ]);
  }
}
console.log(
  `\nforged opaque tokens, ${forgedCount.toLocaleString("en-US")} each, Redis with the cache (round trips counted at the endpoint)\n`,
);
printTable(["mode", "forged tokens", "sent", "401", "store round trips", "round trips / request"], forgedRows);

agent.destroy();
await Promise.all(Object.values(workers).map((mf) => mf.dispose()));
await endpoint.close();
await deletePrefix(redisUrl, keyPrefix);
await originWorker.dispose();
