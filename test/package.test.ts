/** The package as a plain Node consumer gets it: built with `npm run build`'s config, imported by Node. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

it("builds to ESM with declarations that plain Node can import and use", () => {
  // inside the project, so the build resolves its dependencies from node_modules as a consumer's would
  mkdirSync(join("node_modules", ".cache"), { recursive: true });
  const out = mkdtempSync(join(process.cwd(), "node_modules", ".cache", "ets-build-"));
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json", "--outDir", out], { stdio: "pipe" });
  const consumer = join(out, "consumer.mjs");
  writeFileSync(
    consumer,
    `const { createTokenStore, ErrTokenRevoked, tokenGuard } = await import(${JSON.stringify(join(out, "index.js"))});
const store = await createTokenStore("memory");
await store.store("t", { id: "1", subject: "s" });
await store.revoke("t");
const e = await store.get("t").catch((x) => x);
console.log(JSON.stringify({ revoked: e.err === ErrTokenRevoked, guard: typeof tokenGuard }));`,
  );
  const printed = execFileSync(process.execPath, [consumer], { encoding: "utf8", cwd: process.cwd() });
  expect(JSON.parse(printed)).toEqual({ revoked: true, guard: "function" });
  expect(readdirSync(out)).toContain("index.d.ts");
  rmSync(out, { recursive: true });
}, 30_000);
