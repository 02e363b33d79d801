/**
 * The layout's rules, held by a test: no import circle in src/ (type-only imports count too);
 * code outside src/store/ (src/, test/ and scripts/ alike) enters the store through its index
 * or a room's index; and no function in src/ runs past about 100 lines.
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

it("enters the store from the rest of src/, tests and scripts only through src/store/index.ts or a room's index.ts", () => {
  const outside = files("src").filter((f) => !f.startsWith(join("src", "store")));
  expect(outside.length).toBeGreaterThan(20);
  const deep = [...outside, ...files("test"), ...files("scripts")].flatMap((f) =>
    importsOf(f)
      .map((dep) => relative(".", dep))
      .filter(
        (dep) => dep.startsWith("src/store/") && !/^src\/store\/(?:(?:core|memory|redis|cache)\/)?index\.ts$/.test(dep),
      )
      .map((dep) => `${f} imports ${dep}`),
  );
  expect(deep).toEqual([]);
});

/** Lines a function's text takes, header to closing brace, for each function, method and block-bodied arrow. */
function functionLengths(file: string): { at: string; lines: number }[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const start =
    /^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\b|=>\s*\{\s*$|^\s*(?:(?:private|public|protected|static|override|readonly|async|get|set)\s+)*(?:constructor|[\w#]+)\s*(?:<[^>]*>)?\((?:.*\)\s*(?::\s*[^=]+)?\{\s*$|[^)]*$)/;
  const out: { at: string; lines: number }[] = [];
  lines.forEach((line, i) => {
    const text = line.trim();
    if (/^(?:\/\/|\*|\/\*)/.test(text) || /^(?:if|for|while|switch|catch|return|else)\b/.test(text)) return;
    if (!start.test(line)) return;
    // the body opens on the first line (of a header up to 15 lines long) that ends with "{"
    const open = lines.findIndex((l, k) => k >= i && k < i + 15 && l.trimEnd().endsWith("{"));
    if (open < 0) return;
    let depth = 0;
    let end = open;
    for (; end < lines.length; end++) {
      const t = end === open ? lines[end]!.slice(lines[end]!.lastIndexOf("{")) : lines[end]!;
      depth += (t.match(/\{/g)?.length ?? 0) - (t.match(/\}/g)?.length ?? 0);
      if (depth <= 0) break;
    }
    out.push({ at: `${file}:${i + 1}`, lines: end - i + 1 });
  });
  return out;
}

it("has no function in src/ longer than 100 lines", () => {
  const all = files("src").flatMap(functionLengths);
  // the measure itself works: it finds the functions, and a long one would show
  expect(all.length).toBeGreaterThan(200);
  expect(Math.max(...all.map((f) => f.lines))).toBeGreaterThan(50);
  expect(all.filter((f) => f.lines > 100)).toEqual([]);
});
