import { createHash, createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ErrClientMismatch,
  ErrIDConflict,
  ErrInvalidMetadata,
  ErrStoreUnavailable,
  ErrTokenExpired,
  ErrTokenNotFound,
  ErrTokenRevoked,
  LIMITS,
  StorageError,
  type StoreSentinel,
  type TokenMetadata,
  type TokenStore,
} from "../../../src/index.js";
import { indexViolations, type IndexSnapshot } from "../../support/invariants.js";
import { expectRejection } from "./rejection.js";

export interface ContractOptions {
  now: () => number;
  hashKey?: string;
  previousHashKeys?: string[];
  defaultTtl?: number;
  cleanupBatchSize?: number;
  maxTokenLifetime?: number;
  reuseGraceMs?: number;
}

export interface ContractHarness {
  store: TokenStore;
  /** The backend's indexes, read directly (not through the store's API). */
  snapshot(): Promise<IndexSnapshot>;
  /** The same data under other settings (key rotation): a new store over it, or the same one rehashed. */
  reopen?(options: { hashKey?: string; previousHashKeys?: string[] }): Promise<TokenStore>;
  dispose?(): Promise<void>;
}

export type StoreFactory = (options: ContractOptions) => Promise<ContractHarness>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** One suite for every backend: each row of the semantics table in docs/library.md. */
export function tokenStoreContract(name: string, factory: StoreFactory): void {
  describe(`${name}: TokenStore contract`, () => {
    const T0 = Math.floor(Date.now() / 1000) * 1000;
    let t = T0;
    const now = () => t;
    const harnesses: ContractHarness[] = [];
    let h: ContractHarness;
    let store: TokenStore;
    let seq = 0;

    /** A distinctive raw token, so a test can look for it in any output. */
    const makeToken = () => `raw-secret-token-${++seq}-${Math.random().toString(36).slice(2)}`;
    const makeMeta = (overrides: Partial<TokenMetadata> = {}): TokenMetadata => ({
      id: `id-${++seq}`,
      subject: "alice",
      issuedAt: new Date(t),
      expiresAt: new Date(t + HOUR),
      ...overrides,
    });
    const make = async (overrides: Partial<ContractOptions> = {}) => {
      const made = await factory({ now, ...overrides });
      harnesses.push(made);
      return made;
    };

    beforeEach(async () => {
      t = T0;
      h = await make();
      store = h.store;
    });
    afterEach(async () => {
      for (const x of harnesses.splice(0)) {
        await x.store.close();
        await x.dispose?.();
      }
    });

    const rejects = expectRejection;

    describe("store and get", () => {
      it("round-trips every metadata field", async () => {
        const token = makeToken();
        const md = makeMeta({
          issuer: "https://issuer.example",
          issuedAt: new Date(t - 1000),
          keyId: "k1",
          type: "access",
          status: "active",
          clientId: "client-1",
          family: "grant-1",
        });
        await store.store(token, md);
        expect(await store.get(token)).toEqual(md);
        expect(await store.getById(md.id)).toEqual(md);
      });

      it("defaults issuedAt to now and expiresAt to now + 24 h", async () => {
        const token = makeToken();
        await store.store(token, { id: "d1", subject: "alice" });
        const got = await store.get(token);
        expect(got.issuedAt.getTime()).toBe(t);
        expect(got.expiresAt.getTime()).toBe(t + DAY);
        expect(got).toEqual({ id: "d1", subject: "alice", issuedAt: new Date(t), expiresAt: new Date(t + DAY) });
      });

      it("uses the configured defaultTtl", async () => {
        const { store: s } = await make({ defaultTtl: 5 * 60_000 });
        const token = makeToken();
        await s.store(token, { id: "d2", subject: "alice" });
        expect((await s.get(token)).expiresAt.getTime()).toBe(t + 5 * 60_000);
      });

      it("accepts ISO strings and epoch milliseconds for dates", async () => {
        const token = makeToken();
        const md = { id: "iso", subject: "alice", issuedAt: new Date(t).toISOString(), expiresAt: t + HOUR };
        await store.store(token, md as unknown as TokenMetadata);
        const got = await store.get(token);
        expect(got.issuedAt).toEqual(new Date(t));
        expect(got.expiresAt).toEqual(new Date(t + HOUR));
      });

      it("returns copies: changing a result changes nothing stored", async () => {
        const token = makeToken();
        const md = makeMeta();
        await store.store(token, md);
        const got = await store.get(token);
        got.subject = "mallory";
        got.expiresAt.setTime(0);
        expect(await store.get(token)).toEqual(md);
      });

      it("accepts values exactly at the documented limits", async () => {
        const token = "t".repeat(LIMITS.token);
        const md = makeMeta({
          id: "i".repeat(LIMITS.id),
          subject: "s".repeat(LIMITS.subject),
          issuer: "x".repeat(LIMITS.field),
        });
        await store.store(token, md);
        expect(await store.get(token)).toEqual(md);
      });

      const invalid: [string, unknown, unknown][] = [
        ["an empty token", "", { id: "a", subject: "b" }],
        ["a non-string token", 42, { id: "a", subject: "b" }],
        ["a token over the limit", "t".repeat(LIMITS.token + 1), { id: "a", subject: "b" }],
        ["metadata that is not an object", "tok", "nope"],
        ["null metadata", "tok", null],
        ["a missing id", "tok", { subject: "b" }],
        ["an empty id", "tok", { id: "", subject: "b" }],
        ["a numeric id", "tok", { id: 7, subject: "b" }],
        ["an id over the limit", "tok", { id: "i".repeat(LIMITS.id + 1), subject: "b" }],
        ["a missing subject", "tok", { id: "a" }],
        ["a subject over the limit", "tok", { id: "a", subject: "s".repeat(LIMITS.subject + 1) }],
        ["a non-string issuer", "tok", { id: "a", subject: "b", issuer: 1 }],
        ["an issuer over the limit", "tok", { id: "a", subject: "b", issuer: "x".repeat(LIMITS.field + 1) }],
        ["an unparseable expiresAt", "tok", { id: "a", subject: "b", expiresAt: "next tuesday" }],
        ["an invalid Date", "tok", { id: "a", subject: "b", expiresAt: new Date(Number.NaN) }],
        ["a boolean issuedAt", "tok", { id: "a", subject: "b", issuedAt: true }],
        // a lone surrogate becomes U+FFFD in a hash input or a Redis key name: refused everywhere
        ["a token with a lone high surrogate", "tok\ud800", { id: "a", subject: "b" }],
        ["a token with a lone low surrogate", "\udc00tok", { id: "a", subject: "b" }],
        ["an id with a lone surrogate", "tok", { id: "\ud800", subject: "b" }],
        ["a subject with a lone surrogate", "tok", { id: "a", subject: "user\ud800" }],
        ["a subject with reversed surrogates", "tok", { id: "a", subject: "\ude00\ud83d" }],
        ...(["issuer", "keyId", "type", "status", "clientId", "family"] as const).map(
          (f): [string, unknown, unknown] => [
            `a ${f} with a lone surrogate`,
            "tok",
            { id: "a", subject: "b", [f]: "x\udfff" },
          ],
        ),
      ];
      for (const [what, token, md] of invalid) {
        it(`rejects ${what} with ErrInvalidMetadata and stores nothing`, async () => {
          await rejects(store.store(token as string, md as TokenMetadata), ErrInvalidMetadata, "store");
          expect((await h.snapshot()).tokens).toEqual([]);
        });
      }

      it("resolves the metadata as stored, defaults filled in", async () => {
        const token = makeToken();
        const stored = await store.store(token, { id: "resolved", subject: "alice", keyId: "k1" });
        expect(stored).toEqual({
          id: "resolved",
          subject: "alice",
          keyId: "k1",
          issuedAt: new Date(t),
          expiresAt: new Date(t + DAY),
        });
        expect(await store.get(token)).toEqual(stored);
      });

      it("refuses lone surrogates in every lookup, so no two values share an index key", async () => {
        for (const [p, op] of [
          [store.get("a\ud800"), "get"],
          [store.delete("a\udc00"), "delete"],
          [store.revoke("\ud800"), "revoke"],
          [store.isRevoked("\udc00"), "isRevoked"],
          [store.getById("\ud800"), "getById"],
          [store.list("\ud800x"), "list"],
          [store.revokeSubject("\udc00x"), "revokeSubject"],
        ] as [Promise<unknown>, string][]) {
          await rejects(p, ErrInvalidMetadata, op);
        }
        // well-formed look-alikes stay apart: U+FFFD itself, and astral characters (surrogate pairs)
        const [a, b, c] = [makeToken(), makeToken(), makeToken()];
        await store.store(a, makeMeta({ id: "\ud83d\ude00", subject: "\ufffdx" }));
        await store.store(b, makeMeta({ id: "\ud83d\ude01", subject: "\ud83d\ude00x" }));
        await store.store(c, makeMeta({ id: "\ufffd", subject: "\ud83d\ude01x" }));
        expect(await store.revokeSubject("\ufffdx")).toEqual({ revoked: 1 });
        expect(await store.isRevoked(b)).toBe(false);
        expect(await store.isRevoked(c)).toBe(false);
        expect((await store.getById("\ud83d\ude01")).subject).toBe("\ud83d\ude00x");
        expect((await store.getById("\ufffd")).subject).toBe("\ud83d\ude01x");
      });

      it("rejects issuedAt after expiresAt with ErrInvalidMetadata", async () => {
        const md = makeMeta({ issuedAt: new Date(t + 2 * HOUR), expiresAt: new Date(t + HOUR) });
        await rejects(store.store(makeToken(), md), ErrInvalidMetadata, "store");
      });

      it("rejects an expiresAt at or before now with ErrTokenExpired", async () => {
        await rejects(store.store(makeToken(), makeMeta({ expiresAt: new Date(t) })), ErrTokenExpired, "store");
        await rejects(store.store(makeToken(), makeMeta({ expiresAt: new Date(t - 1) })), ErrTokenExpired, "store");
        expect((await h.snapshot()).tokens).toEqual([]);
      });

      it("updates a token stored again, moving its id and subject indexes", async () => {
        const token = makeToken();
        await store.store(token, makeMeta({ id: "old-id", subject: "alice" }));
        const updated = makeMeta({ id: "new-id", subject: "bob", status: "rotated" });
        await store.store(token, updated);
        expect(await store.get(token)).toEqual(updated);
        expect(await store.getById("new-id")).toEqual(updated);
        await rejects(store.getById("old-id"), ErrTokenNotFound, "getById");
        expect(await store.list("alice")).toEqual([]);
        expect(await store.list("bob")).toEqual([updated]);
        expect(indexViolations(await h.snapshot(), t)).toEqual([]);
      });

      it("keeps a revoked token revoked when it is stored again", async () => {
        const token = makeToken();
        const md = makeMeta();
        await store.store(token, md);
        await store.revoke(token);
        await rejects(
          store.store(token, makeMeta({ id: md.id, expiresAt: new Date(t + DAY) })),
          ErrTokenRevoked,
          "store",
        );
        expect(await store.isRevoked(token)).toBe(true);
        await rejects(store.get(token), ErrTokenRevoked, "get");
      });

      it("keeps a revoked token revoked after it expires, until it is removed", async () => {
        const token = makeToken();
        await store.store(token, makeMeta());
        await store.revoke(token);
        t += 2 * HOUR;
        await rejects(store.store(token, makeMeta({ expiresAt: new Date(t + HOUR) })), ErrTokenRevoked, "store");
      });

      it("rejects an id held by another live token with ErrIDConflict, losing nothing", async () => {
        const first = makeToken();
        const md = makeMeta({ id: "shared" });
        await store.store(first, md);
        const second = makeToken();
        await rejects(store.store(second, makeMeta({ id: "shared", subject: "bob" })), ErrIDConflict, "store");
        expect(await store.getById("shared")).toEqual(md);
        expect(await store.get(first)).toEqual(md);
        await rejects(store.get(second), ErrTokenNotFound, "get");
        expect(await store.list("bob")).toEqual([]);
      });

      it("treats an id held by a revoked but unexpired token as taken", async () => {
        const first = makeToken();
        await store.store(first, makeMeta({ id: "shared" }));
        await store.revoke(first);
        await rejects(store.store(makeToken(), makeMeta({ id: "shared" })), ErrIDConflict, "store");
      });

      it("lets a new token take the id of an expired one, and cleanup leaves the new one alone", async () => {
        const old = makeToken();
        await store.store(old, makeMeta({ id: "reused", expiresAt: new Date(t + HOUR) }));
        t += 2 * HOUR;
        const fresh = makeToken();
        const md = makeMeta({ id: "reused" });
        await store.store(fresh, md);
        expect(await store.getById("reused")).toEqual(md);
        expect(await store.cleanup()).toEqual({ removed: 1 });
        expect(await store.getById("reused")).toEqual(md);
        await rejects(store.get(old), ErrTokenNotFound, "get");
        expect(indexViolations(await h.snapshot(), t)).toEqual([]);
      });
    });

    describe("get and getById", () => {
      it("reject an unknown token or id with ErrTokenNotFound", async () => {
        await rejects(store.get(makeToken()), ErrTokenNotFound, "get");
        const e = await rejects(store.getById("nobody"), ErrTokenNotFound, "getById");
        expect(e.key).toBe("nobody");
      });

      it("treat a token as live up to and including expiresAt, expired after", async () => {
        const token = makeToken();
        const md = makeMeta({ expiresAt: new Date(t + HOUR) });
        await store.store(token, md);
        t += HOUR;
        expect(await store.get(token)).toEqual(md);
        t += 1;
        await rejects(store.get(token), ErrTokenExpired, "get");
        await rejects(store.getById(md.id), ErrTokenExpired, "getById");
      });

      it("at the exact instant now == expiresAt: still live, its id still held, nothing cleaned up", async () => {
        const token = makeToken();
        const md = makeMeta({ id: "boundary", expiresAt: new Date(t + HOUR) });
        await store.store(token, md);
        t += HOUR; // now == expiresAt
        expect(await store.get(token)).toEqual(md);
        expect(await store.getById("boundary")).toEqual(md);
        const other = makeToken();
        await rejects(
          store.store(other, makeMeta({ id: "boundary", expiresAt: new Date(t + HOUR) })),
          ErrIDConflict,
          "store",
        );
        await rejects(store.get(other), ErrTokenNotFound, "get");
        expect(await store.cleanup()).toEqual({ removed: 0 });
        expect(await store.get(token)).toEqual(md);
        expect(await store.list(md.subject)).toEqual([md]);
        t += 1; // one millisecond later it is gone for every purpose
        await rejects(store.get(token), ErrTokenExpired, "get");
        expect(await store.cleanup()).toEqual({ removed: 1 });
      });

      it("reject a revoked token with ErrTokenRevoked", async () => {
        const token = makeToken();
        const md = makeMeta();
        await store.store(token, md);
        await store.revoke(token);
        await rejects(store.get(token), ErrTokenRevoked, "get");
        await rejects(store.getById(md.id), ErrTokenRevoked, "getById");
      });

      it("check expiry before revocation", async () => {
        const token = makeToken();
        const md = makeMeta();
        await store.store(token, md);
        await store.revoke(token);
        t += 2 * HOUR;
        await rejects(store.get(token), ErrTokenExpired, "get");
        await rejects(store.getById(md.id), ErrTokenExpired, "getById");
      });

      it("reject a malformed id with ErrInvalidMetadata", async () => {
        await rejects(store.getById(""), ErrInvalidMetadata, "getById");
        await rejects(store.getById("i".repeat(LIMITS.id + 1)), ErrInvalidMetadata, "getById");
        await rejects(store.get(""), ErrInvalidMetadata, "get");
      });
    });

    describe("delete", () => {
      it("rejects an unknown token with ErrTokenNotFound", async () => {
        await rejects(store.delete(makeToken()), ErrTokenNotFound, "delete");
      });

      it("removes the token, its id, its subject entry and its revocation mark", async () => {
        const token = makeToken();
        const md = makeMeta();
        await store.store(token, md);
        await store.revoke(token);
        await store.delete(token);
        await rejects(store.get(token), ErrTokenNotFound, "get");
        await rejects(store.getById(md.id), ErrTokenNotFound, "getById");
        await rejects(store.isRevoked(token), ErrTokenNotFound, "isRevoked");
        await rejects(store.delete(token), ErrTokenNotFound, "delete");
        expect(await h.snapshot()).toEqual({ tokens: [], ids: [], subjects: [], expiry: [] });
        await store.store(token, md);
        expect(await store.isRevoked(token)).toBe(false);
        expect(await store.get(token)).toEqual(md);
      });

      it("leaves the subject's other tokens alone", async () => {
        const a = makeToken();
        const b = makeToken();
        const mb = makeMeta();
        await store.store(a, makeMeta());
        await store.store(b, mb);
        await store.delete(a);
        expect(await store.list("alice")).toEqual([mb]);
      });
    });

    describe("list", () => {
      it("returns the subject's live tokens by issuedAt, then id", async () => {
        const mds = [
          makeMeta({ id: "c", issuedAt: new Date(t - 10) }),
          makeMeta({ id: "b", issuedAt: new Date(t - 20) }),
          makeMeta({ id: "a", issuedAt: new Date(t - 10) }),
          makeMeta({ id: "d", issuedAt: new Date(t - 30) }),
        ];
        for (const md of mds) await store.store(makeToken(), md);
        await store.store(makeToken(), makeMeta({ id: "other", subject: "bob" }));
        expect((await store.list("alice")).map((m) => m.id)).toEqual(["d", "b", "a", "c"]);
        expect(await store.list("alice")).toContainEqual(mds[0]);
      });

      it("leaves out expired and revoked tokens", async () => {
        const revoked = makeToken();
        await store.store(revoked, makeMeta({ id: "revoked" }));
        await store.revoke(revoked);
        await store.store(makeToken(), makeMeta({ id: "short", expiresAt: new Date(t + 1000) }));
        await store.store(makeToken(), makeMeta({ id: "long", expiresAt: new Date(t + DAY) }));
        expect((await store.list("alice")).map((m) => m.id)).toEqual(["long", "short"]);
        t += 1000;
        expect((await store.list("alice")).map((m) => m.id)).toEqual(["long", "short"]);
        t += 1;
        expect((await store.list("alice")).map((m) => m.id)).toEqual(["long"]);
      });

      it("returns [] for an unknown subject and rejects a malformed one", async () => {
        expect(await store.list("nobody")).toEqual([]);
        await rejects(store.list(""), ErrInvalidMetadata, "list");
      });

      it("returns every token of a large subject", async () => {
        const ids = Array.from({ length: 120 }, (_, i) => `bulk-${String(i).padStart(3, "0")}`);
        await Promise.all(
          ids.map((id) => store.store(makeToken(), makeMeta({ id, subject: "bulk", issuedAt: new Date(t) }))),
        );
        expect((await store.list("bulk")).map((m) => m.id)).toEqual(ids);
      });
    });

    describe("revoke and isRevoked", () => {
      it("reject an unknown token with ErrTokenNotFound", async () => {
        await rejects(store.revoke(makeToken()), ErrTokenNotFound, "revoke");
        await rejects(store.isRevoked(makeToken()), ErrTokenNotFound, "isRevoked");
      });

      it("mark a token revoked, idempotently", async () => {
        const token = makeToken();
        const other = makeToken();
        await store.store(token, makeMeta());
        await store.store(other, makeMeta());
        expect(await store.isRevoked(token)).toBe(false);
        await store.revoke(token);
        await store.revoke(token);
        expect(await store.isRevoked(token)).toBe(true);
        expect(await store.isRevoked(other)).toBe(false);
      });

      it("let only the token's own client revoke it when a client asks (RFC 7009 §2.1)", async () => {
        const [owned, unowned] = [makeToken(), makeToken()];
        await store.store(owned, makeMeta({ clientId: "client-a" }));
        await store.store(unowned, makeMeta());
        await rejects(store.revoke(owned, { clientId: "client-b" }), ErrClientMismatch, "revoke");
        expect(await store.isRevoked(owned)).toBe(false);
        await store.revoke(unowned, { clientId: "client-b" }); // no owner: anyone may
        await store.revoke(owned, { clientId: "client-a" });
        expect(await store.isRevoked(owned)).toBe(true);
        expect(await store.isRevoked(unowned)).toBe(true);
        const third = makeToken();
        await store.store(third, makeMeta({ clientId: "client-a" }));
        await store.revoke(third); // no client named: the admin path
        expect(await store.isRevoked(third)).toBe(true);
        await rejects(store.revoke(makeToken(), { clientId: "client-a" }), ErrTokenNotFound, "revoke");
      });

      it("keep the first revocation time, whatever revokes the token again", async () => {
        const token = makeToken();
        await store.store(token, makeMeta({ subject: "first-rev" }));
        const first = t;
        await store.revoke(token);
        t += 5_000;
        await store.revoke(token);
        t += 5_000;
        expect(await store.revokeSubject("first-rev")).toEqual({ revoked: 1 }); // the cutoff reaches it too
        const rec = (await h.snapshot()).tokens.find((x) => x.subject === "first-rev");
        expect(rec?.revokedAt).toBe(first);
      });

      it("report an expired token's mark rather than an error", async () => {
        const token = makeToken();
        await store.store(token, makeMeta());
        await store.revoke(token);
        t += 2 * HOUR;
        expect(await store.isRevoked(token)).toBe(true);
      });
    });

    describe("inspect and revokeById", () => {
      it("inspect answers every state, with when and by what a token was revoked", async () => {
        expect(await store.inspect(makeToken())).toEqual({ state: "unknown" });
        const [live, marked, cut, keyed, expiring] = [makeToken(), makeToken(), makeToken(), makeToken(), makeToken()];
        const md = await store.store(live, makeMeta({ subject: "insp-live", clientId: "c1", keyId: "insp-k0" }));
        expect(await store.inspect(live)).toEqual({ state: "live", metadata: md });
        const mMd = await store.store(marked, makeMeta({ subject: "insp-marked" }));
        const cMd = await store.store(cut, makeMeta({ subject: "insp-cut" }));
        const kMd = await store.store(keyed, makeMeta({ subject: "insp-keyed", keyId: "insp-k1" }));
        const eMd = await store.store(expiring, makeMeta({ subject: "insp-exp", expiresAt: new Date(t + 10) }));
        const at = t;
        await store.revoke(marked);
        t += 1_000;
        await store.revokeSubject("insp-cut");
        t += 1_000;
        await store.revokeKey("insp-k1");
        t += 1_000;
        await store.revoke(marked); // a second revocation keeps the first time
        expect(await store.inspect(marked)).toEqual({
          state: "revoked",
          metadata: mMd,
          revokedAt: new Date(at),
          revokedBy: "token",
        });
        expect(await store.inspect(cut)).toEqual({
          state: "revoked",
          metadata: cMd,
          revokedAt: new Date(at + 1_000),
          revokedBy: "subject",
        });
        expect(await store.inspect(keyed)).toEqual({
          state: "revoked",
          metadata: kMd,
          revokedAt: new Date(at + 2_000),
          revokedBy: "key",
        });
        expect(await store.inspect(expiring)).toEqual({ state: "expired", metadata: eMd });
        expect(await store.inspect(live)).toEqual({ state: "live", metadata: md }); // nothing reached it
        await rejects(store.inspect(`${live}\ud800`), ErrInvalidMetadata, "inspect");
      });

      it("revokeById marks the token its id names, idempotently, and nothing else", async () => {
        const [a, b] = [makeToken(), makeToken()];
        await store.store(a, makeMeta({ id: "rbi-a", subject: "rbi" }));
        await store.store(b, makeMeta({ id: "rbi-b", subject: "rbi" }));
        const at = t;
        await store.revokeById("rbi-a");
        t += 1_000;
        await store.revokeById("rbi-a");
        await rejects(store.get(a), ErrTokenRevoked, "get");
        expect((await store.list("rbi")).map((m) => m.id)).toEqual(["rbi-b"]);
        expect(await store.inspect(a)).toMatchObject({ state: "revoked", revokedAt: new Date(at), revokedBy: "token" });
        await rejects(store.revokeById("rbi-none"), ErrTokenNotFound, "revokeById");
        await rejects(store.revokeById(""), ErrInvalidMetadata, "revokeById");
        await store.delete(b);
        await rejects(store.revokeById("rbi-b"), ErrTokenNotFound, "revokeById"); // nothing created by it
        expect((await h.snapshot()).tokens.map((x) => x.id)).toEqual(["rbi-a"]);
      });
    });

    describe("revokeSubject", () => {
      it("revokes every token of the subject and no other, counting the unexpired tokens it reaches", async () => {
        const mine = [makeToken(), makeToken(), makeToken()];
        for (const tok of mine) await store.store(tok, makeMeta({ subject: "erin" }));
        const other = makeToken();
        await store.store(other, makeMeta({ subject: "frank" }));
        await store.revoke(mine[0]!);
        const gone = makeToken();
        await store.store(gone, makeMeta({ subject: "erin", expiresAt: new Date(t + 1000) }));
        t += 1001;
        expect(await store.revokeSubject("erin")).toEqual({ revoked: 3 }); // not the expired one
        for (const tok of mine) await rejects(store.get(tok), ErrTokenRevoked, "get");
        for (const tok of mine) expect(await store.isRevoked(tok)).toBe(true);
        expect(await store.list("erin")).toEqual([]);
        expect(await store.isRevoked(other)).toBe(false);
        expect(await store.revokeSubject("erin")).toEqual({ revoked: 3 }); // the same tokens again
        // a token of the subject issued after the cutoff is live
        t += 1;
        const later = makeToken();
        await store.store(later, makeMeta({ subject: "erin" }));
        expect((await store.get(later)).subject).toBe("erin");
      });

      it("keeps the tokens revoked when they are stored again", async () => {
        const tok = makeToken();
        const md = makeMeta({ subject: "gina" });
        await store.store(tok, md);
        await store.revokeSubject("gina");
        await rejects(store.store(tok, md), ErrTokenRevoked, "store");
        // later, with an issue time after the cutoff: the stored record was revoked, so it stays so
        t += 5_000;
        const e = await rejects(store.store(tok, { ...md, issuedAt: new Date(t) }), ErrTokenRevoked, "store");
        expect(e.detail).toBe("a revoked token cannot be stored again");
        await rejects(store.get(tok), ErrTokenRevoked, "get");
      });

      it("reaches a token stored before the cutoff even when its issuedAt is later", async () => {
        const early = makeToken();
        await store.store(early, makeMeta({ subject: "hana", issuedAt: new Date(t + 60_000) }));
        t += 1;
        await store.revokeSubject("hana");
        await rejects(store.get(early), ErrTokenRevoked, "get");
        expect(await store.isRevoked(early)).toBe(true);
        expect(await store.list("hana")).toEqual([]);
      });

      it("reaches a token stored just before it by a writer whose clock ran ahead", async () => {
        const ahead = makeToken();
        t += 20; // the issuing isolate's clock is 20 ms ahead of the revoking one's
        await store.store(ahead, makeMeta({ subject: "ines" }));
        t -= 20;
        expect(await store.revokeSubject("ines")).toEqual({ revoked: 1 });
        t += 1000;
        await rejects(store.get(ahead), ErrTokenRevoked, "get");
        expect(await store.list("ines")).toEqual([]);
        // a token issued after the cutoff, by any clock, is live
        const later = makeToken();
        await store.store(later, makeMeta({ subject: "ines" }));
        expect((await store.get(later)).subject).toBe("ines");
      });

      it("answers 0 for an unknown subject and rejects a malformed one", async () => {
        expect(await store.revokeSubject("nobody")).toEqual({ revoked: 0 });
        const e = await rejects(store.revokeSubject(""), ErrInvalidMetadata, "revokeSubject");
        expect(e.message).not.toContain("undefined");
      });
    });

    describe("cleanup", () => {
      it("removes expired tokens with their indexes and revocation marks, and nothing else", async () => {
        const expired = makeToken();
        const live = makeToken();
        const mdExpired = makeMeta({ id: "exp", expiresAt: new Date(t + HOUR) });
        const mdLive = makeMeta({ id: "live", expiresAt: new Date(t + DAY) });
        await store.store(expired, mdExpired);
        await store.store(live, mdLive);
        await store.revoke(expired);
        expect(await store.cleanup()).toEqual({ removed: 0 });
        t += HOUR + 1;
        expect(await store.cleanup()).toEqual({ removed: 1 });
        await rejects(store.get(expired), ErrTokenNotFound, "get");
        await rejects(store.getById("exp"), ErrTokenNotFound, "getById");
        await rejects(store.isRevoked(expired), ErrTokenNotFound, "isRevoked");
        expect(await store.get(live)).toEqual(mdLive);
        const snap = await h.snapshot();
        expect(snap.tokens.map((x) => x.id)).toEqual(["live"]);
        expect(indexViolations(snap, t)).toEqual([]);
        // the revocation mark went with it: the same token can be issued afresh
        await store.store(expired, makeMeta({ id: "exp" }));
        expect(await store.isRevoked(expired)).toBe(false);
      });

      it("is idempotent", async () => {
        await store.store(makeToken(), makeMeta({ expiresAt: new Date(t + 10) }));
        t += 11;
        expect(await store.cleanup()).toEqual({ removed: 1 });
        expect(await store.cleanup()).toEqual({ removed: 0 });
      });

      it("removes more expired tokens than one batch holds", async () => {
        const { store: s, snapshot } = await make({ cleanupBatchSize: 7 });
        for (let i = 0; i < 30; i++) await s.store(makeToken(), makeMeta({ expiresAt: new Date(t + 10 + i) }));
        await s.store(makeToken(), makeMeta({ id: "keeper", expiresAt: new Date(t + DAY) }));
        t += 1000;
        expect(await s.cleanup()).toEqual({ removed: 30 });
        expect((await snapshot()).tokens.map((x) => x.id)).toEqual(["keeper"]);
      });

      it("does not remove a token re-stored with a later expiry", async () => {
        const token = makeToken();
        const md = makeMeta({ id: "extended", expiresAt: new Date(t + DAY) });
        await store.store(token, makeMeta({ id: "extended", expiresAt: new Date(t + 10) }));
        await store.store(token, md);
        t += 1000;
        expect(await store.cleanup()).toEqual({ removed: 0 });
        expect(await store.get(token)).toEqual(md);
      });
    });

    describe("errors", () => {
      it("never show the raw token in any error any operation raises; token keys are a fingerprint of its hash", async () => {
        const token = makeToken();
        const other = makeToken();
        const expiring = makeToken();
        const fp = (raw: string) => createHash("sha256").update(raw).digest("hex").slice(0, 12);
        /** Each error with the token it concerns (its key must be that token's fingerprint), or "-" for none. */
        const seen: [StorageError, string][] = [];
        const expectErr = async (p: Promise<unknown>, err: StoreSentinel, op: string, about: string) =>
          seen.push([await rejects(p, err, op), about]);

        await expectErr(store.get(token), ErrTokenNotFound, "get", token);
        await expectErr(store.revoke(token), ErrTokenNotFound, "revoke", token);
        await expectErr(store.delete(token), ErrTokenNotFound, "delete", token);
        await expectErr(store.isRevoked(token), ErrTokenNotFound, "isRevoked", token);
        await expectErr(store.store(token, makeMeta({ expiresAt: new Date(t - 1) })), ErrTokenExpired, "store", token);
        await expectErr(store.store(token, { id: 5 } as unknown as TokenMetadata), ErrInvalidMetadata, "store", token);
        await expectErr(store.get(`${token}\ud800`), ErrInvalidMetadata, "get", "-");
        await expectErr(
          store.store(`${"x".repeat(LIMITS.token)}${token}`, makeMeta()),
          ErrInvalidMetadata,
          "store",
          "-",
        );
        await store.store(token, makeMeta({ id: "held" }));
        await expectErr(store.store(other, makeMeta({ id: "held" })), ErrIDConflict, "store", other);
        await store.revoke(token);
        await expectErr(store.get(token), ErrTokenRevoked, "get", token);
        await expectErr(store.store(token, makeMeta({ id: "held" })), ErrTokenRevoked, "store", token);
        await store.store(expiring, makeMeta({ expiresAt: new Date(t + 10) }));
        t += 11;
        await expectErr(store.get(expiring), ErrTokenExpired, "get", expiring);
        await store.close();
        await expectErr(store.get(token), ErrStoreUnavailable, "get", token);
        await expectErr(store.store(token, makeMeta()), ErrStoreUnavailable, "store", token);
        await expectErr(store.revoke(token), ErrStoreUnavailable, "revoke", token);
        await expectErr(store.delete(token), ErrStoreUnavailable, "delete", token);
        await expectErr(store.isRevoked(token), ErrStoreUnavailable, "isRevoked", token);

        for (const [e, about] of seen) {
          expect(e.key, e.message).toBe(about === "-" ? "-" : fp(about));
          for (const text of [e.message, e.key, e.detail, String(e.stack), JSON.stringify(e)]) {
            for (const raw of [token, other, expiring]) expect(text).not.toContain(raw);
          }
        }
      });

      it("fingerprint by HMAC-SHA-256 when a hashKey is set", async () => {
        const { store: s } = await make({ hashKey: "pepper" });
        const token = makeToken();
        const e = await rejects(s.get(token), ErrTokenNotFound, "get");
        expect(e.key).toBe(createHmac("sha256", "pepper").update(token).digest("hex").slice(0, 12));
        await s.store(token, makeMeta());
        // the same token under another key is a different entry
        await rejects(store.get(token), ErrTokenNotFound, "get");
      });

      it("name the subject as the key for list and the id for getById", async () => {
        const e = await rejects(store.getById("x".repeat(LIMITS.id + 1)), ErrInvalidMetadata, "getById");
        expect(e.key).toBe("-");
        const token = makeToken();
        await store.store(token, makeMeta({ id: "known" }));
        await store.revoke(token);
        expect((await rejects(store.getById("known"), ErrTokenRevoked, "getById")).key).toBe("known");
      });

      it("reject every call after close with ErrStoreUnavailable", async () => {
        const token = makeToken();
        await store.store(token, makeMeta({ id: "closing" }));
        await store.close();
        await rejects(store.get(token), ErrStoreUnavailable, "get");
        await rejects(store.store(token, makeMeta()), ErrStoreUnavailable, "store");
        await rejects(store.getById("closing"), ErrStoreUnavailable, "getById");
        await rejects(store.list("alice"), ErrStoreUnavailable, "list");
        await rejects(store.cleanup(), ErrStoreUnavailable, "cleanup");
      });
    });

    describe("concurrency", () => {
      it("keeps every index consistent under hundreds of overlapping calls", async () => {
        const { store: s, snapshot } = await make({ cleanupBatchSize: 5 });
        const tokens = Array.from({ length: 40 }, () => makeToken());
        const ops: Promise<unknown>[] = [];
        let r = 12345;
        const rand = (n: number) => ((r = (r * 1103515245 + 12345) % 2 ** 31), r % n);
        for (let i = 0; i < 400; i++) {
          const token = tokens[rand(tokens.length)]!;
          const kind = rand(11);
          if (kind < 4) {
            ops.push(
              s.store(
                token,
                makeMeta({
                  id: `cid-${rand(25)}`,
                  subject: `sub-${rand(4)}`,
                  expiresAt: new Date(t + 1 + rand(3) * 50),
                }),
              ),
            );
          } else if (kind < 6) ops.push(s.revoke(token));
          else if (kind < 8) ops.push(s.delete(token));
          else if (kind < 9) ops.push(s.cleanup());
          else if (kind < 10) ops.push(s.list(`sub-${rand(4)}`));
          else ops.push(s.revokeSubject(`sub-${rand(4)}`));
          if (i % 50 === 49) t += 60; // some tokens expire while calls are in flight
        }
        const results = await Promise.allSettled(ops);
        for (const res of results) {
          if (res.status === "rejected") {
            // only the outcomes the contract allows for these inputs
            expect([ErrTokenNotFound, ErrTokenRevoked, ErrIDConflict, ErrTokenExpired]).toContain(
              (res.reason as StorageError).err,
            );
          }
        }
        expect(results.some((x) => x.status === "fulfilled")).toBe(true);
        expect(indexViolations(await snapshot(), t)).toEqual([]);
        t += DAY;
        await s.cleanup();
        expect(await snapshot()).toEqual({ tokens: [], ids: [], subjects: [], expiry: [] });
      });
    });
  });
}
