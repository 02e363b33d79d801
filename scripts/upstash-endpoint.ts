// npm run redis:http: the local Upstash-compatible endpoint over a real Redis, for wrangler dev
import { startUpstashEndpoint } from "../test/support/upstash-endpoint.js";

const endpoint = await startUpstashEndpoint({
  port: Number(process.env.PORT ?? 8079),
  host: process.env.HOST ?? "127.0.0.1",
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  token: process.env.UPSTASH_TOKEN ?? "local-dev-token",
  latencyMs: Number(process.env.LATENCY_MS ?? 0),
});
console.log(`Upstash-compatible endpoint on ${endpoint.url} → ${process.env.REDIS_URL ?? "redis://127.0.0.1:6379"}`);
console.log(`  UPSTASH_REDIS_REST_URL=${endpoint.url}`);
console.log(`  UPSTASH_REDIS_REST_TOKEN=${process.env.UPSTASH_TOKEN ?? "local-dev-token"}`);
const stop = () => endpoint.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
