/** Finds the machine's redis-server, or starts a private one. */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import Redis from "ioredis";

export async function ping(url: string): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
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

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** TEST_REDIS_URL or 127.0.0.1:6379 if it answers; otherwise a private redis-server on a free port. */
export async function findOrStartRedis(): Promise<{ url: string; stop: () => void }> {
  const shared = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
  if (await ping(shared)) return { url: shared, stop: () => {} };
  return startPrivateRedis();
}

/**
 * A redis-server of its own on a free port, nothing kept on disk: for counting what a script
 * runs with INFO commandstats, which a shared server mixes with everyone else's commands.
 */
export async function startPrivateRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  child.on("error", (e) => console.error(`cannot start redis-server: ${e.message}`));
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await ping(url)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await ping(url))) throw new Error("no Redis: none on 127.0.0.1:6379 and redis-server would not start");
  return { url, stop: () => child.kill() };
}

export function newRunPrefix(): string {
  return `ets-test:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;
}
