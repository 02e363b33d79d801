/**
 * Token families through the verdict cache, over two real stores (memory, and Redis through the
 * project's endpoint): a rotation or a family revocation made through one isolate is seen at
 * once there, a reuse (which names no family) within the bound there, and all of them within the
 * bound by the others' cached live verdicts, opaque and JWT, with and without the data-center tier. Time moves through an injected clock, never sleeps.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  familyProblem,
  StorageError,
  withVerdictCache,
  type FeedStore,
  type GetHints,
  type JwtClaims,
  type VerdictCache,
} from "../../../src/store/index.js";
import type { UpstashEndpoint } from "../../support/upstash-endpoint.js";
import { startEndpoint } from "../../support/redis.js";
import { MemoryCache } from "../../support/shared-cache.js";
import { sentinel } from "../../support/outcome.js";
import { isolateBackends, type IsolateBackend } from "../../support/backends.js";

const BOUND = 1000;
let endpoint: UpstashEndpoint;
beforeAll(async () => {
  endpoint = await startEndpoint();
});
afterAll(async () => endpoint.close());

type Backend = IsolateBackend;
const BACKENDS = isolateBackends(() => endpoint, "families");

const tok = () => `fam-${crypto.randomUUID()}`;
interface Jwt {
  token: string;
  claims: JwtClaims;
}
/** A token to check: opaque (`get`) or a JWT the store never saw (`checkJwt`). */
type Credential = string | Jwt;

function world(backend: Backend, tiered = false) {
  const clock = { t: Date.UTC(2026, 11, 12, 12) };
  const storeFor = backend(clock);
  const tier = tiered ? new MemoryCache() : undefined;
  const pending: Promise<unknown>[] = [];
  const hints: GetHints = { waitUntil: (p) => void pending.push(p) };
  const w = {
    clock,
    /** The backend as one more client sees it, without a cache. */
    store: storeFor,
    /** One more isolate: its own cache (and, on Redis, its own client); with the tier, the tier's exact times. */
    isolate: (): VerdictCache =>
      withVerdictCache(storeFor(), {
        maxStalenessMs: BOUND,
        now: () => clock.t,
        ...(tier && {
          shared: tier,
          sharedSecret: "families-test",
          sharedTimeoutMs: 5_000,
          sharedClockSkewMs: 0,
        }),
      }),
    check: (cache: VerdictCache, c: Credential) =>
      sentinel(typeof c === "string" ? cache.get(c, hints) : cache.checkJwt(c.token, c.claims, hints)),
    jwt: (family: string): Jwt => ({
      token: `eyJhbGciOiJFUzI1NiJ9.eyJ9.${crypto.randomUUID()}`,
      claims: {
        subject: `jwt-${family}`,
        family,
        issuedAt: new Date(clock.t - 1000),
        expiresAt: new Date(clock.t + 3_600_000),
      },
    }),
    /** A family stored through `cache`: a refresh token, an access token minted from it, and a JWT of it. */
    family: async (cache: VerdictCache, family: string) => {
      const [refresh, access] = [tok(), tok()];
      await cache.store(refresh, { id: `r-${refresh}`, subject: "fam-s", family, type: "refresh_token" });
      await cache.store(access, { id: `a-${access}`, subject: "fam-s", family, type: "access_token" });
      return { refresh, access, jwt: w.jwt(family) };
    },
    /** Past the bound, `cache` syncs through a miss on another token: then it serves from its verdicts alone. */
    sync: async (cache: VerdictCache) => {
      clock.t += BOUND;
      const misses = cache.stats().misses;
      expect(await sentinel(cache.get(tok(), hints))).toBe("token_not_found");
      expect(cache.stats().misses).toBe(misses + 1);
    },
    /** Checks every credential, and whether each was a hit (no round trip). */
    all: async (cache: VerdictCache, credentials: Credential[]) => {
      const out: string[] = [];
      for (const c of credentials) {
        const misses = cache.stats().misses;
        const got = await w.check(cache, c);
        out.push(cache.stats().misses === misses ? `${got} (hit)` : got);
      }
      return out;
    },
    flush: async () => {
      while (pending.length > 0) await Promise.all(pending.splice(0));
    },
  };
  return w;
}

