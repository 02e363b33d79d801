/**
 * `npm run dev`: wrangler dev on the memory backend. On a fresh clone it first copies
 * .dev.vars.example to .dev.vars, so the admin API has a (development-only) token.
 * It does not fetch Cloudflare's `Request.cf` data (no network is needed; `request.cf`
 * holds miniflare's placeholder): set CLOUDFLARE_CF_FETCH_ENABLED=true to fetch it.
 * Extra arguments go to wrangler; `npm run dev:redis` uses this too.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";

export function runWranglerDev(extra: string[]): ReturnType<typeof spawn> {
  if (!existsSync(".dev.vars")) {
    copyFileSync(".dev.vars.example", ".dev.vars");
    console.log("dev: created .dev.vars from .dev.vars.example (ADMIN_TOKEN=dev-admin-token-change-me)");
  }
  // src/worker-dev.ts: the deployed Worker, plus the memory store when no Upstash setting is given
  const child = spawn("npx", ["wrangler", "dev", "src/worker-dev.ts", "--test-scheduled", ...extra], {
    stdio: "inherit",
    // miniflare (the one this wrangler pins) honours CLOUDFLARE_CF_FETCH_ENABLED: without it, an
    // offline first run prints an ENOTFOUND stack fetching the `Request.cf` data before "Ready"
    env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...process.env },
  });
  const stop = () => child.kill("SIGINT");
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return child;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runWranglerDev(process.argv.slice(2)).on("exit", (code) => process.exit(code ?? 0));
}
