/**
 * Both backends must behave the same: one random sequence of operations, with the clock
 * moving between them, is applied to a memory store and a Redis store, and every outcome
 * (value or error sentinel) must match step by step.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { MemoryTokenStore, RedisTokenStore, StorageError, type TokenStore } from "../../src/index.js";
import type { UpstashEndpoint } from "../support/upstash-endpoint.js";
import { ENDPOINT_TOKEN, startEndpoint, uniquePrefix, TEST_TIMEOUT_MS } from "../support/redis.js";

let endpoint: UpstashEndpoint;
beforeAll(async () => {
  endpoint = await startEndpoint();
});
afterAll(() => endpoint.close());

/** What an operation came to, in a form both backends can be compared by. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return { ok: JSON.parse(JSON.stringify((await p) ?? null)) };
  } catch (e) {
    if (e instanceof StorageError) return { err: e.err.code, op: e.op, key: e.key };
    throw e;
  }
}

for (const seed of [1, 2, 3]) {
  it(`agrees with the memory store on 400 random operations (seed ${seed})`, async () => {
    let t = Date.UTC(2026, 10, 27, 12);
    const now = () => t;
    const memory = new MemoryTokenStore({ now, cleanupBatchSize: 3 });
    const redis = new RedisTokenStore({
      url: endpoint.url,
      token: ENDPOINT_TOKEN,
      keyPrefix: uniquePrefix("diff"),
      now,
      cleanupBatchSize: 3,
      timeoutMs: TEST_TIMEOUT_MS,
    });
    // mulberry32: a small PRNG whose low bits are as random as its high ones
    let r = seed * 7919;
    const rand = (n: number) => {
      r = (r + 0x6d2b79f5) | 0;
      let x = Math.imul(r ^ (r >>> 15), 1 | r);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) % n;
    };
    const tokens = Array.from({ length: 8 }, (_, i) => `diff-token-${seed}-${i}`);
    const ops: [string, (s: TokenStore) => Promise<unknown>][] = [];
    let inFamily: string | undefined;
    for (let i = 0; i < 400; i++) {
      const token = tokens[rand(tokens.length)]!;
      const id = `id-${rand(5)}`;
      const subject = `sub-${rand(3)}`;
      const k = rand(18);
      if (k < 4) {
        // dates relative to the clock when the step runs, the same for both stores
        const [ago, ttl] = [rand(5) * 1000, (rand(6) - 1) * 60_000];
        // two families at a time, new ones every 80 steps: a revoked family stays revoked (a lifetime)
        const family = rand(3) === 0 ? undefined : `fam-${Math.floor(i / 80)}-${rand(2)}`;
        const type = rand(2) === 0 ? "refresh_token" : "access_token";
        if (family !== undefined) inFamily = token;
        ops.push([
          `store ${token} ${id} ${subject} -${ago} +${ttl} ${family} ${type}`,
          (s) =>
            s.store(token, { id, subject, issuedAt: new Date(t - ago), expiresAt: new Date(t + ttl), family, type }),
        ]);
      } else if (k === 4) ops.push([`get ${token}`, (s) => s.get(token)]);
      else if (k === 5) ops.push([`getById ${id}`, (s) => s.getById(id)]);
      else if (k === 6) ops.push([`revoke ${token}`, (s) => s.revoke(token)]);
      else if (k === 7) ops.push([`isRevoked ${token}`, (s) => s.isRevoked(token)]);
      else if (k === 8) ops.push([`delete ${token}`, (s) => s.delete(token)]);
      else if (k === 9) ops.push([`list ${subject}`, (s) => s.list(subject)]);
      else if (k === 10) ops.push(["cleanup", (s) => s.cleanup()]);
      else if (k === 11) ops.push([`inspect ${token}`, (s) => s.inspect(token)]);
      else if (k === 12) ops.push([`revokeById ${id}`, (s) => s.revokeById(id)]);
      else if (k >= 14 && k <= 16) {
        // the token last stored in a family, or any; the new token another of the same few (often
        // stored already), now and then the old one itself
        const old = rand(2) === 0 && inFamily !== undefined ? inFamily : token;
        const other = () => (rand(8) === 0 ? old : tokens[(tokens.indexOf(old) + 1 + rand(7)) % tokens.length]!);
        const next = other();
        // an id of its own mostly, else one of the few the others use (a conflict while held)
        const newId = rand(3) === 0 ? id : `rot-${i}`;
        const ttl = rand(4) * 60_000;
        ops.push([
          `rotate ${old} ${next} ${newId} +${ttl}`,
          (s) => s.rotate(old, next, { id: newId, expiresAt: new Date(t + ttl) }),
        ]);
        // sometimes replayed at once: a reuse when the rotation succeeded
        const again = other();
        if (rand(3) > 0)
          ops.push([`rotate ${old} ${again} rot-${i}-again`, (s) => s.rotate(old, again, { id: `rot-${i}-again` })]);
      } else if (k === 17 && rand(2) === 0) {
        const family = (["refresh", true] as const)[rand(2)]!;
        const f = `fam-${Math.floor(i / 80)}-${rand(2)}`;
        if (rand(3) === 0) ops.push([`revokeFamily ${f}`, (s) => s.revokeFamily(f)]);
        else ops.push([`revoke ${token} family ${family}`, (s) => s.revoke(token, { family })]);
      } else if (rand(4) === 0) ops.push([`revokeSubject ${subject}`, (s) => s.revokeSubject(subject)]);
      else ops.push(["tick 30s", async () => undefined]);
    }
    const failures: string[] = [];
    const seen = new Set<string>();
    for (const [i, [label, op]] of ops.entries()) {
      if (label.startsWith("tick")) {
        t += 30_000;
        continue;
      }
      const [m, d] = [await outcome(op(memory)), await outcome(op(redis))];
      seen.add(`${label.split(" ")[0]}:${(m as { err?: string }).err ?? "ok"}`);
      if (JSON.stringify(m) !== JSON.stringify(d))
        failures.push(`#${i} ${label}: memory ${JSON.stringify(m)} redis ${JSON.stringify(d)}`);
    }
    expect(failures).toEqual([]);
    // the sequence reached success and every outcome a caller branches on, so agreeing means something
    const codes = new Set([...seen].map((x) => x.split(":")[1]));
    expect([...codes].sort()).toEqual([
      "id_conflict",
      "invalid_metadata",
      "ok",
      "token_expired",
      "token_not_found",
      "token_reused",
      "token_revoked",
    ]);
    // rotations that succeeded, were reuses, and were refused as get refuses
    expect([...seen].filter((x) => x.startsWith("rotate:")).sort()).toEqual(
      expect.arrayContaining(["rotate:ok", "rotate:token_reused", "rotate:token_revoked", "rotate:token_not_found"]),
    );
    await memory.close();
    await redis.close();
  });
}
