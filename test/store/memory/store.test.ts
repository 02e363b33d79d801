import { describe, expect, it } from "vitest";
import { createTokenStore, ErrInvalidConfig, MemoryTokenStore, StorageError } from "../../../src/index.js";
import { feedContract, type FeedStoreFactory } from "../contract/feed.js";
import { auditContract } from "../contract/audit.js";
import { rotationContract } from "../contract/rotation.js";
import { familiesContract } from "../contract/families.js";
import { jwtContract } from "../contract/jwt.js";
import { tokenStoreContract } from "../contract/token-store.js";
import { memorySnapshot, rehash } from "../../support/memory.js";

/** A fresh store; `reopen` rehashes the same one (a memory store only changes peppers in tests). */
const factory: FeedStoreFactory = async (options) => {
  const store = new MemoryTokenStore(options);
  return {
    store,
    snapshot: async () => memorySnapshot(store),
    reopen: async (o) => {
      rehash(store, o);
      return store;
    },
  };
};

tokenStoreContract("memory", factory);
feedContract("memory", factory);
auditContract("memory", async (auditMaxRecords) => {
  const store = new MemoryTokenStore({ auditMaxRecords });
  return { log: store.audit, held: async () => (await store.audit.list({ limit: 1000 })).records.length };
});
jwtContract("memory", factory);
rotationContract("memory", factory);
familiesContract("memory", factory);

describe("createTokenStore", () => {
  it("creates a working memory store", async () => {
    const store = await createTokenStore("memory");
    expect(store).toBeInstanceOf(MemoryTokenStore);
    await store.store("tok", { id: "1", subject: "s" });
    expect((await store.get("tok")).subject).toBe("s");
  });

  const bad: [string, unknown, unknown, string][] = [
    ["an unknown kind", "postgres", undefined, "kind"],
    ["a config that is not an object", "memory", "fast", "config"],
    ["an empty hashKey", "memory", { hashKey: "" }, "hashKey"],
    ["a negative defaultTtl", "memory", { defaultTtl: -1 }, "defaultTtl"],
    ["a fractional defaultTtl", "memory", { defaultTtl: 1.5 }, "defaultTtl"],
    ["a string defaultTtl", "memory", { defaultTtl: "1h" }, "defaultTtl"],
    ["a clock that is not a function", "memory", { now: 5 }, "now"],
    ["a zero cleanupBatchSize", "memory", { cleanupBatchSize: 0 }, "cleanupBatchSize"],
    ["a negative reuseGraceMs", "memory", { reuseGraceMs: -1 }, "reuseGraceMs"],
    ["a fractional reuseGraceMs", "memory", { reuseGraceMs: 0.5 }, "reuseGraceMs"],
    ["a string reuseGraceMs", "memory", { reuseGraceMs: "5s" }, "reuseGraceMs"],
    [
      "a reuseGraceMs beyond maxTokenLifetime",
      "memory",
      { reuseGraceMs: 3_600_001, maxTokenLifetime: 3_600_000, defaultTtl: 60_000 },
      "reuseGraceMs",
    ],
  ];
  for (const [what, kind, config, field] of bad) {
    it(`rejects ${what} with ErrInvalidConfig naming ${field}`, async () => {
      const e = await createTokenStore(kind as "memory", config as never).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StorageError);
      expect((e as StorageError).err).toBe(ErrInvalidConfig);
      expect((e as StorageError).key).toBe(field);
      expect((e as StorageError).message).toMatch(new RegExp(`^store\\.create: ${field}: invalid config - `));
    });
  }
});
