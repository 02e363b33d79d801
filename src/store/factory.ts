import { ErrInvalidConfig, StorageError } from "./errors.js";
import { MemoryTokenStore } from "./memory.js";
import type { MemoryStoreConfig, TokenStore } from "./types.js";

export type StoreKind = "memory";

/**
 * Creates a store of the given kind. An unknown kind or a malformed config rejects with
 * StorageError / ErrInvalidConfig, whose `key` names the offending setting.
 */
export async function createTokenStore(kind: "memory", config?: MemoryStoreConfig): Promise<TokenStore>;
export async function createTokenStore(kind: StoreKind, config?: MemoryStoreConfig): Promise<TokenStore> {
  switch (kind) {
    case "memory":
      return new MemoryTokenStore(config);
    default:
      throw new StorageError("create", "kind", ErrInvalidConfig, `unknown store kind ${JSON.stringify(String(kind))}; expected "memory"`);
  }
}
