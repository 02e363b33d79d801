/**
 * Builds the Worker as it would deploy (`wrangler deploy --dry-run --minify`) and prints its
 * size, raw and gzipped. Target: ≤ 48 KiB gzip.
 * Run: npm run size
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", "dist", "--minify"], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
const code = readFileSync("dist/worker.js");
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const gz = gzipSync(code, { level: 9 }).length;
console.log(`Worker bundle (wrangler deploy --dry-run --minify): ${kib(code.length)} raw, ${kib(gz)} gzip (target ≤ 48 KiB gzip)`);
