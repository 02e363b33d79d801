/**
 * The layout's rules, held by a test: no import circle in src/ (type-only imports count too),
 * and code outside src/store/ enters the store through its index or a room's index.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { expect, it } from "vitest";

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : files(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

/** Relative module specifiers a file imports or re-exports, resolved to .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)].map((m) => m[1]!);
  return specs.filter((s) => s.endsWith(".js")).map((s) => resolve(dirname(file), s.replace(/\.js$/, ".ts")));
}

it("has no import circle in src/, type-only imports included", () => {
  const graph = new Map(files("src").map((f) => [resolve(f), importsOf(f)]));
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") {
      cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(".", p)).join(" → "));
      return;
    }
    state.set(f, "open");
    for (const dep of graph.get(f) ?? []) visit(dep, [...path, f]);
    state.set(f, "done");
  };
  for (const f of graph.keys()) visit(f, []);
  expect(graph.size).toBeGreaterThan(20);
  expect(cycles).toEqual([]);
});

it("enters the store from tests and scripts only through src/store/index.ts or a room's index.ts", () => {
  const deep = [...files("test"), ...files("scripts")].flatMap((f) =>
    importsOf(f)
      .map((dep) => relative(".", dep))
      .filter(
        (dep) => dep.startsWith("src/store/") && !/^src\/store\/(?:(?:core|memory|redis|cache)\/)?index\.ts$/.test(dep),
      )
      .map((dep) => `${f} imports ${dep}`),
  );
  expect(deep).toEqual([]);
});
