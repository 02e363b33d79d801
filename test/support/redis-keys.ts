import Redis from "ioredis";

/** Deletes the keys under `prefix` with SCAN + DEL: tests and benches never flush a shared database. */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url);
  let cursor = "0";
  do {
    const [next, keys] = await r.scan(cursor, "MATCH", `${escapeGlob(prefix)}*`, "COUNT", 1000);
    if (keys.length > 0) await r.del(...keys);
    cursor = next;
  } while (cursor !== "0");
  r.disconnect();
}

/** `s` as a literal inside a Redis MATCH pattern. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, "\\$&");
}
