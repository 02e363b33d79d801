/**
 * Runs once for the whole suite. Finds the machine's redis-server (or starts a private one),
 * starts the project's Upstash-compatible endpoint over it and an echo origin, and hands their
 * URLs and a key prefix unique to this run to every project (Node and Workers). It never
 * flushes a database: at the end it deletes the keys under this run's prefix, and nothing else.
 *
 * One setup for both projects on purpose: ioredis loaded by two projects' setups in one process
 * fails ("Cannot redefine property: default").
 */
import type { TestProject } from "vitest/node";
import { startUpstashEndpoint } from "./upstash-endpoint.js";
import { startEchoOrigin } from "./echo-origin.js";
import { startJwksServer } from "./jwks-server.js";
import { deletePrefix } from "./redis-keys.js";
import { findOrStartRedis, newRunPrefix } from "./redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    runPrefix: string;
    upstashUrl: string;
    upstashToken: string;
    originUrl: string;
    jwksUrl: string;
  }
}

const UPSTASH_TOKEN = "worker-test-upstash-token";

/**
 * workerd (run verbose by the Workers pool) reports a rejection nobody handled — a rejected
 * ctx.waitUntil promise, a Durable Object's or another Worker's — only as a log line the pool
 * writes to stdout, which Vitest does not count. Watched here, so such a line fails the run.
 */
const POOL_TEARDOWN_LINE = "exception = workerd/api/web-socket.c++:821: disconnected: WebSocket peer disconnected";

function watchWorkerdUncaught(): string[] {
  const seen: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      // a Uint8Array check, not Buffer.isBuffer: workers-types 5 declares the global Buffer as any
      const text =
        typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? new TextDecoder().decode(chunk) : "";
      for (const line of text.split("\n")) if (line.startsWith("uncaught exception; source = ")) seen.push(line);
      // the pool's own teardown closes its runner socket before workerd, which then says so
      if (text.trim() === POOL_TEARDOWN_LINE) return true;
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
  return seen;
}

export default async function setup(project: TestProject) {
  const uncaught = watchWorkerdUncaught();
  const redis = await findOrStartRedis();
  const endpoint = await startUpstashEndpoint({ token: UPSTASH_TOKEN, redisUrl: redis.url, exposeStats: true });
  const origin = await startEchoOrigin();
  const jwks = await startJwksServer();
  const runPrefix = newRunPrefix();
  for (const p of project.vitest.projects) {
    p.provide("redisUrl", redis.url);
    p.provide("runPrefix", runPrefix);
    p.provide("upstashUrl", endpoint.url);
    p.provide("upstashToken", UPSTASH_TOKEN);
    p.provide("originUrl", origin.url);
    p.provide("jwksUrl", jwks.url);
  }
  return async () => {
    origin.server.closeAllConnections();
    origin.server.close();
    jwks.server.closeAllConnections();
    jwks.server.close();
    await endpoint.close();
    await deletePrefix(redis.url, runPrefix);
    redis.stop();
    if (uncaught.length > 0) {
      process.exitCode = 1; // Vitest prints an error thrown here but would still exit 0
      throw new Error(`workerd logged ${uncaught.length} uncaught exception(s):\n${uncaught.join("\n")}`);
    }
  };
}
