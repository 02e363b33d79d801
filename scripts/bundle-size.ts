/**
 * Builds the Worker exactly as `wrangler deploy` would, from the project's own wrangler.toml
 * (which sets `minify = true`) with no extra flags, and prints its size, raw and gzipped.
 * Target: ≤ 56 KiB gzip, the JOSE library included. Then what ships beside it as static assets
 * (the console, the OpenAPI document), and what the development entry (src/worker-dev.ts, the
 * memory store added) would weigh: the memory store is what the deployed Worker leaves out.
 * Run: npm run size
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const build = (entry: string[], outdir: string) =>
  execFileSync("npx", ["wrangler", "deploy", ...entry, "--dry-run", "--outdir", outdir], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const gz = (b: Buffer | string) => gzipSync(b, { level: 9 }).length;

build([], "dist");
const code = readFileSync("dist/worker.js");
const TARGET = 56 * 1024;
console.log(
  `Worker bundle (wrangler deploy --dry-run, minify from wrangler.toml): ${kib(code.length)} raw, ${kib(gz(code))} gzip (target ≤ 56 KiB gzip, jose included)`,
);
console.log(
  `  exactly: ${gz(code)} bytes gzip (level 9), ${TARGET - gz(code)} bytes ${gz(code) <= TARGET ? "under" : "OVER"} the ${TARGET}-byte target`,
);
const consoleFiles = readdirSync("assets/console").map((f) => readFileSync(`assets/console/${f}`));
const consoleGz = consoleFiles.reduce((sum, f) => sum + gz(f), 0);
// the OpenAPI document as the Worker used to bundle it: minified JSON
const openapi = JSON.stringify(JSON.parse(readFileSync("assets/openapi.json", "utf8")));
console.log(
  `Static assets beside it: the console ${kib(consoleGz)} gzip (${consoleFiles.length} files, each gzipped), the OpenAPI document ${kib(gz(openapi))} gzip (minified)`,
);
build(["src/worker-dev.ts"], "dist/dev");
const dev = readFileSync("dist/dev/worker-dev.js");
console.log(
  `Development entry (src/worker-dev.ts, never deployed): ${kib(gz(dev))} gzip, ${kib(gz(dev) - gz(code))} more than the deployed Worker: the memory store`,
);
