/**
 * Miniflare for the tests and benches that run a built Worker directly (test/pack.test.ts,
 * scripts/bench/guard.ts). Miniflare 5 takes a `workers` array in a shape of its own; these
 * callers each run one Worker, so they write Miniflare 4's options and convert them. The
 * compatibility date is wrangler.toml's, so everything runs on the date the Worker ships with.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from "miniflare";

const toml = readFileSync(join(import.meta.dirname, "../../wrangler.toml"), "utf8");
const date = /^compatibility_date\s*=\s*"(\d{4}-\d{2}-\d{2})"/m.exec(toml)?.[1];
if (date === undefined) throw new Error("wrangler.toml has no compatibility_date");

/** wrangler.toml's compatibility_date. */
export const COMPATIBILITY_DATE: string = date;

/** A Miniflare instance for one Worker, from Miniflare 4's options. */
export function startMiniflare(options: V4MiniflareOptions): Miniflare {
  return new Miniflare(convertV4MiniflareOptions(options));
}
