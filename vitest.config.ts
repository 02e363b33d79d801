import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // CI reads the JSON report to print one "N passed, N failed" line
    reporters: process.env.CI ? ["default", ["json", { outputFile: "test-results.json" }]] : ["default"],
    // one setup for every project: Redis, the Upstash endpoint and the echo origin
    globalSetup: ["test/support/global-setup.ts"],
    // the Worker logs one {"event":"audit",…} line per admin write (for Workers Logs): not test output
    onConsoleLog: (line) => !line.startsWith('{"event":"audit"'),
    projects: [
      {
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          // the browser tests poll the page; a loaded 2-core machine needs more than the default 1 s
          expect: { poll: { timeout: 10_000 } },
          // *.workerd.test.ts run inside the Workers runtime (the project below)
          exclude: ["test/**/*.workerd.test.ts"],
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            // exports.default is the development entry: the deployed one, plus the memory store without Upstash settings
            main: "./src/worker-dev.ts",
            miniflare: {
              bindings: {
                ADMIN_TOKEN: "test-admin-token-0123456789",
                ORIGIN_URL: inject("originUrl"),
                OAUTH_CLIENTS: "client-a:client-a-secret-0123456789",
                TOKEN_HASH_KEY: "test-pepper",
              },
              // a real Workers Rate Limiting binding for the failure-limit tests (not the Worker's FAILURE_LIMITER)
              ratelimits: { TEST_LIMITER: { namespace_id: "1002", simple: { limit: 3, period: 60 } } },
              // test-only: without it exports.default.scheduled() fails with DataCloneError crossing the service binding
              compatibilityFlags: ["service_binding_extra_handlers"],
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.workerd.test.ts"],
          // a refused connection without a socket, and a failure for any rejected ctx.waitUntil
          setupFiles: ["test/support/workerd-setup.ts"],
        },
      },
    ],
  },
});
