/**
 * Test helpers for the memory backend: its indexes read directly, and other peppers over the same
 * data. They reach the store's private fields by name (`store["byHash"]`), which TypeScript
 * allows and type-checks, so the store carries no method for tests and a renamed field fails tsc.
 */
import { MemoryTokenStore } from "../../src/store/memory/index.js";
import type { IndexSnapshot } from "./invariants.js";

/** The store's indexes as they are. */
export function memorySnapshot(store: MemoryTokenStore): IndexSnapshot {
  const byHash = store["byHash"];
  return {
    tokens: [...byHash.values()].map(({ hash, id, subject, expiresAt, revokedAt }) => ({
      hash,
      id,
      subject,
      expiresAt,
      ...(revokedAt === undefined ? {} : { revokedAt }),
    })),
    ids: [...store["byId"]].map(([id, e]) => [id, e.hash]),
    subjects: [...store["bySubject"]].map(([s, set]) => [s, [...set].map((e) => e.hash)]),
    // the heap keeps replaced entries until they are popped: only current ones are listed
    expiry: store["expiry"]
      .values()
      .filter((e) => byHash.get(e.hash) === e)
      .map((e) => e.hash),
  };
}

/**
 * Key rotation in place: the store hashes with other peppers from now on, over the same data (a
 * real isolate gets new settings only by starting afresh, with an empty store). The hashers come
 * from a store built with the same clock and lifetimes, so the peppers are checked as at creation.
 */
export function rehash(store: MemoryTokenStore, peppers: { hashKey?: string; previousHashKeys?: string[] }): void {
  store["hashers"] = new MemoryTokenStore({
    ...peppers,
    now: store["now"],
    defaultTtl: store["defaultTtl"],
    maxTokenLifetime: store["maxTokenLifetime"],
  })["hashers"];
}

/** The names under each kind of revocation mark the store still keeps (lapsed ones until cleanup sweeps them). */
export function memoryMarks(store: MemoryTokenStore): Record<"cutoffs" | "keys" | "families" | "denied", string[]> {
  const r = store["revocations"];
  return {
    cutoffs: [...r["cutoffs"].keys()],
    keys: [...r["keys"].keys()],
    families: [...r["families"].keys()],
    denied: [...r["denied"].keys()],
  };
}
