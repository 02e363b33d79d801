import type { TokenStore } from "./store/core/index.js";

/**
 * Runs cleanup and logs one JSON line: `{ event: "cleanup", removed, ms }`. A failure is
 * logged as `cleanup_failed` and rethrown, so the scheduled event shows as failed.
 */
export async function runCleanup(
  store: TokenStore,
  log: (line: string) => void = (l) => console.log(l),
): Promise<{ removed: number }> {
  const start = Date.now();
  try {
    const { removed } = await store.cleanup();
    log(JSON.stringify({ event: "cleanup", removed, ms: Date.now() - start }));
    return { removed };
  } catch (e) {
    log(
      JSON.stringify({
        event: "cleanup_failed",
        error: e instanceof Error ? e.message : String(e),
        ms: Date.now() - start,
      }),
    );
    throw e;
  }
}
