/**
 * Counts the commands Redis runs, as Upstash bills them: every command a Lua script calls,
 * plus the EVALSHA itself. Read from INFO commandstats of a private redis-server, so nothing
 * else's commands are mixed in.
 */
import IORedis from "ioredis";

/** Per-command call counts since the last CONFIG RESETSTAT, without the counter's own commands. */
async function commandStats(admin: IORedis): Promise<Record<string, number>> {
  const info = await admin.info("commandstats");
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] === "info" || m[1]!.startsWith("config")) continue;
    out[m[1]!.toUpperCase()] = Number(m[2]);
  }
  return out;
}

export interface Billed {
  total: number;
  byCommand: Record<string, number>;
}

/** A counter over the redis-server at `url`, which only the measured calls may use. */
export function commandCounter(url: string): {
  count(fn: () => Promise<unknown>): Promise<Billed>;
  close(): void;
} {
  const admin = new IORedis(url);
  return {
    async count(fn) {
      await admin.config("RESETSTAT");
      await fn();
      const byCommand = await commandStats(admin);
      return { total: Object.values(byCommand).reduce((a, b) => a + b, 0), byCommand };
    },
    close: () => admin.disconnect(),
  };
}
