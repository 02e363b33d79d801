import { createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ErrTokenNotFound, ErrTokenRevoked, StorageError, type TokenStore } from "../../../src/index.js";
import type { FeedStore } from "../../../src/store/index.js";
import type { FeedStoreFactory } from "./feed.js";
import type { ContractHarness } from "./token-store.js";
import { indexViolations } from "../../support/invariants.js";

const HOUR = 3_600_000;
const hmac = (key: string, raw: string) => createHmac("sha256", key).update(raw).digest("hex");

/**
 * Rotating the pepper (TOKEN_HASH_KEY → TOKEN_HASH_KEY_PREVIOUS): every token operation finds
 * a token stored under the previous pepper in its one round trip and moves it to the current.
 */
export function rotationContract(name: string, factory: FeedStoreFactory): void {
  describe(`${name}: hash key rotation`, () => {
    let t = Math.floor(Date.now() / 1000) * 1000;
    const made: ContractHarness[] = [];
    let h: ContractHarness & { store: FeedStore };
    let n = 0;
    const tok = () => `raw-rotation-${++n}-${Math.random().toString(36).slice(2)}`;
    beforeEach(async () => {
      t = Math.floor(Date.now() / 1000) * 1000;
      h = await factory({ now: () => t, hashKey: "pepper-old" });
      made.push(h);
    });
    afterEach(async () => {
      for (const x of made.splice(0)) {
        await x.store.close();
        await x.dispose?.();
      }
    });
    const rotate = (previousHashKeys: string[] = ["pepper-old"]) =>
      h.reopen!({ hashKey: "pepper-new", previousHashKeys });
    const hashes = async () => (await h.snapshot()).tokens.map((x) => x.hash).sort();
    const code = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (e: StorageError) => e.err.code,
      );

    it("finds a token stored under the previous pepper in every token operation, and moves it", async () => {
      const ops: [string, (s: TokenStore, token: string) => Promise<unknown>, string][] = [
        ["get", (s, x) => s.get(x), "ok"],
        ["isRevoked", (s, x) => s.isRevoked(x), "ok"],
        ["revoke", (s, x) => s.revoke(x), "ok"],
        ["delete", (s, x) => s.delete(x), "ok"],
        ["store", (s, x) => s.store(x, { id: `again-${x}`, subject: "rot" }), "ok"],
      ];
      const tokens = ops.map(() => tok());
      for (const [i, x] of tokens.entries())
        await h.store.store(x, { id: `id-${i}`, subject: "rot", expiresAt: new Date(t + HOUR) });
      expect(await hashes()).toEqual(tokens.map((x) => hmac("pepper-old", x)).sort());
      const rotated = await rotate();
      for (const [i, [op, call, expected]] of ops.entries())
        expect(await code(call(rotated, tokens[i]!)), op).toBe(expected);
      const after = await h.snapshot();
      // deleted is gone; every other token now sits under the new pepper, indexes intact
      expect(after.tokens.map((x) => x.hash).sort()).toEqual(
        tokens
          .filter((_, i) => ops[i]![0] !== "delete")
          .map((x) => hmac("pepper-new", x))
          .sort(),
      );
      expect(indexViolations(after, t)).toEqual([]);
      expect(await code(rotated.get(tokens[2]!))).toBe(ErrTokenRevoked.code);
      expect((await rotated.get(tokens[4]!)).id).toBe(`again-${tokens[4]}`);
      expect(await code(rotated.get(tokens[3]!))).toBe(ErrTokenNotFound.code);
      expect((await rotated.list("rot")).map((m) => m.id).sort()).toEqual(
        ["again-" + tokens[4], "id-0", "id-1"].sort(),
      );
    });

    it("keeps a revocation made under the previous pepper: the token stays revoked after rotation, in get and isRevoked", async () => {
      const [viaGet, viaIsRevoked] = [tok(), tok()];
      for (const x of [viaGet, viaIsRevoked]) {
        await h.store.store(x, { id: `rv-${x}`, subject: "rot-revoked", expiresAt: new Date(t + HOUR) });
        await h.store.revoke(x);
      }
      const rotated = await rotate();
      // each token's first read after rotation is the one that moves it to the new pepper
      expect(await code(rotated.get(viaGet))).toBe(ErrTokenRevoked.code);
      expect(await rotated.isRevoked(viaIsRevoked)).toBe(true);
      expect(await rotated.isRevoked(viaGet)).toBe(true);
      expect(await code(rotated.get(viaIsRevoked))).toBe(ErrTokenRevoked.code);
      expect(await rotated.list("rot-revoked")).toEqual([]);
    });

    it("keeps a token live and revocable through the zero-downtime procedure: previous = old, wait one lifetime, drop previous", async () => {
      const before = tok();
      await h.store.store(before, { id: "before", subject: "proc", expiresAt: new Date(t + HOUR) });
      const rotated = await rotate();
      expect((await rotated.get(before)).id).toBe("before"); // still live after the rotation
      const during = tok();
      await rotated.store(during, { id: "during", subject: "proc", expiresAt: new Date(t + 3 * HOUR) });
      t += HOUR + 1; // one token lifetime: everything stored under the old pepper has expired
      const final = await h.reopen!({ hashKey: "pepper-new", previousHashKeys: [] });
      expect((await final.get(during)).id).toBe("during");
      await final.revoke(during);
      expect(await code(final.get(during))).toBe(ErrTokenRevoked.code);
      // the old token had been moved by its first use; it is now simply expired
      expect(await code(final.get(before))).toBe("token_expired");
    });

    it("finds tokens through the verdict cache's lookup and a deny-listed JWT under the previous pepper", async () => {
      const [stored, jwt] = [tok(), tok()];
      await h.store.store(stored, { id: "cached", subject: "c", expiresAt: new Date(t + HOUR) });
      const claims = { subject: "j", issuedAt: new Date(t - 1000), expiresAt: new Date(t + HOUR) };
      await h.store.denyJwt(jwt, claims);
      const rotated = (await rotate()) as FeedStore;
      const { hash, previous } = await rotated.tokenHashes(stored);
      expect([hash, previous]).toEqual([hmac("pepper-new", stored), [hmac("pepper-old", stored)]]);
      expect((await rotated.lookup(hash, undefined, previous)).verdict.state).toBe("live");
      expect(await code(rotated.checkJwt(jwt, claims))).toBe(ErrTokenRevoked.code);
      const final = await h.reopen!({ hashKey: "pepper-new", previousHashKeys: [] });
      expect((await final.get(stored)).id).toBe("cached"); // moved by the lookup
      expect(await code(final.checkJwt(jwt, claims))).toBe(ErrTokenRevoked.code); // the deny-list entry moved too
    });
  });
}
