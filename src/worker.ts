import { ConfigError } from "./config.js";
import { runCleanup } from "./cron.js";
import type { Env } from "./env.js";
import { configErrorResponse, logConfigError, runtimeFor } from "./runtime.js";

export default {
  fetch(request, env, ctx) {
    try {
      return runtimeFor(env).app.fetch(request, env, ctx);
    } catch (e) {
      if (e instanceof ConfigError) return configErrorResponse(e);
      throw e;
    }
  },
  async scheduled(_controller, env, _ctx) {
    let store;
    try {
      store = runtimeFor(env).store;
    } catch (e) {
      if (e instanceof ConfigError) logConfigError(e);
      throw e;
    }
    // awaited, not handed to ctx.waitUntil as well: a rejected waitUntil promise is logged as a
    // second "Uncaught (in promise)" on top of the failed event
    await runCleanup(store); // a failure fails the scheduled event, so Cloudflare shows it
  },
} satisfies ExportedHandler<Env>;
