/**
 * An in-memory stand-in for the Workers Cache API (what the data-center tier needs of it:
 * match and put), for Node tests and the fleet bench. It can misbehave the ways the Cache API
 * may: drop puts silently, answer an older version of an entry, answer slowly, or fail.
 */
import type { SharedCache } from "../../src/store/index.js";

export interface MemoryCacheOptions {
  /** Share of puts dropped silently (0 to 1). @default 0 */
  dropPuts?: number;
  /** Share of matches that answer an older version of the entry, when there is one (0 to 1). @default 0 */
  replay?: number;
  /** Milliseconds before every match and put answers. @default 0 */
  delayMs?: number;
  /** Random numbers in [0, 1): pass a seeded one for a repeatable run. @default Math.random */
  random?: () => number;
}

export class MemoryCache implements SharedCache {
  /** Every version put at each URL, oldest first. */
  readonly versions = new Map<string, string[]>();
  failing = false;
  matches = 0;
  puts = 0;
  private readonly random: () => number;

  constructor(private readonly options: MemoryCacheOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  async match(request: Request): Promise<Response | undefined> {
    this.matches++;
    await this.pause();
    const all = this.versions.get(request.url);
    if (all === undefined) return undefined;
    const replay = all.length > 1 && this.random() < (this.options.replay ?? 0);
    return new Response(replay ? all[Math.floor(this.random() * (all.length - 1))]! : all.at(-1)!);
  }

  async put(request: Request, response: Response): Promise<void> {
    this.puts++;
    await this.pause();
    const body = await response.text();
    if (this.random() < (this.options.dropPuts ?? 0)) return;
    const all = this.versions.get(request.url) ?? [];
    all.push(body);
    if (all.length > 8) all.shift();
    this.versions.set(request.url, all);
  }

  /** Replaces the newest version at every URL whose path ends with `suffix`. */
  tamper(suffix: string, edit: (body: string) => string): number {
    let n = 0;
    for (const [url, all] of this.versions)
      if (url.endsWith(suffix)) {
        all[all.length - 1] = edit(all.at(-1)!);
        n++;
      }
    return n;
  }

  private async pause(): Promise<void> {
    if (this.failing) throw new Error("cache unavailable");
    const ms = this.options.delayMs ?? 0;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** A small seeded generator (mulberry32), for repeatable misbehaviour. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
