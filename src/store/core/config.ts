// The settings every backend shares, checked once when a store is built.
import { ErrInvalidConfig, StorageError } from "./errors.js";
import { DEFAULT_MAX_TOKEN_LIFETIME_MS, DEFAULT_TTL_MS, type BaseStoreConfig } from "./types.js";

export interface ResolvedBaseConfig {
  readonly hashKey: string | undefined;
  readonly previousHashKeys: readonly string[];
  readonly defaultTtl: number;
  readonly now: () => number;
  readonly maxTokenLifetime: number;
}

/** Checks the settings every backend shares; a bad one rejects naming the field. */
export function resolveBaseConfig(config: BaseStoreConfig | undefined, op = "create"): ResolvedBaseConfig {
  if (config !== undefined && (typeof config !== "object" || config === null || Array.isArray(config))) {
    throw new StorageError(op, "config", ErrInvalidConfig, "config must be an object");
  }
  // read Date.now on every call, not once: fake timers and clock changes are seen
  const { hashKey, defaultTtl = DEFAULT_TTL_MS, now = () => Date.now() } = config ?? {};
  if (hashKey !== undefined && (typeof hashKey !== "string" || hashKey.length === 0)) {
    throw new StorageError(op, "hashKey", ErrInvalidConfig, "hashKey must be a non-empty string when set");
  }
  if (typeof defaultTtl !== "number" || !Number.isSafeInteger(defaultTtl) || defaultTtl <= 0) {
    throw new StorageError(
      op,
      "defaultTtl",
      ErrInvalidConfig,
      "defaultTtl must be a positive whole number of milliseconds",
    );
  }
  if (typeof now !== "function") {
    throw new StorageError(op, "now", ErrInvalidConfig, "now must be a function returning epoch milliseconds");
  }
  const maxTokenLifetime = wholeNumber("maxTokenLifetime", config?.maxTokenLifetime, DEFAULT_MAX_TOKEN_LIFETIME_MS);
  const previousHashKeys = config?.previousHashKeys ?? [];
  if (
    !Array.isArray(previousHashKeys) ||
    previousHashKeys.length > 4 ||
    previousHashKeys.some((k) => typeof k !== "string" || k.length === 0 || k === hashKey)
  ) {
    throw new StorageError(
      op,
      "previousHashKeys",
      ErrInvalidConfig,
      "previousHashKeys must be at most 4 non-empty strings, none equal to hashKey",
    );
  }
  if (previousHashKeys.length > 0 && hashKey === undefined)
    throw new StorageError(op, "previousHashKeys", ErrInvalidConfig, "previousHashKeys needs hashKey");
  if (defaultTtl > maxTokenLifetime)
    throw new StorageError(op, "defaultTtl", ErrInvalidConfig, "defaultTtl must not be longer than maxTokenLifetime");
  return { hashKey, previousHashKeys, defaultTtl, now, maxTokenLifetime };
}

/** A whole-number setting of at least `min` (1 unless given); a bad one rejects naming it. */
export function wholeNumber(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new StorageError("create", name, ErrInvalidConfig, `${name} must be a whole number, ${min} or more`);
  }
  return value;
}
