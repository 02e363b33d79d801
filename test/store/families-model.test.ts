/**
 * Token families against a reference model, on both backends: random sequences of store (in a
 * few families), rotate (of fresh, retired and unknown tokens, and replays of the latest
 * rotation's old token), revoke (with and without its
 * family), revokeFamily, delete, cleanup and clock moves. After every step the backend's answer
 * to the step, to `get` for every token and to `checkJwt` for a JWT of every family must be the
 * model's. The model is a few Maps and the rules of docs/library.md, written out plainly.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MemoryTokenStore,
  REFRESH_TYPES,
  RedisTokenStore,
  StorageError,
  type StoredTokenMetadata,
  type TokenStore,
} from "../../src/index.js";
import type { UpstashEndpoint } from "../support/upstash-endpoint.js";
import { ENDPOINT_TOKEN, startEndpoint, TEST_TIMEOUT_MS, uniquePrefix } from "../support/redis.js";

const TOKENS = 5;
const FAMILIES = ["grant-a", "grant-b"];
const SUBJECT = "model-sub";
/** What every raw token here begins with: no error may show it. */
const RAW = "raw-model-token-";

const op = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("store" as const),
      t: fc.nat(TOKENS - 1),
      f: fc.option(fc.nat(FAMILIES.length - 1), { freq: 4, nil: undefined }),
      refresh: fc.boolean(),
      ttl: fc.constantFrom(10_000, 60_000, 180_000),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("rotate" as const),
      from: fc.nat(TOKENS - 1),
      to: fc.nat(TOKENS - 1),
      ttl: fc.constantFrom(10_000, 60_000, 180_000),
    }),
    weight: 5,
  },
  {
    // the old token of the latest rotation presented again: a retry or a reuse
    arbitrary: fc.record({
      kind: fc.constant("replay" as const),
      to: fc.nat(TOKENS - 1),
      ttl: fc.constantFrom(10_000, 60_000),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("revoke" as const),
      t: fc.nat(TOKENS - 1),
      family: fc.constantFrom(undefined, true, "refresh" as const),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("revokeFamily" as const), f: fc.nat(FAMILIES.length - 1) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("delete" as const), t: fc.nat(TOKENS - 1) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("cleanup" as const) }), weight: 1 },
  {
    // the grace's edges (5 s), and past the shorter lifetimes
    arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: fc.constantFrom(1, 1_000, 4_999, 5_000, 30_000) }),
    weight: 3,
  },
);
type Drawn = typeof op extends fc.Arbitrary<infer T> ? T : never;
type Op = Exclude<Drawn, { kind: "replay" }>;
const scenario = fc.record({
  reuseGraceMs: fc.constantFrom(0, 5_000),
  ops: fc.array(op, { minLength: 5, maxLength: 30 }),
});

interface Rec {
  id: string;
  family?: string;
  type: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt?: number;
  rotatedAt?: number;
}

/** Runs first, before the random ones: a rotation meets each answer the model knows. */
const EXAMPLE: { reuseGraceMs: number; ops: Drawn[] } = {
  reuseGraceMs: 5_000,
  ops: [
    { kind: "store", t: 0, f: 0, refresh: true, ttl: 60_000 },
    { kind: "rotate", from: 0, to: 0, ttl: 60_000 }, // the new token is the old one
    { kind: "rotate", from: 3, to: 1, ttl: 60_000 }, // unknown
    { kind: "rotate", from: 0, to: 1, ttl: 60_000 }, // ok
    { kind: "replay", to: 2, ttl: 60_000 }, // within the grace
    { kind: "tick", ms: 5_000 },
    { kind: "replay", to: 2, ttl: 60_000 }, // a reuse: grant-a is revoked
    { kind: "rotate", from: 1, to: 2, ttl: 60_000 }, // revoked with its family
    { kind: "store", t: 3, f: 1, refresh: true, ttl: 10_000 },
    { kind: "store", t: 4, f: undefined, refresh: true, ttl: 60_000 },
    { kind: "rotate", from: 4, to: 2, ttl: 60_000 }, // no family
    { kind: "tick", ms: 30_000 },
    { kind: "rotate", from: 3, to: 2, ttl: 60_000 }, // expired
    { kind: "cleanup" },
  ],
};

/** What a call must answer: "ok", or the code of the StorageError's sentinel. */
type Answer = string;

