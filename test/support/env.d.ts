/// <reference types="@cloudflare/vitest-pool-workers/types" />
import type { Env as WorkerEnv } from "../../src/env.js";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      /** vitest.config.ts: a Rate Limiting binding (limit 3 a minute) for the failure-limit tests. */
      TEST_LIMITER: RateLimit;
    }
  }
}
