import type { ChangeEvent } from "../core/feed.js";
import { waitAtMost } from "../../util/wait.js";
import { ErrInvalidConfig, StorageError } from "../core/errors.js";
import { toHex } from "../core/hash.js";
import { wholeNumber } from "../core/config.js";
import type { Cached } from "./entry.js";

/**
 * What the data-center tier needs of the Workers Cache API: `caches.open(name)` gives one, and a
 * test or a Node program passes its own. Nothing it answers is trusted: every entry is checked.
 */
export interface SharedCache {
  match(request: Request): Promise<Response | undefined>;
  put(request: Request, response: Response): Promise<void>;
}

export interface SharedTierOptions {
  /** The cache shared by the isolates of one data center (a named Workers cache, never caches.default). */
  cache: SharedCache;
  /** The secret entries are authenticated under (the Worker passes TOKEN_HASH_KEY, or without one the Upstash token). */
  secret: string;
  /** What entries belong to (the Worker: the Upstash URL and key prefix): another scope's entries fail. */
  scope: string;
  /**
   * The longest a request waits for the tier; a slower answer is skipped (the store is asked),
   * and so is the tier for a second after a failure or timeout.
   * @default 25
   */
  timeoutMs?: number;
}

/** A change as an isolate logged it: `upTo` bounds its sequence number from above. */
export interface LoggedChange {
  readonly upTo: number;
  readonly event: ChangeEvent;
}

/**
 * A feed read that reached the head, as one isolate shares it: sent at `sentAt`, the feed's head
 * was then at most `to`, and `changes` holds every change after `from` up to `to`.
 */
export interface SharedFeedRead {
  epoch: string;
  from: number;
  to: number;
  sentAt: number;
  changes: LoggedChange[];
}

/**
 * A verdict from a lookup, as shared: `cached` read by a lookup sent at `cached.fetchedAt`, whose
 * feed part ended at `position` of `epoch` (so it reflects every change up to at least there).
 */
export interface SharedVerdict {
  epoch: string;
  position: number;
  cached: Cached;
}

/** The tier's own counters. */
export interface SharedTierStats {
  /** Verdict entries found that verified. */
  sharedHits: number;
  /** Verdict lookups that found nothing. */
  sharedMisses: number;
  /** Entries ignored: a bad signature, a garbled body, another scope's or another key's entry. */
  sharedRejected: number;
  /** Reads or writes that failed or took longer than timeoutMs. */
  sharedFailures: number;
}

const encoder = new TextEncoder();
const BASE = "https://dc-tier.edge-token-store.invalid/";
/** After a failure or a timeout the tier is skipped this long. */
const BACKOFF_MS = 1_000;

/**
 * The data-center tier: verdicts and feed reads shared between the isolates of one data center
 * through the Workers Cache API. It authenticates entries and reads them back, nothing more:
 * whether an entry is within the bound is the verdict cache's decision (docs/verdict-cache.md).
 * Every entry is an HMAC-SHA-256 under a key derived from `secret` and `scope`, over its URL and
 * body, so an entry cannot be forged, moved to another token, or read into another deployment
 * or key prefix; the key derivation names the entry format (v2: verdicts carry their family),
 * so a deployment that writes another format cannot be read either (a v1 verdict without its
 * family would escape a family revocation). Entries hold token hashes, never a raw token.
 */
export class SharedTier {
  private readonly cache: SharedCache;
  private readonly timeoutMs: number;
  private readonly key: Promise<{ mac: CryptoKey; base: string }>;
  private skipUntil = 0;
  private readonly counters: SharedTierStats = { sharedHits: 0, sharedMisses: 0, sharedRejected: 0, sharedFailures: 0 };

  constructor(options: SharedTierOptions) {
    if (!options.secret || typeof options.cache?.match !== "function" || typeof options.cache.put !== "function")
      throw new StorageError("create", "shared", ErrInvalidConfig, "the shared tier needs a secret and a cache");
    this.cache = options.cache;
    this.timeoutMs = wholeNumber("shared.timeoutMs", options.timeoutMs, 25);
    this.key = deriveKey(options.secret, String(options.scope));
  }

  stats(): SharedTierStats {
    return { ...this.counters };
  }

  /** The newest feed read another isolate shared, if one verifies. */
  async feed(): Promise<SharedFeedRead | undefined> {
    return (await this.get("feed")) as SharedFeedRead | undefined;
  }

