import { createLocalJWKSet, type JSONWebKeySet, type CompactVerifyGetKey } from "jose";
import type { GetHints } from "../store/core/index.js";
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

/** A key set in hand: jose's resolver and a fingerprint of the keys each `kid` names. */
interface Loaded {
  readonly resolve: CompactVerifyGetKey;
  /** `kid` → the JSON of every key with that kid, in set order (what jose chooses among for that kid). */
  readonly prints: ReadonlyMap<string, string>;
  /** The JSON of every key: what a token without a kid is verified against. */
  readonly all: string;
}

/**
 * Throws jose's JWKSInvalid for a malformed set, like createLocalJWKSet. A print that did not
 * change since `previous` is that same string, so comparing it stays a pointer comparison.
 */
function load(jwks: JSONWebKeySet, previous?: Loaded): Loaded {
  const resolve = createLocalJWKSet(jwks);
  const byKid = new Map<string, unknown[]>();
  for (const k of jwks.keys) {
    if (typeof k.kid !== "string") continue; // never a candidate for a token with a kid
    const list = byKid.get(k.kid);
    if (list === undefined) byKid.set(k.kid, [k]);
    else list.push(k);
  }
  const same = (json: string, old: string | undefined) => (old === json ? old : json);
  const prints = new Map([...byKid].map(([kid, keys]) => [kid, same(JSON.stringify(keys), previous?.prints.get(kid))]));
  return { resolve, prints, all: same(JSON.stringify(jwks.keys), previous?.all) };
}

/**
 * A JWKS cached per isolate. Keys in hand keep working while a refresh fails; an unknown
 * `kid` triggers one refetch per cooldown; a fetch has a timeout and is shared by the
 * requests that need it (each waits at most the timeout).
 */
export class KeySet {
  /** Fetches started (the tests count them). */
  fetches = 0;
  private local: Loaded | undefined;
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
    if (options.jwks !== undefined) this.local = load(options.jwks);
    this.lifetimeMs = options.lifetimeMs ?? 600_000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.now = options.now ?? (() => Date.now());
  }

  /**
   * The key for a token's protected header; rejects with jose's JWKSNoMatchingKey, or
   * KeySetUnavailable. `seen` is told the {@link print} of the keys the answer came from, taken
   * from the very set that answered (a refresh meanwhile cannot mix two sets up).
   */
  async key(
    header: Parameters<CompactVerifyGetKey>[0],
    token: Parameters<CompactVerifyGetKey>[1],
    hints?: GetHints,
    seen?: (print: string | undefined) => void,
  ): Promise<CryptoKey> {
    if (this.options.url !== undefined) {
      const now = this.now();
      if (this.local === undefined) {
        if (this.pending === undefined && now - this.lastAttempt < RETRY_WITHOUT_KEYS_MS)
          throw new KeySetUnavailable("the key set could not be fetched");
        await this.refresh(hints).catch(() => undefined);
        if (this.local === undefined) throw new KeySetUnavailable("the key set could not be fetched");
      } else {
        this.refreshIfDue(hints);
      }
    }
    const { kid } = header;
    let local = this.local!;
    try {
      const key = (await local.resolve(header, token)) as CryptoKey;
      seen?.(printOf(local, kid));
      return key;
    } catch (e) {
      const unknownKid = (e as { code?: string }).code === "ERR_JWKS_NO_MATCHING_KEY";
      if (!unknownKid || this.options.url === undefined || this.now() - this.lastAttempt < this.cooldownMs) throw e;
      await this.refresh(hints).catch(() => undefined);
      local = this.local!;
      const key = (await local.resolve(header, token)) as CryptoKey;
      seen?.(printOf(local, kid));
      return key;
    }
  }

  /**
   * A fingerprint of the keys a token with this `kid` is verified against in the set in hand:
   * the JSON of every key with that kid (of every key, for no kid), or undefined when the set
   * holds no such key, or none has been fetched yet. It never fetches. While it is unchanged
   * a token that verified under it still would (the verifier's cache relies on this); a key
   * removed or replaced under the same kid changes it.
   */
  print(kid: unknown): string | undefined {
    return this.local === undefined ? undefined : printOf(this.local, kid);
  }

  /**
   * Starts a background refresh when a fetched set is past its lifetime (and no attempt was
   * made within the cooldown), as {@link key} does: callers that skip `key` (the verifier's
   * cache hits) call it so a busy isolate still notices keys removed from the set.
   */
  refreshIfDue(hints?: GetHints): void {
    if (this.options.url === undefined || this.local === undefined) return;
    const now = this.now();
    if (now - this.fetchedAt >= this.lifetimeMs && now - this.lastAttempt >= this.cooldownMs)
      void this.refresh(hints).catch(() => undefined); // keep using the keys in hand meanwhile
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
      const next = load((await res.json()) as JSONWebKeySet, this.local);
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

/** What jose chooses among: the keys with exactly that `kid`, every key when the header has none, none for a `kid` that is not a string. */
function printOf(local: Loaded, kid: unknown): string | undefined {
  if (kid === undefined) return local.all;
  return typeof kid === "string" ? local.prints.get(kid) : undefined;
}
