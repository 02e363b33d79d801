/** Small helpers shared by the bench scripts. Figures are printed, never asserted. */
import type { Redis as UpstashRedis } from "@upstash/redis/cloudflare";
import type IORedis from "ioredis";

/** Runs `fn(i)` for i in [0, n) with `concurrency` calls in flight; returns operations per second. */
export async function opsPerSec(n: number, fn: (i: number) => Promise<unknown>, concurrency = 256): Promise<number> {
  const start = performance.now();
  for (let base = 0; base < n; base += concurrency) {
    const batch: Promise<unknown>[] = [];
    for (let i = base; i < Math.min(n, base + concurrency); i++) batch.push(fn(i));
    await Promise.all(batch);
  }
  return n / ((performance.now() - start) / 1000);
}

export async function timeMs(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Heap in use after a full collection; needs `node --expose-gc`. */
export function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with node --expose-gc");
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

export function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString("en-US");
  return n.toPrecision(3);
}

export function printTable(head: string[], rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)));
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map(() => "---").join("|")}|`);
  for (const r of cells) console.log(`| ${r.join(" | ")} |`);
}

/**
 * Just enough of @upstash/redis for RedisTokenStore: scripts run as EVALSHA on a pipelining
 * ioredis, straight to redis-server. For a bench's writer, whose rate HTTP would cap.
 */
export function pipelined(io: IORedis): UpstashRedis {
  return {
    createScript(src: string) {
      let sha: Promise<string> | undefined;
      return {
        async exec(keys: string[], args: string[]) {
          sha ??= io.script("LOAD", src) as Promise<string>;
          return io.evalsha(await sha, keys.length, ...keys, ...args);
        },
      };
    },
  } as unknown as UpstashRedis;
}