  publishFeed(read: SharedFeedRead, ttlMs: number): Promise<void> {
    return this.put("feed", read, ttlMs);
  }

  /** When another isolate last said it sent a feed read to the store (a hint: it only saves a duplicate read). */
  async syncStarted(): Promise<number | undefined> {
    return (await this.get("sync")) as number | undefined;
  }

  announceSync(sentAt: number, ttlMs: number): Promise<void> {
    return this.put("sync", sentAt, ttlMs);
  }

  /**
   * The shared verdict for a token hash, if one verifies. An entry is the cached verdict's own
   * fields (dates as numbers; an unknown verdict's endless expiry comes back as null, which
   * nothing reads), written by this code under this key, so it is taken as it is.
   */
  async verdict(hash: string): Promise<SharedVerdict | undefined> {
    return (await this.get(`v/${hash}`, true)) as SharedVerdict | undefined;
  }

  publishVerdict(hash: string, entry: SharedVerdict, ttlMs: number): Promise<void> {
    return this.put(`v/${hash}`, entry, ttlMs);
  }

  /**
   * The value at `path` if its entry verifies; undefined when there is none (a miss), when it
   * does not verify or parse (rejected), or when the tier is slow or fails.
   */
  private async get(path: string, isVerdict = false): Promise<unknown> {
    const found = await this.bounded(async (): Promise<{ miss?: true; value?: unknown }> => {
      const { mac, base } = await this.key;
      const url = base + path;
      const text = await (await this.cache.match(new Request(url)))?.text();
      if (text === undefined) return { miss: true };
      const signature = /^[0-9a-f]{64}/.test(text)
        ? Uint8Array.from(text.slice(0, 64).match(/../g)!, (h) => parseInt(h, 16))
        : new Uint8Array();
      const body = text.slice(64);
      if (await crypto.subtle.verify("HMAC", mac, signature, encoder.encode(`${url}\n${body}`)))
        return { value: JSON.parse(body) as unknown };
      return {};
    });
    if (found === undefined) return undefined;
    if (!found.miss && !("value" in found)) this.counters.sharedRejected++;
    // hits and misses count verdicts: what a check found
    else if (isVerdict) this.counters[found.miss ? "sharedMisses" : "sharedHits"]++;
    return found.value;
  }

  private async put(path: string, value: unknown, ttlMs: number): Promise<void> {
    // the value as it is now: what the caller goes on to change is not in the entry
    const body = JSON.stringify(value);
    await this.bounded(async () => {
      const { mac, base } = await this.key;
      const url = base + path;
      const signature = toHex(await crypto.subtle.sign("HMAC", mac, encoder.encode(`${url}\n${body}`)));
      // max-age counts whole seconds and is only a hint: every entry carries its own times
      const headers = { "Cache-Control": `max-age=${Math.ceil(ttlMs / 1000)}` };
      await this.cache.put(new Request(url), new Response(signature + body, { headers }));
    });
  }

  /** Runs one tier call for at most timeoutMs; a failure or timeout skips the tier for a while. */
  private async bounded<T>(call: () => Promise<T>): Promise<T | undefined> {
    if (Date.now() < this.skipUntil) return undefined;
    let outcome: { value: T } | undefined;
    await waitAtMost(
      call().then((value) => (outcome = { value })),
      this.timeoutMs,
    );
    if (outcome === undefined) {
      this.counters.sharedFailures++;
      this.skipUntil = Date.now() + BACKOFF_MS;
    }
    return outcome?.value;
  }
}

async function deriveKey(secret: string, scope: string): Promise<{ mac: CryptoKey; base: string }> {
  const hmac = { name: "HMAC", hash: "SHA-256" };
  const root = await crypto.subtle.importKey("raw", encoder.encode(secret), hmac, false, ["sign"]);
  const derived = await crypto.subtle.sign("HMAC", root, encoder.encode(`edge-token-store dc-tier v2\0${scope}`));
  const mac = await crypto.subtle.importKey("raw", derived, hmac, false, ["sign", "verify"]);
  // the scope's own path, so two deployments or prefixes on one zone never share a URL
  return { mac, base: `${BASE}${toHex(await crypto.subtle.sign("HMAC", mac, encoder.encode("scope"))).slice(0, 24)}/` };
}
