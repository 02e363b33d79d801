/// <reference types="@cloudflare/vitest-plugin/types" />
import type { Env as WorkerEnv } from "../../src/env.js";

declare global {
  namespace Cloudflare {
    /** `exports` from cloudflare:workers: the development entry the vitest config runs as main. */
    interface GlobalProps {
      mainModule: typeof import("../../src/worker-dev.js");
    }
    interface Env extends WorkerEnv {
      /** vitest.config.ts: a Rate Limiting binding (limit 3 a minute) for the failure-limit tests. */
      TEST_LIMITER: RateLimit;
    }
  }
}
