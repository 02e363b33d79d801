import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import type { GetHints } from "../store/core/types.js";
import { waitAtMost } from "../util/wait.js";

/** The key set could not be fetched and no key is cached: fail closed (503). */
export class KeySetUnavailable extends Error {
  override readonly name = "KeySetUnavailable";
}

export interface KeySetOptions {
  /** Where to fetch the JWKS (`JWT_JWKS_URL`). */
  url?: string;
  /** A static key set (`JWT_JWKS`); nothing is fetched. */
  jwks?: JSONWebKeySet;
  /** How long a fetched set is used before it is refreshed in the background. @default 600_000 */
  lifetimeMs?: number;
  /** At most one refetch for an unknown `kid` per this many ms. @default 30_000 */
  cooldownMs?: number;
  /** A fetch is abandoned after this many ms. @default 2_000 */
  timeoutMs?: number;
  now?: () => number;
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

/** With no key at all, a failed fetch is retried at most this often. */
const RETRY_WITHOUT_KEYS_MS = 1_000;

/**
 * A JWKS cached per isolate. Keys in hand keep working while a refresh fails; an unknown
 * `kid` triggers one refetch per cooldown; a fetch has a timeout and is shared by the
 * requests that need it (each waits at most the timeout).
 */
export class KeySet {
  /** Fetches started (the tests count them). */
  fetches = 0;
  private local: JWTVerifyGetKey | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;
  private readonly lifetimeMs: number;
  private readonly cooldownMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly options: KeySetOptions) {
    if ((options.url === undefined) === (options.jwks === undefined))
      throw new TypeError("KeySet: give exactly one of url and jwks");
    if (options.jwks !== undefined) this.local = createLocalJWKSet(options.jwks);
    this.lifetimeMs = options.lifetimeMs ?? 600_000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.now = options.now ?? (() => Date.now());
  }

  /** The key for a token's protected header; rejects with jose's JWKSNoMatchingKey, or KeySetUnavailable. */
  async key(
    header: Parameters<JWTVerifyGetKey>[0],
    token: Parameters<JWTVerifyGetKey>[1],
    hints?: GetHints,
  ): Promise<CryptoKey> {
    if (this.options.url !== undefined) {
      const now = this.now();
      if (this.local === undefined) {
        if (this.pending === undefined && now - this.lastAttempt < RETRY_WITHOUT_KEYS_MS)
          throw new KeySetUnavailable("the key set could not be fetched");
        await this.refresh(hints).catch(() => undefined);
        if (this.local === undefined) throw new KeySetUnavailable("the key set could not be fetched");
      } else if (now - this.fetchedAt >= this.lifetimeMs && now - this.lastAttempt >= this.cooldownMs) {
        void this.refresh(hints).catch(() => undefined); // keep using the keys in hand meanwhile
      }
    }
    const local = this.local!;
    try {
      return (await local(header, token)) as CryptoKey;
    } catch (e) {
      const unknownKid = (e as { code?: string }).code === "ERR_JWKS_NO_MATCHING_KEY";
      if (!unknownKid || this.options.url === undefined || this.now() - this.lastAttempt < this.cooldownMs) throw e;
      await this.refresh(hints).catch(() => undefined);
      return (await this.local!(header, token)) as CryptoKey;
    }
  }

  /**
   * One fetch at a time; concurrent callers share it, each waiting at most the timeout. Callers
   * look at `local` afterwards rather than at how the fetch ended.
   */
  private refresh(hints: GetHints | undefined): Promise<void> {
    if (this.pending !== undefined) return waitAtMost(this.pending, this.timeoutMs + 100);
    this.lastAttempt = this.now();
    this.fetches++;
    const doFetch = this.options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
    const run = doFetch(this.options.url!, {
      headers: { accept: "application/jwk-set+json, application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(this.timeoutMs),
    }).then(async (res) => {
      if (res.status !== 200) throw new KeySetUnavailable(`the key set answered ${res.status}`);
      const next = createLocalJWKSet((await res.json()) as JSONWebKeySet);
      this.local = next;
      this.fetchedAt = this.now();
    });
    const settled = run.finally(() => {
      if (this.pending === settled) this.pending = undefined;
    });
    this.pending = settled;
    hints?.waitUntil?.(settled.catch(() => undefined));
    return settled;
  }
}
