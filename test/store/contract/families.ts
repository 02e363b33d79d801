import { createHash, createHmac } from "node:crypto";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ErrClientMismatch,
  ErrIDConflict,
  ErrInvalidMetadata,
  ErrStoreUnavailable,
  ErrTokenExpired,
  ErrTokenNotFound,
  ErrTokenReused,
  ErrTokenRevoked,
  ErrTokenRotated,
  LIMITS,
  StorageError,
  type JwtClaims,
  type StoreSentinel,
  type TokenMetadata,
} from "../../../src/index.js";
import { DENY_GRACE_MS, type ChangeEvent, type FeedCursor, type FeedStore } from "../../../src/store/index.js";
import type { FeedStoreFactory } from "./feed.js";
import type { ContractHarness, ContractOptions } from "./token-store.js";
import { expectRejection } from "./rejection.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const sha = (raw: string) => createHash("sha256").update(raw).digest("hex");
const fp = (raw: string) => sha(raw).slice(0, 12);

/**
 * Family values no store may accept (TokenMetadata.family follows the subject's rules): not a
 * string, empty, too long, ill-formed, or holding a character that is invisible or hides or
 * reorders text. `null` means "no family" in store's metadata, as for every optional field.
 */
export const hostileFamily: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(5, true, {}, ["f"], "", ".", "..", "f".repeat(LIMITS.field + 1)),
  fc
    .tuple(
      fc.string({ maxLength: 8 }),
      fc.constantFrom(
        "\ud800", // lone high surrogate
        "\udfff", // lone low surrogate
        "\u0000",
        "\u001b",
        "\u007f",
        "\u0085",
        "\u202e", // right-to-left override
        "\u2066",
        "\u200f",
        "\u200b",
        "\u2060",
        "\ufeff",
        "\u00ad",
        "\u2028",
        "\u00a0",
        "\ufffe",
        "\u{e0041}",
      ),
      fc.string({ maxLength: 8 }),
    )
    .map(([a, bad, b]) => `${a}${bad}${b}`),
  fc.string({ minLength: LIMITS.field + 1, maxLength: LIMITS.field + 40 }),
);

/**
 * Token families (issue 24) on every backend: rotation with reuse detection (RFC 9700 §4.14.2),
 * family revocation reaching stored tokens and JWTs, revoke with its family (RFC 7009 §2.1).
 */
