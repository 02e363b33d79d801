import { ConfigError } from "./config.js";
import { runCleanup } from "./cron.js";
import type { Env } from "./env.js";
import { configErrorResponse, logConfigError, runtimeFor, type MemoryBackend } from "./runtime.js";

/**
 * The Worker's handlers. `memory` is how the development entry (src/worker-dev.ts) runs without
 * Redis; the deployed Worker has none, so a missing Upstash setting is a config error (500),
 * never a per-isolate store that other isolates' revocations cannot reach.
 */
export function workerFor(memory?: MemoryBackend) {
  return {
    fetch(request, env, ctx) {
      try {
        return runtimeFor(env, memory).app.fetch(request, env, ctx);
      } catch (e) {
        if (e instanceof ConfigError) return configErrorResponse(e);
        throw e;
      }
    },
    async scheduled(_controller, env, _ctx) {
      let store;
      try {
        store = runtimeFor(env, memory).store;
      } catch (e) {
        if (e instanceof ConfigError) logConfigError(e);
        throw e;
      }
      // awaited, not handed to ctx.waitUntil as well: a rejected waitUntil promise is logged as a
      // second "Uncaught (in promise)" on top of the failed event
      await runCleanup(store); // a failure fails the scheduled event, so Cloudflare shows it
    },
  } satisfies ExportedHandler<Env>;
}

/** What `wrangler deploy` ships (wrangler.toml `main`): Redis only. */
export default workerFor();
