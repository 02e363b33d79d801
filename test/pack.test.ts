/**
 * The package as people install it: `npm pack`, then a fresh Workers project installs the
 * tarball offline (from the npm cache `npm ci` filled), plain Node imports it, the project
 * imports tokenGuard and createTokenStore, typechecks, bundles with `wrangler deploy
 * --dry-run`, and the bundle runs under Miniflare.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { COMPATIBILITY_DATE, startMiniflare } from "./support/miniflare.js";

const ROOT = process.cwd();
const PROJECT = JSON.parse(readFileSync("package.json", "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
};
type LockEntry = { version: string; dependencies?: Record<string, string> };

/**
 * The consumer's package-lock.json: the tarball, then every runtime dependency it pulls in,
 * copied (version, URL, integrity) from this project's own lock, which \`npm ci\` installed.
 */
function writeConsumerLock(app: string, tarball: string): void {
  const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as { packages: Record<string, LockEntry> };
  const packages: Record<string, unknown> = {
    "": { name: "consumer", dependencies: { "edge-token-store": `file:${tarball}`, hono: PROJECT.dependencies.hono } },
    "node_modules/edge-token-store": {
      version: PROJECT.version,
      resolved: `file:${tarball}`,
      integrity: `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`,
      dependencies: PROJECT.dependencies,
    },
  };
  const todo = Object.keys(PROJECT.dependencies);
  while (todo.length > 0) {
    const name = todo.pop()!;
    const entry = lock.packages[`node_modules/${name}`];
    if (entry === undefined || packages[`node_modules/${name}`] !== undefined) continue;
    const {
      dev: _dev,
      devOptional: _devOptional,
      ...runtime
    } = entry as LockEntry & { dev?: boolean; devOptional?: boolean };
    packages[`node_modules/${name}`] = runtime;
    todo.push(...Object.keys(entry.dependencies ?? {}));
  }
  writeFileSync(
    join(app, "package-lock.json"),
    JSON.stringify({ name: "consumer", lockfileVersion: 3, requires: true, packages }),
  );
}
const bin = (pkg: string, file: string) => join(ROOT, "node_modules", pkg, file);

it("packs into a tarball that a Workers project installs offline, typechecks, bundles and runs", async () => {
  mkdirSync(join("node_modules", ".cache"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, "node_modules", ".cache", "ets-pack-"));
  try {
    // npm pack runs `prepare` (the build), as a publish would
    const tarball = execFileSync("npm", ["pack", "--pack-destination", dir, "--silent"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .at(-1)!;
    const app = join(dir, "consumer");
    mkdirSync(join(app, "src"), { recursive: true });
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({
        name: "consumer",
        private: true,
        type: "module",
        dependencies: { "edge-token-store": `file:${join(dir, tarball)}`, hono: PROJECT.dependencies.hono },
      }),
    );
    writeFileSync(
      join(app, "wrangler.toml"),
      `name = "consumer"\nmain = "src/worker.ts"\ncompatibility_date = "${COMPATIBILITY_DATE}"\n`,
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "ESNext",
          moduleResolution: "Bundler",
          lib: ["ES2024"],
          types: ["@cloudflare/workers-types"],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        include: ["src"],
      }),
    );
    writeFileSync(
      join(app, "src", "worker.ts"),
      `import { Hono } from "hono";
import { createTokenStore, tokenGuard, type TokenGuardVariables, type TokenStore } from "edge-token-store";

let store: Promise<TokenStore> | undefined;
export default {
  async fetch(request: Request): Promise<Response> {
    store ??= createTokenStore("memory").then(async (s) => (await s.store("packed-token", { id: "p1", subject: "packed" }), s));
    const app = new Hono<{ Variables: TokenGuardVariables }>();
    app.use("*", tokenGuard({ store: await store }));
    app.get("*", (c) => c.text(\`hello \${c.var.token?.subject}\`));
    return app.fetch(request);
  },
} satisfies ExportedHandler;
`,
    );
    writeConsumerLock(app, join(dir, tarball));
    // npm ci installs by the lock's URLs and integrities, so the npm cache alone serves it
    execFileSync("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
      cwd: app,
      stdio: "pipe",
    });
    expect(readdirSync(join(app, "node_modules", "edge-token-store", "lib"))).toContain("index.d.ts");
    // plain Node imports the installed package (ESM) and uses it
    const printed = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `
      const { createTokenStore, ErrTokenRevoked, tokenGuard } = await import("edge-token-store");
      const store = await createTokenStore("memory");
      await store.store("t", { id: "1", subject: "s" });
      await store.revoke("t");
      const e = await store.get("t").catch((x) => x);
      console.log(JSON.stringify({ revoked: e.err === ErrTokenRevoked, guard: typeof tokenGuard }));`,
      ],
      { cwd: app, encoding: "utf8" },
    );
    expect(JSON.parse(printed)).toEqual({ revoked: true, guard: "function" });
    mkdirSync(join(app, "node_modules", "@cloudflare"), { recursive: true });
    symlinkSync(bin("@cloudflare", "workers-types"), join(app, "node_modules", "@cloudflare", "workers-types"));
    execFileSync(process.execPath, [bin("typescript", "bin/tsc"), "-p", app], { stdio: "pipe" });
    execFileSync(process.execPath, [bin("wrangler", "bin/wrangler.js"), "deploy", "--dry-run", "--outdir", "dist"], {
      cwd: app,
      stdio: "pipe",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    expect(existsSync(join(app, "dist", "worker.js"))).toBe(true);
    const mf = startMiniflare({
      scriptPath: resolve(app, "dist", "worker.js"),
      modules: true,
      compatibilityDate: COMPATIBILITY_DATE,
      cf: false,
    });
    try {
      expect((await mf.dispatchFetch("http://x/")).status).toBe(401);
      const ok = await mf.dispatchFetch("http://x/", { headers: { Authorization: "Bearer packed-token" } });
      expect(await ok.text()).toBe("hello packed");
    } finally {
      await mf.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