export function familiesContract(name: string, factory: FeedStoreFactory): void {
  describe(`${name}: token families`, () => {
    const T0 = Math.floor(Date.now() / 1000) * 1000;
    let t = T0;
    const now = () => t;
    const made: ContractHarness[] = [];
    let h: ContractHarness & { store: FeedStore };
    let store: FeedStore;
    let n = 0;
    /** Every raw token handed to a store, so no error may name one. */
    const raws: string[] = [];
    const tok = () => {
      const raw = `raw-family-token-${++n}-${Math.random().toString(36).slice(2)}`;
      raws.push(raw);
      return raw;
    };
    const fam = () => `fam-${++n}-${Math.random().toString(36).slice(2, 8)}`;
    const meta = (o: Partial<TokenMetadata> = {}): TokenMetadata => ({
      id: `id-${++n}`,
      subject: "fam-alice",
      expiresAt: new Date(t + HOUR),
      ...o,
    });
    const jwt = () => `eyJhbGciOiJFUzI1NiJ9.eyJzaWQiOiJ4In0.sig-${tok()}`;
    const claims = (o: Partial<JwtClaims> = {}): JwtClaims => ({
      subject: "fam-alice",
      issuedAt: new Date(t - 1000),
      expiresAt: new Date(t + HOUR),
      id: `jti-${++n}`,
      ...o,
    });
    const make = async (o: Partial<ContractOptions> = {}) => {
      const x = await factory({ now, ...o });
      made.push(x);
      return x.store;
    };
    beforeEach(async () => {
      t = T0;
      h = await factory({ now });
      made.push(h);
      store = h.store;
    });
    afterEach(async () => {
      for (const x of made.splice(0)) {
        await x.store.close();
        await x.dispose?.();
      }
    });

    const rejects = (p: Promise<unknown>, err: StoreSentinel, op: string) => expectRejection(p, err, op, raws);
    /** The sentinel a call rejects with, or "ok". */
    const code = (p: Promise<unknown>): Promise<StoreSentinel | "ok"> =>
      p.then(
        () => "ok",
        (e: unknown) => {
          expect(e).toBeInstanceOf(StorageError);
          return (e as StorageError).err;
        },
      );
    /** Starts the feed (an empty Redis feed has no epoch yet) and answers where it stands. */
    const feedStart = async (s: FeedStore = store): Promise<FeedCursor> => {
      await s.revokeKey(`feed-start-${++n}`);
      return (await s.changes()).cursor;
    };
    const eventsSince = async (since: FeedCursor, s: FeedStore = store): Promise<ChangeEvent[]> =>
      (await s.changes(since)).events;

    /** Stores a refresh token of a new family: its raw token, family and stored metadata. */
    async function refreshToken(o: Partial<TokenMetadata> = {}) {
      const family = o.family ?? fam();
      const raw = tok();
      const md = await store.store(raw, meta({ type: "refresh_token", clientId: "app-1", ...o, family }));
      return { raw, family, md };
    }

    describe("rotate", () => {
      it("retires each token of a chain A → B → C: old ones refused as revoked, the newest live, inheriting subject, family and client", async () => {
        const { raw: a, family, md: aMd } = await refreshToken({ keyId: "k-a", status: "first" });
        const [b, c] = [tok(), tok()];
        const bMd = await store.rotate(a, b, { id: "chain-b", type: "refresh_token" });
        expect(bMd).toEqual({
          id: "chain-b",
          subject: "fam-alice",
          family,
          clientId: "app-1",
          type: "refresh_token",
          issuedAt: new Date(t),
          expiresAt: new Date(t + 24 * HOUR),
        });
        expect(await store.get(b)).toEqual(bMd);
        await rejects(store.get(a), ErrTokenRevoked, "get");
        await rejects(store.getById(aMd.id), ErrTokenRevoked, "getById");
        expect(await store.isRevoked(a)).toBe(true);
        expect(await store.inspect(a)).toEqual({
          state: "revoked",
          metadata: aMd,
          revokedAt: new Date(t),
          revokedBy: "token",
        });
        t += 1000;
        // values given for the inherited fields are accepted when they are the old token's
        const cMd = await store.rotate(b, c, {
          id: "chain-c",
          subject: "fam-alice",
          family,
          clientId: "app-1",
          expiresAt: new Date(t + HOUR),
        });
        expect(cMd).toEqual({
          id: "chain-c",
          subject: "fam-alice",
          family,
          clientId: "app-1",
          issuedAt: new Date(t),
          expiresAt: new Date(t + HOUR),
        });
        expect(await store.get(c)).toEqual(cMd);
        await rejects(store.get(b), ErrTokenRevoked, "get");
        await rejects(store.get(a), ErrTokenRevoked, "get");
        expect((await store.list("fam-alice")).map((m) => m.id)).toEqual(["chain-c"]);
        expect(await store.inspect(b)).toMatchObject({ state: "revoked", revokedAt: new Date(t), revokedBy: "token" });
      });

      it("appends one feed change per rotation: the retired token's hash", async () => {
        const { raw: a } = await refreshToken();
        const b = tok();
        const start = await feedStart();
        await store.rotate(a, b, { id: `feed-${++n}` });
        expect(await eventsSince(start)).toEqual([{ type: "token", hash: sha(a) }]);
      });

      it("refuses metadata that differs from the old token's subject, family or client, changing nothing", async () => {
        const { raw: a, family, md } = await refreshToken();
        const b = tok();
        for (const given of [{ subject: "fam-bob" }, { family: `${family}-x` }, { clientId: "app-2" }]) {
          const e = await rejects(store.rotate(a, b, meta(given)), ErrInvalidMetadata, "rotate");
          expect(e.key).toBe(fp(b));
        }
        // the old token has no client: naming one is a mismatch too
        const { raw: c } = await refreshToken({ clientId: undefined });
        await rejects(store.rotate(c, b, { id: "x-client", clientId: "app-1" }), ErrInvalidMetadata, "rotate");
        expect(await store.get(a)).toEqual(md);
        await rejects(store.get(b), ErrTokenNotFound, "get");
        expect((await store.rotate(a, b, { id: "after-mismatch" })).family).toBe(family);
      });

      it("refuses a new token equal to the old one, bad metadata, an expiry in the past and a held id, changing nothing", async () => {
        const { raw: a, md } = await refreshToken();
        const other = tok();
        await store.store(other, meta({ id: "held-id" }));
        const b = tok();
        const e = await rejects(store.rotate(a, a, { id: "same" }), ErrInvalidMetadata, "rotate");
        expect(e.key).toBe(fp(a));
        await rejects(store.rotate(a, b, { subject: "fam-alice" } as TokenMetadata), ErrInvalidMetadata, "rotate");
        await rejects(store.rotate(a, b, "nope" as unknown as TokenMetadata), ErrInvalidMetadata, "rotate");
        await rejects(
          store.rotate(a, b, { id: "d", expiresAt: "soon" as unknown as Date }),
          ErrInvalidMetadata,
          "rotate",
        );
        await rejects(store.rotate(a, b, { id: "past", expiresAt: new Date(t) }), ErrTokenExpired, "rotate");
        await rejects(store.rotate(a, `${b}\ud800`, { id: "bad-new" }), ErrInvalidMetadata, "rotate");
        await rejects(store.rotate(`${a}\udc00`, b, { id: "bad-old" }), ErrInvalidMetadata, "rotate");
        await rejects(store.rotate(a, "", { id: "empty-new" }), ErrInvalidMetadata, "rotate");
        expect((await rejects(store.rotate(a, b, { id: "held-id" }), ErrIDConflict, "rotate")).key).toBe(fp(b));
        // the old token's own id: it stays held while the retired token lives, as in store
        await rejects(store.rotate(a, b, { id: md.id }), ErrIDConflict, "rotate");
        expect(await store.get(a)).toEqual(md);
        await rejects(store.get(b), ErrTokenNotFound, "get");
        expect((await store.rotate(a, b, { id: "fine" })).id).toBe("fine");
      });

      it("refuses an old token without a family with ErrInvalidMetadata, changing nothing", async () => {
        const a = tok();
        const md = await store.store(a, meta({ type: "refresh_token" }));
        const b = tok();
        const e = await rejects(store.rotate(a, b, { id: "no-fam" }), ErrInvalidMetadata, "rotate");
        expect(e.key).toBe(fp(a));
        expect(await store.get(a)).toEqual(md);
        await rejects(store.get(b), ErrTokenNotFound, "get");
      });

      it("rejects an unknown, deleted, expired, revoked or covered old token as get does, storing nothing", async () => {
        const cases: [string, () => Promise<string>][] = [
          ["unknown", async () => tok()],
          [
            "deleted",
            async () => {
              const { raw } = await refreshToken();
              await store.delete(raw);
              return raw;
            },
          ],
          [
            "expired",
            async () => {
              const { raw } = await refreshToken({ expiresAt: new Date(t + 1000) });
              t += 1001;
              return raw;
            },
          ],
          [
            "revoked",
            async () => {
              const { raw } = await refreshToken();
              await store.revoke(raw);
              return raw;
            },
          ],
          [
            "under a subject cutoff",
            async () => {
              const { raw } = await refreshToken({ subject: `cut-${++n}` });
              await store.revokeSubject((await store.get(raw)).subject);
              return raw;
            },
          ],
          [
            "under a key revocation",
            async () => {
              const { raw } = await refreshToken({ keyId: `rk-${++n}` });
              await store.revokeKey((await store.get(raw)).keyId!);
              return raw;
            },
          ],
          [
            "in a revoked family",
            async () => {
              const { raw, family } = await refreshToken();
              await store.revokeFamily(family);
              return raw;
            },
          ],
        ];
        for (const [what, setup] of cases) {
          const old = await setup();
          const fresh = tok();
          const got = await store.get(old).then(
            () => expect.unreachable(what),
            (e: StorageError) => e,
          );
          const e = await rejects(store.rotate(old, fresh, { id: `r-${++n}` }), got.err, "rotate");
          expect([e.detail, e.key], what).toEqual([got.detail, fp(old)]);
          expect([ErrTokenNotFound, ErrTokenExpired, ErrTokenRevoked]).toContain(e.err);
          await rejects(store.get(fresh), ErrTokenNotFound, "get");
        }
      });

      it("finds an old token stored under the previous pepper, and keeps its rotation when it moves", async () => {
        const x = await make({ hashKey: "pepper-old" });
        const harness = made.at(-1)!;
        const [a, b, c] = [tok(), tok(), tok()];
        const family = fam();
        await x.store(a, meta({ family }));
        await x.store(c, meta({ family }));
        await x.rotate(a, b, { id: "moved-b" });
        const rotated = await harness.reopen!({ hashKey: "pepper-new", previousHashKeys: ["pepper-old"] });
        // a, retired under the old pepper, is still known as rotated: presenting it is a reuse
        await rejects(rotated.rotate(a, tok(), { id: "moved-reuse" }), ErrTokenReused, "rotate");
        await rejects(rotated.get(b), ErrTokenRevoked, "get");
        await rejects(rotated.rotate(c, tok(), { id: "moved-c" }), ErrTokenRevoked, "rotate");
        const hashes = (await harness.snapshot()).tokens.map((r) => r.hash);
        expect(hashes).toContain(createHmac("sha256", "pepper-new").update(a).digest("hex"));
      });
    });

    describe("reuse", () => {
      for (const depth of [0, 1, 2]) {
        it(`revokes the whole family when the token at depth ${depth} of a chain is presented again`, async () => {
          const family = fam();
          // an access token minted from the grant, stored before the chain moved on
          const access = tok();
          await store.store(access, meta({ family, type: "access_token" }));
          const chain = [tok(), tok(), tok(), tok()];
          await store.store(chain[0]!, meta({ family, type: "refresh_token" }));
          for (let i = 1; i < chain.length; i++) {
            t += 1000;
            await store.rotate(chain[i - 1]!, chain[i]!, { id: `chain-${depth}-${i}-${++n}` });
          }
          const bystander = tok();
          await store.store(bystander, meta({ family: fam() }));
          const newest = chain.at(-1)!;
          expect((await store.get(newest)).family).toBe(family);
          const start = await feedStart();
          t += 1000;
          const at = t;
          const e = await rejects(store.rotate(chain[depth]!, tok(), { id: `thief-${++n}` }), ErrTokenReused, "rotate");
          expect(e.key).toBe(fp(chain[depth]!));
          expect(await eventsSince(start)).toEqual([{ type: "family", family }]);
          // the newest token, the access token and any JWT of the family are refused from now on
          await rejects(store.get(newest), ErrTokenRevoked, "get");
          await rejects(store.get(access), ErrTokenRevoked, "get");
          expect(await store.isRevoked(newest)).toBe(true);
          expect(await store.inspect(newest)).toMatchObject({
            state: "revoked",
            revokedAt: new Date(at),
            revokedBy: "family",
          });
          expect((await store.lookup(sha(newest))).verdict.state).toBe("revoked");
          await rejects(store.checkJwt(jwt(), claims({ family })), ErrTokenRevoked, "checkJwt");
          expect((await store.lookupJwt(sha(jwt()), claims({ family }))).verdict.state).toBe("revoked");
          // the newest token cannot be rotated any more; a token of another family is untouched
          await rejects(store.rotate(newest, tok(), { id: `late-${++n}` }), ErrTokenRevoked, "rotate");
          expect(await code(store.get(bystander))).toBe("ok");
          expect(await code(store.checkJwt(jwt(), claims({ family: `${family}-other` })))).toBe("ok");
          expect(await code(store.checkJwt(jwt(), claims()))).toBe("ok");
          // presenting it again is a reuse again
          await rejects(store.rotate(chain[depth]!, tok(), { id: `thief-${++n}` }), ErrTokenReused, "rotate");
        });
      }

      it("without a grace, a second rotation at the same instant is a reuse", async () => {
        const { raw: a, family } = await refreshToken();
        const b = tok();
        await store.rotate(a, b, { id: `same-ms-${++n}` });
        await rejects(store.rotate(a, tok(), { id: `same-ms-${++n}` }), ErrTokenReused, "rotate");
        await rejects(store.get(b), ErrTokenRevoked, "get");
        await rejects(store.checkJwt(jwt(), claims({ family })), ErrTokenRevoked, "checkJwt");
      });

      it("within reuseGraceMs refuses a second rotation with ErrTokenRotated and leaves the family live; from its end on it is a reuse", async () => {
        const grace = 10_000;
        store = await make({ reuseGraceMs: grace });
        const { raw: a, family } = await refreshToken();
        const b = tok();
        const rotatedAt = t;
        await store.rotate(a, b, { id: `grace-${++n}` });
        const start = await feedStart();
        for (const after of [0, 5_000, grace - 1]) {
          t = rotatedAt + after;
          const retry = tok();
          const e = await rejects(store.rotate(a, retry, { id: `retry-${++n}` }), ErrTokenRotated, "rotate");
          expect(e.key).toBe(fp(a));
          await rejects(store.get(retry), ErrTokenNotFound, "get");
          expect((await store.get(b)).family).toBe(family);
        }
        expect(await eventsSince(start)).toEqual([]); // a refused retry writes nothing
        await rejects(store.get(a), ErrTokenRevoked, "get");
        expect(await code(store.checkJwt(jwt(), claims({ family })))).toBe("ok");
        t = rotatedAt + grace;
        await rejects(store.rotate(a, tok(), { id: `late-${++n}` }), ErrTokenReused, "rotate");
        await rejects(store.get(b), ErrTokenRevoked, "get");
        await rejects(store.checkJwt(jwt(), claims({ family })), ErrTokenRevoked, "checkJwt");
      });

      it("measures the grace both ways: a second use from a clock behind is a reuse without a grace, a retry within one", async () => {
        // no grace: a writer whose clock runs 1 ms behind the one that rotated still detects the reuse
        const { raw: a, family } = await refreshToken();
        const rotatedAt = t;
        await store.rotate(a, tok(), { id: `skew-${++n}` });
        t = rotatedAt - 1;
        await rejects(store.rotate(a, tok(), { id: `skew-${++n}` }), ErrTokenReused, "rotate");
        await rejects(store.checkJwt(jwt(), claims({ family })), ErrTokenRevoked, "checkJwt");
        // with a grace: a retry from a clock behind by less than it is a retry
        t = rotatedAt + 1;
        store = await make({ reuseGraceMs: 10_000 });
        const second = await refreshToken();
        const at = t;
        await store.rotate(second.raw, tok(), { id: `skew-${++n}` });
        t = at - 9_999;
        await rejects(store.rotate(second.raw, tok(), { id: `skew-${++n}` }), ErrTokenRotated, "rotate");
        t = at - 10_000;
        await rejects(store.rotate(second.raw, tok(), { id: `skew-${++n}` }), ErrTokenReused, "rotate");
      });

      it("checks expiry before reuse: an expired retired token is only expired", async () => {
        const { raw: a, family } = await refreshToken({ expiresAt: new Date(t + 1000) });
        const b = tok();
        await store.rotate(a, b, { id: `exp-${++n}` });
        t += 1001;
        await rejects(store.rotate(a, tok(), { id: `exp-${++n}` }), ErrTokenExpired, "rotate");
        expect((await store.get(b)).family).toBe(family);
      });
    });

    describe("revokeFamily", () => {
      it("refuses every token of the family, opaque or JWT, stored or not, whatever its issue time, and no other", async () => {
        const family = fam();
        const [refresh, access, future, otherFam, noFam] = [tok(), tok(), tok(), tok(), tok()];
        const rMd = await store.store(refresh, meta({ family, type: "refresh_token", subject: "fam-rf" }));
        await store.store(access, meta({ family, type: "access_token", subject: "fam-rf" }));
        await store.store(future, meta({ family, issuedAt: new Date(t + 10 * MINUTE), expiresAt: new Date(t + HOUR) }));
        await store.store(otherFam, meta({ family: `${family}-2`, subject: "fam-rf" }));
        await store.store(noFam, meta({ subject: "fam-rf" }));
        const start = await feedStart();
        const at = t;
        await store.revokeFamily(family);
        t += 1000;
        for (const x of [refresh, access, future]) {
          await rejects(store.get(x), ErrTokenRevoked, "get");
          expect(await store.isRevoked(x)).toBe(true);
          expect((await store.lookup(sha(x))).verdict.state).toBe("revoked");
        }
        await rejects(store.getById(rMd.id), ErrTokenRevoked, "getById");
        expect(await store.inspect(refresh)).toEqual({
          state: "revoked",
          metadata: rMd,
          revokedAt: new Date(at),
          revokedBy: "family",
        });
        expect((await store.list("fam-rf")).map((m) => m.family ?? "none").sort()).toEqual([`${family}-2`, "none"]);
        expect(await code(store.get(otherFam))).toBe("ok");
        expect(await code(store.get(noFam))).toBe("ok");
        // JWTs of the family, issued before or after the revocation, the stored ones too
        await rejects(store.checkJwt(jwt(), claims({ family })), ErrTokenRevoked, "checkJwt");
        await rejects(
          store.checkJwt(jwt(), claims({ family, issuedAt: new Date(t + MINUTE) })),
          ErrTokenRevoked,
          "checkJwt",
        );
        expect((await store.lookupJwt(sha(jwt()), claims({ family }))).verdict.state).toBe("revoked");
        expect(await code(store.checkJwt(jwt(), claims({ family: `${family}-2` })))).toBe("ok");
        // a new token of the family cannot be stored while the mark lives
        await rejects(store.store(tok(), meta({ family })), ErrTokenRevoked, "store");
        await rejects(store.rotate(refresh, tok(), { id: `after-${++n}` }), ErrTokenRevoked, "rotate");
        expect(await eventsSince(start)).toEqual([{ type: "family", family }]);
        expect(await store.recentChanges(1)).toEqual([
          expect.objectContaining({ at, event: { type: "family", family } }),
        ]);
      });

      it("is idempotent, a second call restarting the mark; one feed change per call", async () => {
        const { raw, family } = await refreshToken();
        const start = await feedStart();
        await store.revokeFamily(family);
        t += 5000;
        await store.revokeFamily(family);
        await rejects(store.get(raw), ErrTokenRevoked, "get");
        expect(await store.inspect(raw)).toMatchObject({ revokedAt: new Date(t), revokedBy: "family" });
        expect(await eventsSince(start)).toEqual([
          { type: "family", family },
          { type: "family", family },
        ]);
        // an unknown family is revoked all the same: tokens not seen yet are refused
        const unseen = fam();
        await store.revokeFamily(unseen);
        await rejects(store.checkJwt(jwt(), claims({ family: unseen })), ErrTokenRevoked, "checkJwt");
      });

      it("keeps its mark for maxTokenLifetime and a clock margin from the latest call, then the family's new tokens are accepted", async () => {
        const lifetime = 10 * MINUTE;
        // the margin: 5 minutes in memory (DENY_GRACE_MS), retentionGrace (an hour) on Redis
        const past = lifetime + 2 * HOUR;
        store = await make({ maxTokenLifetime: lifetime, defaultTtl: lifetime });
        const family = fam();
        const c = () => claims({ family, issuedAt: new Date(t - 1000), expiresAt: new Date(t + MINUTE) });
        await store.revokeFamily(family);
        t += lifetime + DENY_GRACE_MS;
        await rejects(store.checkJwt(jwt(), c()), ErrTokenRevoked, "checkJwt");
        await rejects(store.store(tok(), meta({ family, expiresAt: new Date(t + MINUTE) })), ErrTokenRevoked, "store");
        t += past;
        expect(await code(store.checkJwt(jwt(), c()))).toBe("ok");
        // a second call keeps it from then on
        const again = t;
        await store.revokeFamily(family);
        t = again + lifetime + DENY_GRACE_MS;
        await rejects(store.checkJwt(jwt(), c()), ErrTokenRevoked, "checkJwt");
        t = again + past;
        await store.cleanup();
        const fresh = tok();
        await store.store(fresh, meta({ family, expiresAt: new Date(t + MINUTE) }));
        expect((await store.get(fresh)).family).toBe(family);
        expect(await code(store.checkJwt(jwt(), c()))).toBe("ok");
      });

      it("rotated and family-revoked tokens go at cleanup like any other, and nothing of them is left", async () => {
        const { raw: a, family } = await refreshToken({ expiresAt: new Date(t + HOUR) });
        const [b, c] = [tok(), tok()];
        await store.rotate(a, b, { id: `cl-${++n}`, expiresAt: new Date(t + HOUR) });
        await store.rotate(b, c, { id: `cl-${++n}`, expiresAt: new Date(t + HOUR) });
        await rejects(store.rotate(a, tok(), { id: `cl-${++n}` }), ErrTokenReused, "rotate");
        expect(await store.cleanup()).toEqual({ removed: 0 });
        t += HOUR + 1;
        expect(await store.cleanup()).toEqual({ removed: 3 });
        expect(await h.snapshot()).toEqual({ tokens: [], ids: [], subjects: [], expiry: [] });
        for (const x of [a, b, c]) await rejects(store.get(x), ErrTokenNotFound, "get");
        await rejects(store.rotate(c, tok(), { id: `cl-${++n}` }), ErrTokenNotFound, "rotate");
        // the mark lives on for its own time (maxTokenLifetime): the family stays refused
        await rejects(store.checkJwt(jwt(), claims({ family })), ErrTokenRevoked, "checkJwt");
      });
    });

    describe("revoke with its family", () => {
      it("{ family: true } revokes the token's family in the same call; without it only the token", async () => {
        const family = fam();
        const [refresh, access, sibling] = [tok(), tok(), tok()];
        await store.store(refresh, meta({ family, type: "refresh_token" }));
        await store.store(access, meta({ family, type: "access_token" }));
        await store.store(sibling, meta({ family, type: "access_token" }));
        const start = await feedStart();
        await store.revoke(sibling);
        expect(await code(store.get(refresh))).toBe("ok");
        await store.revoke(access, { family: true });
        for (const x of [refresh, access, sibling]) await rejects(store.get(x), ErrTokenRevoked, "get");
        expect(await store.inspect(refresh)).toMatchObject({ revokedBy: "family" });
        expect(await store.inspect(access)).toMatchObject({ revokedBy: "token" });
        await rejects(store.checkJwt(jwt(), claims({ family })), ErrTokenRevoked, "checkJwt");
        expect(await eventsSince(start)).toEqual([
          { type: "token", hash: sha(sibling) },
          { type: "token", hash: sha(access) },
          { type: "family", family },
        ]);
        // a token without a family: only itself
        const [lone, bystander] = [tok(), tok()];
        await store.store(lone, meta());
        await store.store(bystander, meta());
        const mid = (await store.changes()).cursor;
        await store.revoke(lone, { family: true });
        await rejects(store.get(lone), ErrTokenRevoked, "get");
        expect(await code(store.get(bystander))).toBe("ok");
        expect(await eventsSince(mid)).toEqual([{ type: "token", hash: sha(lone) }]);
      });

      it('{ family: "refresh" } revokes the family of a refresh token only (types "refresh_token" and "refresh")', async () => {
        for (const type of ["refresh_token", "refresh"]) {
          const family = fam();
          const [refresh, access] = [tok(), tok()];
          await store.store(refresh, meta({ family, type }));
          await store.store(access, meta({ family, type: "access_token" }));
          await store.revoke(access, { family: "refresh" });
          await rejects(store.get(access), ErrTokenRevoked, "get");
          expect(await code(store.get(refresh)), type).toBe("ok");
          expect(await code(store.checkJwt(jwt(), claims({ family })))).toBe("ok");
          const untyped = tok();
          await store.store(untyped, meta({ family }));
          await store.revoke(untyped, { family: "refresh" });
          expect(await code(store.get(refresh)), type).toBe("ok");
          await store.revoke(refresh, { family: "refresh" });
          await rejects(store.get(refresh), ErrTokenRevoked, "get");
          await rejects(store.checkJwt(jwt(), claims({ family })), ErrTokenRevoked, "checkJwt");
        }
      });

      it("revokes the family of a token already revoked, keeping the token's first revocation time", async () => {
        const { raw, family } = await refreshToken();
        const first = t;
        await store.revoke(raw);
        const other = tok();
        await store.store(other, meta({ family }));
        t += 1000;
        await store.revoke(raw, { family: true });
        await rejects(store.get(other), ErrTokenRevoked, "get");
        expect(await store.inspect(raw)).toMatchObject({ revokedAt: new Date(first), revokedBy: "token" });
        // a rotated token revoked with its family: the chain's newest goes too
        const { raw: a, family: f2 } = await refreshToken();
        const b = tok();
        await store.rotate(a, b, { id: `rf-${++n}` });
        await store.revoke(a, { family: true });
        await rejects(store.get(b), ErrTokenRevoked, "get");
        await rejects(store.checkJwt(jwt(), claims({ family: f2 })), ErrTokenRevoked, "checkJwt");
      });

      it("refuses another client's token without revoking its family, and a malformed option", async () => {
        const { raw, family } = await refreshToken({ clientId: "app-1" });
        const other = tok();
        await store.store(other, meta({ family }));
        await rejects(store.revoke(raw, { clientId: "app-2", family: true }), ErrClientMismatch, "revoke");
        for (const bad of ["yes", "true", 1, {}])
          await rejects(store.revoke(raw, { family: bad as never }), ErrInvalidMetadata, "revoke");
        expect(await code(store.get(raw))).toBe("ok");
        expect(await code(store.get(other))).toBe("ok");
        await store.revoke(raw, { clientId: "app-1", family: false });
        await rejects(store.get(raw), ErrTokenRevoked, "get");
        expect(await code(store.get(other))).toBe("ok");
        await rejects(store.revoke(tok(), { family: true }), ErrTokenNotFound, "revoke");
      });
    });

    describe("concurrency", () => {
      it("100 concurrent rotations of one token: exactly 1 succeeds, 99 are reuses, and the family is left revoked", async () => {
        const { raw: a, family } = await refreshToken();
        const access = tok();
        await store.store(access, meta({ family, type: "access_token" }));
        const start = await feedStart();
        const next = Array.from({ length: 100 }, () => tok());
        const results = await Promise.allSettled(next.map((b, i) => store.rotate(a, b, { id: `race-${n}-${i}` })));
        const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
        expect(won).toHaveLength(1);
        for (const r of results) {
          if (r.status === "rejected") {
            expect(r.reason).toBeInstanceOf(StorageError);
            expect([r.reason.err, r.reason.op, r.reason.key]).toEqual([ErrTokenReused, "rotate", fp(a)]);
          }
        }
        await rejects(store.get(next[won[0]!]!), ErrTokenRevoked, "get");
        expect(await store.inspect(next[won[0]!]!)).toMatchObject({ revokedBy: "family" });
        await rejects(store.checkJwt(jwt(), claims({ family })), ErrTokenRevoked, "checkJwt");
        await rejects(store.get(access), ErrTokenRevoked, "get"); // never rotated, refused all the same
        for (const [i, b] of next.entries()) if (i !== won[0]) await rejects(store.get(b), ErrTokenNotFound, "get");
        // the feed: the old token retired once, and one family revocation per reuse
        const events = await eventsSince(start);
        expect(events.filter((e) => e.type === "token")).toEqual([{ type: "token", hash: sha(a) }]);
        expect(events.filter((e) => e.type === "family")).toEqual(Array(99).fill({ type: "family", family }));
      });

      it("within a grace, 100 concurrent rotations give 1 success and 99 ErrTokenRotated, the family live", async () => {
        store = await make({ reuseGraceMs: MINUTE });
        const { raw: a, family } = await refreshToken();
        const next = Array.from({ length: 100 }, () => tok());
        const results = await Promise.allSettled(
          next.map((b, i) => store.rotate(a, b, { id: `grace-race-${n}-${i}` })),
        );
        const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
        expect(won).toHaveLength(1);
        const errs = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as StorageError).err] : []));
        expect(errs).toEqual(Array(99).fill(ErrTokenRotated));
        expect((await store.get(next[won[0]!]!)).family).toBe(family);
      });
    });

    describe("inputs", () => {
      it("refuses a hostile family in store, rotate, revokeFamily and JWT claims with ErrInvalidMetadata, writing nothing", async () => {
        const { raw: a, md } = await refreshToken();
        const start = await feedStart();
        await fc.assert(
          fc.asyncProperty(hostileFamily, async (bad) => {
            const x = tok();
            await rejects(store.store(x, meta({ family: bad as string })), ErrInvalidMetadata, "store");
            await rejects(store.rotate(a, x, { id: `h-${++n}`, family: bad as string }), ErrInvalidMetadata, "rotate");
            await rejects(store.revokeFamily(bad as string), ErrInvalidMetadata, "revokeFamily");
            await rejects(store.checkJwt(jwt(), claims({ family: bad as string })), ErrInvalidMetadata, "checkJwt");
            await rejects(store.get(x), ErrTokenNotFound, "get");
          }),
          { numRuns: 60 },
        );
        for (const bad of [undefined, null])
          await rejects(store.revokeFamily(bad as unknown as string), ErrInvalidMetadata, "revokeFamily");
        expect(await store.get(a)).toEqual(md);
        expect(await eventsSince(start)).toEqual([]);
      });

      it("accepts a family at the length limit and in any script, and answers it back unchanged", async () => {
        for (const family of ["f".repeat(LIMITS.field), "محمد-李小龙-👨‍👩‍👧", "grant 42"]) {
          const { raw, md } = await refreshToken({ family });
          expect(md.family).toBe(family);
          const b = tok();
          expect((await store.rotate(raw, b, { id: `ok-${++n}` })).family).toBe(family);
          await store.revokeFamily(family);
          await rejects(store.get(b), ErrTokenRevoked, "get");
        }
      });

      it("names the old token's fingerprint, never a raw token, and fails closed after close", async () => {
        const { raw: a, family } = await refreshToken();
        await store.close();
        const r = await rejects(store.rotate(a, tok(), { id: "closed" }), ErrStoreUnavailable, "rotate");
        expect(r.key).toBe(fp(a));
        const e = await rejects(store.revokeFamily(family), ErrStoreUnavailable, "revokeFamily");
        expect(e.key).toBe(family);
      });
    });
  });
}