/**
 * The reference: each token's record, each revoked family. A family's mark lasts
 * maxTokenLifetime (30 days), far past any run here, so it never lapses.
 */
class Model {
  readonly tokens = new Map<number, Rec>();
  readonly marks = new Set<string>();
  t = Date.UTC(2026, 11, 24, 9);
  /** The old token of the latest rotation asked for, which a replay presents again. */
  lastFrom = 0;
  constructor(readonly grace: number) {}

  /** A replay as the rotation it is. */
  resolve(o: Drawn): Op {
    return o.kind === "replay" ? { kind: "rotate", from: this.lastFrom, to: o.to, ttl: o.ttl } : o;
  }

  private covered(r: Rec): boolean {
    return r.family !== undefined && this.marks.has(r.family);
  }

  get(i: number): Answer {
    const r = this.tokens.get(i);
    if (r === undefined) return "token_not_found";
    if (this.t > r.expiresAt) return "token_expired";
    if (r.revokedAt !== undefined || this.covered(r)) return "token_revoked";
    return "ok";
  }

  jwt(family: string): Answer {
    return this.marks.has(family) ? "token_revoked" : "ok";
  }

  /** store's rules, for `store` and the new token of `rotate`. */
  put(i: number, rec: Rec): Answer {
    const prev = this.tokens.get(i);
    if (prev !== undefined && (prev.revokedAt !== undefined || this.covered(prev))) return "token_revoked";
    if (this.covered(rec)) return "token_revoked";
    this.tokens.set(i, rec);
    return "ok";
  }

  step(o: Op): Answer {
    const now = this.t;
    switch (o.kind) {
      case "store": {
        const family = o.f === undefined ? undefined : FAMILIES[o.f];
        const type = o.refresh ? "refresh_token" : "access_token";
        return this.put(o.t, { id: `id-${o.t}`, family, type, issuedAt: now, expiresAt: now + o.ttl });
      }
      case "rotate": {
        this.lastFrom = o.from;
        if (o.from === o.to) return "invalid_metadata";
        const old = this.tokens.get(o.from);
        if (old === undefined) return "token_not_found";
        if (now > old.expiresAt) return "token_expired";
        if (old.rotatedAt !== undefined) {
          if (now - old.rotatedAt < this.grace) return "token_rotated";
          this.marks.add(old.family!);
          return "token_reused";
        }
        if (old.revokedAt !== undefined || this.covered(old)) return "token_revoked";
        if (old.family === undefined) return "invalid_metadata";
        const rec = {
          id: `id-${o.to}`,
          family: old.family,
          type: "refresh_token",
          issuedAt: now,
          expiresAt: now + o.ttl,
        };
        const put = this.put(o.to, rec);
        if (put !== "ok") return put;
        old.revokedAt = now;
        old.rotatedAt = now;
        return "ok";
      }
      case "revoke": {
        const r = this.tokens.get(o.t);
        if (r === undefined) return "token_not_found";
        r.revokedAt ??= now;
        const withFamily = o.family === true || (o.family === "refresh" && REFRESH_TYPES.includes(r.type));
        if (withFamily && r.family !== undefined) this.marks.add(r.family);
        return "ok";
      }
      case "revokeFamily":
        this.marks.add(FAMILIES[o.f]!);
        return "ok";
      case "delete":
        return this.tokens.delete(o.t) ? "ok" : "token_not_found";
      case "cleanup": {
        let removed = 0;
        for (const [i, r] of this.tokens) {
          if (now > r.expiresAt) {
            this.tokens.delete(i);
            removed++;
          }
        }
        return `removed ${removed}`;
      }
      case "tick":
        this.t += o.ms;
        return "ok";
    }
  }
}

