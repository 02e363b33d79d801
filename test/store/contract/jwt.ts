import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ErrInvalidMetadata,
  ErrTokenRevoked,
  StorageError,
  type JwtClaims,
  type StoreSentinel,
} from "../../../src/index.js";
import type { FeedStore } from "../../../src/store/index.js";
import type { FeedStoreFactory } from "./feed.js";
import type { ContractHarness } from "./token-store.js";

const HOUR = 3_600_000;
const sha = (raw: string) => createHash("sha256").update(raw).digest("hex");

/** Revocation that reaches tokens the store never saw: deny-list, subject cutoff, key revocation. */
export function jwtContract(name: string, factory: FeedStoreFactory): void {
  describe(`${name}: JWT checks, cutoffs and key revocation`, () => {
    let t = Math.floor(Date.now() / 1000) * 1000;
    const made: ContractHarness[] = [];
    let store: FeedStore;
    let n = 0;
    const jwt = () => `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.sig-${++n}-${Math.random().toString(36).slice(2)}`;
    const claims = (o: Partial<JwtClaims> = {}): JwtClaims => ({
      subject: "jwt-alice",
      issuedAt: new Date(t - 1000),
      expiresAt: new Date(t + HOUR),
      keyId: "key-1",
      id: `jti-${++n}`,
      issuer: "https://idp",
      ...o,
    });
    beforeEach(async () => {
      t = Math.floor(Date.now() / 1000) * 1000;
      const h = await factory({ now: () => t });
      made.push(h);
      store = h.store;
    });
    afterEach(async () => {
      for (const h of made.splice(0)) {
        await h.store.close();
        await h.dispose?.();
      }
    });
    async function code(p: Promise<unknown>): Promise<StoreSentinel | "ok"> {
      try {
        await p;
        return "ok";
      } catch (e) {
        expect(e).toBeInstanceOf(StorageError);
        return (e as StorageError).err;
      }
    }

    it("answers a verified JWT's claims as metadata, without storing anything", async () => {
      const token = jwt();
      const c = claims();
      expect(await store.checkJwt(token, c)).toEqual({
        id: c.id,
        subject: c.subject,
        issuer: c.issuer,
        keyId: c.keyId,
        issuedAt: c.issuedAt,
        expiresAt: c.expiresAt,
        type: "jwt",
      });
      expect(await code(store.get(token))).not.toBe("ok");
      const bare = await store.checkJwt(jwt(), { subject: "s", issuedAt: new Date(t), expiresAt: new Date(t + HOUR) });
      expect(bare).toEqual({ id: "", subject: "s", issuedAt: new Date(t), expiresAt: new Date(t + HOUR), type: "jwt" });
    });

    it("refuses a deny-listed JWT, idempotently, and only that one", async () => {
      const [a, b] = [jwt(), jwt()];
      await store.denyJwt(a, claims());
      await store.denyJwt(a, claims());
      expect(await code(store.checkJwt(a, claims()))).toBe(ErrTokenRevoked);
      expect(await code(store.checkJwt(b, claims()))).toBe("ok");
    });

    it("keeps a deny-listed JWT refused past its exp, through the largest clock tolerance (300 s)", async () => {
      const [denied, other] = [jwt(), jwt()];
      const c = claims({ expiresAt: new Date(t + 60_000) });
      await store.denyJwt(denied, c);
      // the verifier may still accept the token up to exp + tolerance: the deny-list must outlast that
      t = c.expiresAt.getTime() + 300_000 - 1000;
      expect(await code(store.checkJwt(denied, c))).toBe(ErrTokenRevoked);
      expect(await code(store.checkJwt(other, c))).toBe("ok");
    });

    it("deny-listing a stored token revokes it too", async () => {
      const token = jwt();
      await store.store(token, { id: "stored-jwt", subject: "jwt-alice" });
      await store.denyJwt(token, claims());
      expect(await store.isRevoked(token)).toBe(true);
      expect(await code(store.get(token))).toBe(ErrTokenRevoked);
    });

    it("refuses every token of a subject issued at or before its cutoff, stored or not, and admits later ones", async () => {
      const stored = jwt();
      await store.store(stored, { id: "before-cut", subject: "jwt-alice", issuedAt: new Date(t - 5000) });
      t += 1000;
      const cut = t;
      await store.revokeSubject("jwt-alice");
      expect(await code(store.checkJwt(jwt(), claims({ issuedAt: new Date(cut - 1000) })))).toBe(ErrTokenRevoked);
      expect(await code(store.checkJwt(jwt(), claims({ issuedAt: new Date(cut) })))).toBe(ErrTokenRevoked); // at the cutoff
      expect(await code(store.checkJwt(jwt(), claims({ issuedAt: new Date(cut + 1000) })))).toBe("ok");
      expect(await code(store.checkJwt(jwt(), claims({ subject: "jwt-bob", issuedAt: new Date(cut - 1000) })))).toBe(
        "ok",
      );
      expect(await code(store.get(stored))).toBe(ErrTokenRevoked);
      // a token issued before the cutoff cannot be stored afterwards; one issued after can
      expect(await code(store.store(jwt(), { id: "late-old", subject: "jwt-alice", issuedAt: new Date(cut) }))).toBe(
        ErrTokenRevoked,
      );
      t += 1;
      const fresh = jwt();
      await store.store(fresh, { id: "late-new", subject: "jwt-alice" });
      expect((await store.get(fresh)).id).toBe("late-new");
      expect((await store.list("jwt-alice")).map((m) => m.id)).toEqual(["late-new"]);
    });

    it("refuses every token signed by a revoked key, stored or not, in every read", async () => {
      const [stored, other] = [jwt(), jwt()];
      await store.store(stored, { id: "k1-stored", subject: "jwt-carol", keyId: "key-1" });
      await store.store(other, { id: "k2-stored", subject: "jwt-carol", keyId: "key-2" });
      await store.revokeKey("key-1");
      await store.revokeKey("key-1"); // idempotent
      expect(await code(store.checkJwt(jwt(), claims({ keyId: "key-1" })))).toBe(ErrTokenRevoked);
      expect(await code(store.checkJwt(jwt(), claims({ keyId: "key-2" })))).toBe("ok");
      expect(await code(store.checkJwt(jwt(), claims({ keyId: undefined })))).toBe("ok");
      expect(await code(store.get(stored))).toBe(ErrTokenRevoked);
      expect(await code(store.getById("k1-stored"))).toBe(ErrTokenRevoked);
      expect(await store.isRevoked(stored)).toBe(true);
      expect(await store.isRevoked(other)).toBe(false);
      expect((await store.list("jwt-carol")).map((m) => m.id)).toEqual(["k2-stored"]);
      expect((await store.lookup(sha(stored))).verdict.state).toBe("revoked");
      expect(await code(store.store(jwt(), { id: "k1-late", subject: "jwt-carol", keyId: "key-1" }))).toBe(
        ErrTokenRevoked,
      );
    });

    it("records key revocations and deny-listings in the feed", async () => {
      await store.revokeKey("key-0"); // the feed has begun (an empty Redis feed has no epoch yet)
      const start = (await store.changes()).cursor;
      const token = jwt();
      await store.denyJwt(token, claims());
      await store.revokeKey("key-9");
      expect((await store.changes(start)).events).toEqual([
        { type: "token", hash: sha(token) },
        { type: "key", keyId: "key-9" },
      ]);
      const res = await store.lookupJwt(sha(token), claims(), start);
      expect(res.verdict.state).toBe("revoked");
      expect((await store.lookupJwt(sha(jwt()), claims({ keyId: "key-9" }))).verdict.state).toBe("revoked");
      expect((await store.lookupJwt(sha(jwt()), claims())).verdict.state).toBe("live");
    });

    it("refuses malformed claims and key ids, and never names the raw token", async () => {
      const token = jwt();
      const bad: Partial<Record<keyof JwtClaims, unknown>>[] = [
        { subject: "x\ud800" },
        { subject: "" },
        { keyId: "k\udc00" },
        { id: "j".repeat(257) },
        { issuedAt: undefined },
        { expiresAt: "soon" },
        { issuedAt: new Date(t + 2 * HOUR) },
        { issuedAt: new Date(t), expiresAt: new Date(t + 31 * 24 * HOUR) },
      ];
      for (const o of bad) {
        const c = { ...claims(), ...o } as JwtClaims;
        for (const call of [() => store.checkJwt(token, c), () => store.denyJwt(token, c)]) {
          const e = await call().then(
            () => undefined,
            (x: unknown) => x as StorageError,
          );
          expect(e?.err, JSON.stringify(o)).toBe(ErrInvalidMetadata);
          expect(JSON.stringify([e?.message, e?.stack])).not.toContain(token);
        }
      }
      for (const keyId of ["", "k\ud800", "k".repeat(257)])
        expect(await code(store.revokeKey(keyId))).toBe(ErrInvalidMetadata);
      const revoked = await store
        .denyJwt(token, claims())
        .then(() => store.checkJwt(token, claims()))
        .catch((x: StorageError) => x);
      expect(JSON.stringify([(revoked as StorageError).message, (revoked as StorageError).key])).not.toContain(token);
      expect((revoked as StorageError).key).toBe(sha(token).slice(0, 12));
    });

    it("refuses to store a token that would outlive maxTokenLifetime", async () => {
      expect(
        await code(store.store(jwt(), { id: "too-long", subject: "s", expiresAt: new Date(t + 31 * 24 * HOUR) })),
      ).toBe(ErrInvalidMetadata);
      expect(
        await code(store.store(jwt(), { id: "just-ok", subject: "s", expiresAt: new Date(t + 30 * 24 * HOUR) })),
      ).toBe("ok");
    });
  });
}
