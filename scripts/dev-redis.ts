/**
 * `wrangler dev` on the Redis backend: starts the local Upstash-compatible endpoint over the
 * local redis-server, then wrangler dev pointed at it. Ctrl-C stops both.
 * Run: npm run dev:redis   (REDIS_URL=redis://127.0.0.1:6379, UPSTASH_PORT=8079)
 */
import { runWranglerDev } from "./dev.js";
import { startUpstashEndpoint } from "../test/support/upstash-endpoint.js";

const token = "local-dev-token";
const endpoint = await startUpstashEndpoint({
  port: Number(process.env.UPSTASH_PORT ?? 8079),
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  token,
});
console.log(`Upstash-compatible endpoint on ${endpoint.url}`);
const wrangler = runWranglerDev([
  "--var",
  `UPSTASH_REDIS_REST_URL:${endpoint.url}`,
  "--var",
  `UPSTASH_REDIS_REST_TOKEN:${token}`,
  ...process.argv.slice(2),
]);
wrangler.on("exit", async (code) => {
  await endpoint.close();
  process.exit(code ?? 0);
});
