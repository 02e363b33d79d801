import { ErrInvalidConfig, StorageError } from "./core/errors.js";
import { MemoryTokenStore } from "./memory/store.js";
import { RedisTokenStore } from "./redis/store.js";
import type { MemoryStoreConfig, TokenStore } from "./core/types.js";
import type { RedisStoreConfig } from "./redis/config.js";

export type StoreKind = "memory" | "redis";

/**
 * Creates a store of the given kind. An unknown kind or a malformed config rejects with
 * StorageError / ErrInvalidConfig, whose `key` names the offending setting.
 */
export async function createTokenStore(kind: "memory", config?: MemoryStoreConfig): Promise<MemoryTokenStore>;
export async function createTokenStore(kind: "redis", config: RedisStoreConfig): Promise<RedisTokenStore>;
export async function createTokenStore(
  kind: StoreKind,
  config?: MemoryStoreConfig | RedisStoreConfig,
): Promise<TokenStore> {
  switch (kind) {
    case "memory":
      return new MemoryTokenStore(config);
    case "redis":
      if (config === undefined)
        throw new StorageError(
          "create",
          "config",
          ErrInvalidConfig,
          "the redis store needs a config with url and token",
        );
      return new RedisTokenStore(config);
    default:
      throw new StorageError(
        "create",
        "kind",
        ErrInvalidConfig,
        `unknown store kind ${JSON.stringify(String(kind))}; expected "memory" or "redis"`,
      );
  }
}