for (const [name, backend] of BACKENDS) {
  describe(`token families across isolates (${name})`, () => {
    it("refuses a revoked family's cached live tokens, opaque and JWT, at once here and on another isolate within the bound", async () => {
      const w = world(backend);
      const [a, b] = [w.isolate(), w.isolate()];
      await a.revokeKey("feed-begins"); // an empty Redis feed has no epoch yet
      const x = await w.family(a, "fam-x");
      const y = await w.family(a, "fam-y");
      const revoked = [x.refresh, x.access, x.jwt];
      const kept = [y.refresh, y.access, y.jwt];
      for (const cache of [a, b]) {
        await w.all(cache, [...revoked, ...kept]);
        expect(await w.all(cache, [...revoked, ...kept])).toEqual(Array(6).fill("live (hit)"));
      }
      await a.revokeFamily("fam-x");
      // the clock does not move: no sync can help A; its own write dropped the family's verdicts
      expect(await w.all(a, revoked)).toEqual(Array(3).fill("token_revoked"));
      expect(await w.all(a, kept)).toEqual(Array(3).fill("live (hit)"));
      await w.sync(b);
      expect(await w.all(b, kept)).toEqual(Array(3).fill("live (hit)")); // untouched by the family's event
      expect(await w.all(b, revoked)).toEqual(Array(3).fill("token_revoked"));
    });

    it("refuses a rotated token at once here and within the bound elsewhere, and serves its successor live", async () => {
      const w = world(backend);
      const [a, b] = [w.isolate(), w.isolate()];
      await a.revokeKey("feed-begins");
      const { refresh } = await w.family(a, "fam-rot");
      const next = tok();
      expect(await w.all(a, [refresh, next])).toEqual(["live", "token_not_found"]);
      expect(await w.all(b, [refresh])).toEqual(["live"]);
      const md = await a.rotate(refresh, next, { id: `r-${next}`, subject: "fam-s", type: "refresh_token" });
      expect(md).toMatchObject({ subject: "fam-s", family: "fam-rot" });
      // the clock does not move: A's cached live and unknown verdicts for the two tokens went with its write
      expect(await w.all(a, [refresh, next])).toEqual(["token_revoked", "live"]);
      await w.sync(b);
      expect(await w.all(b, [refresh, next])).toEqual(["token_revoked", "live"]);
    });

    it("on a reuse, refuses the family within the bound on every isolate, the one that saw it included: successor, access tokens, JWTs", async () => {
      const w = world(backend);
      const [a, b] = [w.isolate(), w.isolate()];
      await a.revokeKey("feed-begins");
      const x = await w.family(a, "fam-reuse");
      const other = await w.family(a, "fam-bystander");
      const next = tok();
      await a.rotate(x.refresh, next, { id: `r-${next}`, subject: "fam-s" });
      const family = [next, x.access, x.jwt];
      const kept = [other.refresh, other.jwt];
      for (const cache of [a, b]) {
        await w.all(cache, [...family, ...kept]);
        expect(await w.all(cache, [...family, ...kept])).toEqual(Array(5).fill("live (hit)"));
      }
      // the old refresh token presented again: a reuse
      const again = tok();
      expect(await sentinel(a.rotate(x.refresh, again, { id: `r-${again}`, subject: "fam-s" }))).toBe("token_reused");
      // the reuse names no family: A learns which from the feed, as B does, within the bound
      expect(await w.check(a, again)).toBe("token_not_found");
      await w.sync(a);
      expect(await w.all(a, family)).toEqual(Array(3).fill("token_revoked"));
      expect(await w.all(a, kept)).toEqual(Array(2).fill("live (hit)"));
      await w.sync(b);
      expect(await w.all(b, kept)).toEqual(Array(2).fill("live (hit)"));
      expect(await w.all(b, family)).toEqual(Array(3).fill("token_revoked"));
    });

    it("on revoke's family option, drops the token here at once and its family within the bound, when the store revokes it", async () => {
      const w = world(backend);
      const a = w.isolate();
      await a.revokeKey("feed-begins");
      const x = await w.family(a, "fam-opt");
      const y = await w.family(a, "fam-opt-true");
      const z = await w.family(a, "fam-opt-other");
      await w.all(a, [x.refresh, x.access, x.jwt, y.refresh, y.access, y.jwt, z.access]);
      // an access token with "refresh": the store leaves its family live
      await a.revoke(x.access, { family: "refresh" });
      expect(await w.all(a, [x.access, x.refresh, x.jwt])).toEqual(["token_revoked", "live (hit)", "live (hit)"]);
      // its refresh token: the token goes here at once; the family's event arrives with the next sync
      await a.revoke(x.refresh, { family: "refresh" });
      expect(await w.all(a, [x.refresh])).toEqual(["token_revoked"]);
      await w.sync(a);
      expect(await w.all(a, [x.jwt])).toEqual(["token_revoked"]);
      // `true`, on any token of a family
      await a.revoke(y.access, { family: true });
      await w.sync(a);
      expect(await w.all(a, [y.refresh, y.jwt, z.access])).toEqual(["token_revoked", "token_revoked", "live (hit)"]);
    });

    it("answers rotate's refusals as the store does, the cache's own hashing aside", async () => {
      const w = world(backend);
      const [a, inner] = [w.isolate(), w.store()];
      const { refresh } = await w.family(a, "fam-err");
      const plain = tok();
      await a.store(plain, { id: `p-${plain}`, subject: "fam-s" });
      const cases: [string, string, string][] = [
        [tok(), "", "unknown old token, empty new token"],
        ["", tok(), "empty old token"],
        [tok(), tok(), "unknown old token"],
        [refresh, refresh, "the same token"],
        [refresh, "\ud800", "a lone surrogate for the new token"],
        [plain, tok(), "no family"],
      ];
      for (const [from, to, what] of cases) {
        const md = { id: `n-${crypto.randomUUID()}`, subject: "fam-s" };
        const expected = await inner.rotate(from, to, md).then(
          () => "live",
          (e: StorageError) => `${e.err.code} ${e.op}`,
        );
        const got = await a.rotate(from, to, md).then(
          () => "live",
          (e: StorageError) => `${e.err.code} ${e.op}`,
        );
        expect(got, what).toBe(expected);
        expect(got, what).not.toBe("live");
      }
    });

    it("takes any value for a family revocation without throwing anything but a StorageError, and leaves other families served", async () => {
      const w = world(backend);
      const a = w.isolate();
      await a.revokeKey("feed-begins");
      const kept = await w.family(a, "fam-kept");
      await w.all(a, [kept.access, kept.jwt]);
      const hostile = fc.oneof(
        fc.string({ unit: "binary", maxLength: 20 }),
        fc.constantFrom("", "\ud800", "a\u0000b", "\u202e", "x".repeat(257), " ", "fam\u200bkept"),
      );
      await fc.assert(
        fc.asyncProperty(hostile, async (family) => {
          fc.pre(family !== "fam-kept");
          const got = await sentinel(a.revokeFamily(family));
          expect(got, JSON.stringify(family)).toBe(familyProblem(family) === undefined ? "live" : "invalid_metadata");
          expect(await w.all(a, [kept.access, kept.jwt])).toEqual(["live (hit)", "live (hit)"]);
        }),
        { numRuns: name === "redis" ? 30 : 200 },
      );
    });
  });

  describe(`token families through the data-center tier (${name})`, () => {
    it("keeps a shared verdict's family: a family revocation reaches a verdict another isolate took from the tier", async () => {
      const w = world(backend, true);
      const [a, b] = [w.isolate(), w.isolate()];
      await a.revokeKey("feed-begins");
      const x = await w.family(a, "fam-shared");
      await w.all(a, [x.access, x.jwt]);
      await w.flush();
      expect(await w.all(b, [x.access, x.jwt])).toEqual(["live (hit)", "live (hit)"]); // from the tier
      expect(b.stats()).toMatchObject({ sharedHits: 2, misses: 0 });
      await w.isolate().revokeFamily("fam-shared"); // a third isolate: no local write on A or B
      await w.sync(b);
      expect(await w.all(b, [x.access, x.jwt])).toEqual(["token_revoked", "token_revoked"]);
    });

    it("refuses a shared live verdict whose family this isolate saw revoked after the entry's position", async () => {
      const w = world(backend, true);
      const [a, b] = [w.isolate(), w.isolate()];
      await a.revokeKey("feed-begins");
      const x = await w.family(a, "fam-after");
      await w.all(a, [x.access, x.jwt]);
      await w.flush(); // the tier holds both live
      await w.isolate().revokeFamily("fam-after");
      expect(await w.check(b, tok())).toBe("token_not_found"); // B's miss carries the feed: B applies the family's event
      const stale = b.stats().sharedStale;
      expect(await w.all(b, [x.access, x.jwt])).toEqual(["token_revoked", "token_revoked"]);
      expect(b.stats().sharedStale).toBe(stale + 2);
    });

    for (const how of ["revokeFamily", "reuse"] as const) {
      const when = how === "revokeFamily" ? "at once" : "within the bound";
      it(`sees a family revoked through this isolate (${how}) ${when}, whatever the tier holds`, async () => {
        const w = world(backend, true);
        const [a, b] = [w.isolate(), w.isolate()];
        await a.revokeKey("feed-begins");
        const x = await w.family(a, `fam-local-${how}`);
        const next = tok();
        await a.rotate(x.refresh, next, { id: `r-${next}`, subject: "fam-s" });
        await w.all(a, [next, x.access, x.jwt]);
        expect(await w.check(b, tok())).toBe("token_not_found"); // B's cursor is past the entries' positions
        await w.flush();
        // the clock does not move: B's feed cannot know of its own write yet
        if (how === "revokeFamily") await b.revokeFamily(`fam-local-${how}`);
        else expect(await sentinel(b.rotate(x.refresh, tok(), { id: tok(), subject: "fam-s" }))).toBe("token_reused");
        // a reuse names no family: B learns which from the feed, past the bound
        if (how === "reuse") await w.sync(b);
        expect(await w.all(b, [next, x.access, x.jwt])).toEqual(Array(3).fill("token_revoked"));
        if (how === "revokeFamily") expect(b.stats().sharedStale).toBe(3);
      });
    }
  });
}
