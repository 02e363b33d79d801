import { readFile } from "node:fs/promises";
import type { AssetFetcher } from "../../src/routes/console.js";

/**
 * The ASSETS binding for tests that run in Node: the committed assets/ directory, read from disk
 * (workerd tests get the real binding from wrangler.toml).
 */
export const diskAssets: AssetFetcher = {
  async fetch(input: RequestInfo | URL) {
    const path = new URL(input instanceof Request ? input.url : input).pathname;
    if (path.includes("..")) return new Response("not found", { status: 404 });
    try {
      return new Response(await readFile(`assets${path}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  },
} as AssetFetcher;
