/**
 * Finds the machine's redis-server on 127.0.0.1:6379, or starts a private one on a free port,
 * and hands its URL and a key prefix unique to this run to the tests. It never flushes a
 * database: at the end it deletes the keys under this run's prefix, and nothing else.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    runPrefix: string;
  }
}

async function ping(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on("error", () => {});
  try {
    await r.connect();
    return (await r.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export default async function setup(project: TestProject) {
  let redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
  let child: ChildProcess | undefined;
  if (!(await ping(redisUrl))) {
    const port = await freePort();
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    child.on("error", (e) => console.error(`cannot start redis-server: ${e.message}`));
    redisUrl = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 50 && !(await ping(redisUrl)); i++) await new Promise((r) => setTimeout(r, 100));
    if (!(await ping(redisUrl))) throw new Error("no Redis: none on 127.0.0.1:6379 and redis-server would not start");
  }
  const runPrefix = `ets-test:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;
  project.provide("redisUrl", redisUrl);
  project.provide("runPrefix", runPrefix);

  return async () => {
    const r = new Redis(redisUrl);
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `${runPrefix}*`, "COUNT", 1000);
      if (keys.length > 0) await r.del(...keys);
      cursor = next;
    } while (cursor !== "0");
    r.disconnect();
    child?.kill();
  };
}
