/** The README's TypeScript usage, run as written (its import pointed at this checkout's source). */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import * as pkg from "../src/index.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...args: string[]
) => (...a: unknown[]) => Promise<unknown>;

/** The ```ts block that follows `heading`, split into its import names and its body. */
function snippet(heading: string): { names: string[]; body: string } {
  const section = readme.slice(readme.indexOf(heading));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (code === undefined) throw new Error(`no ts block after ${heading}`);
  const imp = /^import \{([^}]*)\} from "edge-token-store";\n/m.exec(code);
  const names = (imp?.[1] ?? "")
    .split(",")
    .map((n) => n.trim().replace(/^type\s+/, ""))
    .filter(Boolean);
  return { names, body: code.replace(imp?.[0] ?? "", "") };
}

it("runs the library usage section as written", async () => {
  const { names, body } = snippet("## The library");
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

it("runs the error handling example as written", async () => {
  const { body } = snippet("## Errors");
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
