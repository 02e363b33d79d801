/**
 * Builds the Worker exactly as `wrangler deploy` would, from the project's own wrangler.toml
 * (which sets `minify = true`) with no extra flags, and prints its size, raw and gzipped.
 * Target: ≤ 56 KiB gzip, the JOSE library included.
 * Run: npm run size
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", "dist"], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
const code = readFileSync("dist/worker.js");
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const gz = gzipSync(code, { level: 9 }).length;
console.log(
  `Worker bundle (wrangler deploy --dry-run, minify from wrangler.toml): ${kib(code.length)} raw, ${kib(gz)} gzip (target ≤ 56 KiB gzip, jose included)`,
);
