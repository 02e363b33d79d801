/**
 * The docs' TypeScript usage, run as written (its import pointed at this checkout's source):
 * the README's library quick start and the Errors example of docs/library.md. Then what the
 * docs point at: every link is relative and reaches a file (and heading) in this repository,
 * every `npm run` script exists, every repository path named in inline code exists.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as pkg from "../src/index.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...args: string[]
) => (...a: unknown[]) => Promise<unknown>;

/** The ```ts block that follows the line `heading` in `file`, split into its import names and its body. */
function snippet(file: string, heading: string): { names: string[]; body: string } {
  const text = read(file);
  const at = text.split("\n").indexOf(heading);
  if (at < 0) throw new Error(`no line ${JSON.stringify(heading)} in ${file}`);
  const section = text.split("\n").slice(at).join("\n");
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (code === undefined) throw new Error(`no ts block after ${heading} in ${file}`);
  const imp = /^import \{([^}]*)\} from "edge-token-store";\n/m.exec(code);
  const names = (imp?.[1] ?? "")
    .split(",")
    .map((n) => n.trim().replace(/^type\s+/, ""))
    .filter(Boolean);
  return { names, body: code.replace(imp?.[0] ?? "", "") };
}

it("runs the README's library usage section as written", async () => {
  const { names, body } = snippet("README.md", "## The library");
  expect(names).toContain("createTokenStore");
  const logs: unknown[] = [];
  const run = new AsyncFunction(...names, "console", `${body}\nreturn { metadata, revoked, tokens, removed };`);
  const out = (await run(...names.map((n) => (pkg as Record<string, unknown>)[n]), {
    log: (...a: unknown[]) => logs.push(a),
  })) as Record<string, unknown>;
  expect(out.metadata).toMatchObject({ id: "id123", subject: "user123" });
  expect(out.revoked).toBe(false);
  expect((out.tokens as { id: string }[]).map((t) => t.id)).toEqual(["id123"]);
  expect(out.removed).toBe(0);
});

it("runs the error handling example of docs/library.md as written", async () => {
  const { body } = snippet("docs/library.md", "## Errors");
  const store = await pkg.createTokenStore("memory");
  const token = "readme-token";
  await store.store(token, { id: "r1", subject: "s" });
  await store.revoke(token);
  const logs: unknown[][] = [];
  const run = new AsyncFunction("store", "token", "StorageError", "ErrTokenRevoked", "console", body);
  await run(store, token, pkg.StorageError, pkg.ErrTokenRevoked, { log: (...a: unknown[]) => logs.push(a) });
  expect(logs).toHaveLength(1);
  const [op, key, code, detail] = logs[0]!;
  expect([op, code, detail]).toEqual(["get", "token_revoked", "the token has been revoked"]);
  expect(key).toMatch(/^[0-9a-f]{12}$/);
});

describe("what the docs point at", () => {
  const docs = [
    "README.md",
    "CONTRIBUTING.md",
    ...readdirSync(join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  /** The text outside fenced code blocks. */
  const prose = (file: string) => read(file).replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "");
  /** GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen. */
  const anchors = (file: string) =>
    new Set(
      [...prose(file).matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, "")
          .replace(/ /g, "-"),
      ),
    );

  it("links only to files and headings inside the repository, by relative paths", () => {
    const bad: string[] = [];
    for (const file of docs) {
      const text = prose(file).replace(/`[^`\n]*`/g, "");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const [path = "", anchor] = target!.split("#");
        if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith("/")) {
          bad.push(`${file}: ${target} is not a relative link`);
          continue;
        }
        const to = path === "" ? file : normalize(join(dirname(file), path));
        if (to.startsWith("..") || !existsSync(join(ROOT, to))) {
          bad.push(`${file}: ${target} points outside the repository or to a missing file`);
          continue;
        }
        if (anchor !== undefined && to.endsWith(".md") && !anchors(to).has(anchor))
          bad.push(`${file}: ${target} names no heading of ${to}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("names only npm scripts that package.json defines", () => {
    const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts);
    const named = docs.flatMap((file) =>
      [...read(file).matchAll(/\bnpm run (?:-s )?([a-z][\w:-]*)/g)].map((m) => `${file}: npm run ${m[1]}`),
    );
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((n) => !scripts.includes(n.split("npm run ")[1]!))).toEqual([]);
  });

  it("names only repository paths that exist", () => {
    const missing = docs.flatMap((file) =>
      [
        ...prose(file).matchAll(
          /`((?:src|test|scripts|docs|\.ci)\/[\w./-]+|[A-Za-z][\w.-]*\.(?:toml|json)|\.prettierrc\.json|vitest\.config\.ts|\.dev\.vars\.example|\.prettierignore)`/g,
        ),
      ]
        .map((m) => m[1]!)
        .filter((p) => !existsSync(join(ROOT, p)))
        .map((p) => `${file}: ${p}`),
    );
    expect(missing).toEqual([]);
  });

  it("keeps the README a front door", () => {
    expect(read("README.md").split("\n").length).toBeLessThanOrEqual(200);
  });
});