/** The backend's answer to `o`, in the model's terms. */
async function apply(store: TokenStore, model: Model, o: Op, token: (i: number) => string): Promise<Answer> {
  const now = model.t;
  const answer = async (p: Promise<unknown>): Promise<Answer> => {
    try {
      const got = await p;
      if (o.kind === "cleanup") return `removed ${(got as { removed: number }).removed}`;
      if (o.kind === "rotate") {
        // the new token's metadata: its own id, type and expiry, the old one's subject and family
        const md = got as StoredTokenMetadata;
        const old = model.tokens.get(o.from)!;
        expect(md).toEqual({
          id: `id-${o.to}`,
          subject: SUBJECT,
          family: old.family,
          type: "refresh_token",
          issuedAt: new Date(now),
          expiresAt: new Date(now + o.ttl),
        });
      }
      return "ok";
    } catch (e) {
      if (!(e instanceof StorageError)) throw e;
      expect(JSON.stringify([e.message, e.key, e.stack])).not.toContain(RAW);
      return e.err.code;
    }
  };
  switch (o.kind) {
    case "store": {
      const family = o.f === undefined ? undefined : FAMILIES[o.f];
      const type = o.refresh ? "refresh_token" : "access_token";
      return answer(
        store.store(token(o.t), { id: `id-${o.t}`, subject: SUBJECT, family, type, expiresAt: new Date(now + o.ttl) }),
      );
    }
    case "rotate":
      return answer(
        store.rotate(token(o.from), token(o.to), {
          id: `id-${o.to}`,
          type: "refresh_token",
          expiresAt: new Date(now + o.ttl),
        }),
      );
    case "revoke":
      return answer(store.revoke(token(o.t), { family: o.family }));
    case "revokeFamily":
      return answer(store.revokeFamily(FAMILIES[o.f]!));
    case "delete":
      return answer(store.delete(token(o.t)));
    case "cleanup":
      return answer(store.cleanup());
    case "tick":
      return "ok"; // the model moves the clock both share
  }
}

const code = (p: Promise<unknown>): Promise<Answer> =>
  p.then(
    () => "ok",
    (e: unknown) => {
      if (!(e instanceof StorageError)) throw e;
      return e.err.code;
    },
  );

let endpoint: UpstashEndpoint;
beforeAll(async () => {
  endpoint = await startEndpoint();
});
afterAll(() => endpoint.close());

type Open = (now: () => number, reuseGraceMs: number) => TokenStore;
const BACKENDS: [string, Open, number][] = [
  ["memory", (now, reuseGraceMs) => new MemoryTokenStore({ now, reuseGraceMs }), 300],
  [
    "redis",
    (now, reuseGraceMs) =>
      new RedisTokenStore({
        url: endpoint.url,
        token: ENDPOINT_TOKEN,
        keyPrefix: uniquePrefix("families-model"),
        now,
        reuseGraceMs,
        timeoutMs: TEST_TIMEOUT_MS,
      }),
    40,
  ],
];

describe("token families against a reference model", () => {
  for (const [name, open, numRuns] of BACKENDS) {
    it(`${name}: answers every step, every token's get and every family's JWT check as the model does`, async () => {
      /** Every answer the model gave a rotation, over all runs: the runs must reach each kind. */
      const rotations = new Set<Answer>();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(scenario, async ({ reuseGraceMs, ops }) => {
          const model = new Model(reuseGraceMs);
          const store = open(() => model.t, reuseGraceMs);
          const tag = `${++run}-${Math.random().toString(36).slice(2, 8)}`;
          const token = (i: number) => `${RAW}${tag}-${i}`;
          try {
            for (const [n, drawn] of ops.entries()) {
              const o = model.resolve(drawn);
              const got = await apply(store, model, o, token);
              const want = model.step(o);
              if (o.kind === "rotate") rotations.add(want);
              const where = `step ${n} ${JSON.stringify(o)}`;
              expect(got, where).toBe(want);
              for (let i = 0; i < TOKENS; i++)
                expect(await code(store.get(token(i))), `${where}: get ${i}`).toBe(model.get(i));
              for (const family of FAMILIES) {
                const claims = {
                  subject: SUBJECT,
                  issuedAt: new Date(model.t - 1000),
                  expiresAt: new Date(model.t + 60_000),
                  family,
                };
                const jwt = `eyJhbGciOiJFUzI1NiJ9.e30.${tag}-${n}-${family}`;
                expect(await code(store.checkJwt(jwt, claims)), `${where}: JWT of ${family}`).toBe(model.jwt(family));
              }
            }
          } finally {
            await store.close();
          }
        }),
        { numRuns, examples: [[EXAMPLE]] },
      );
      // the runs reached success, reuse, the grace's refusal and each refusal of a bad old token
      // (EXAMPLE reaches each; the random runs must agree with the model wherever they go)
      expect([...rotations].sort()).toEqual([
        "invalid_metadata",
        "ok",
        "token_expired",
        "token_not_found",
        "token_reused",
        "token_revoked",
        "token_rotated",
      ]);
    }, 60_000);
  }
});
