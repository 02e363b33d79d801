import type { ChangeEvent, Verdict } from "../core/feed.js";
import { ErrInvalidConfig, StorageError } from "../core/errors.js";
import { wholeNumber } from "../core/validate.js";
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
  /** The secret entries are authenticated under (the Worker passes its pepper, TOKEN_HASH_KEY). */
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
 * A verdict from a lookup, as shared: read by a lookup sent at `fetchedAt` whose feed part ended
 * at `position` of `epoch` (so the verdict reflects every change up to at least that position).
 */
export interface SharedVerdict {
  epoch: string;
  position: number;
  fetchedAt: number;
  verdict: Verdict;
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
 * through the Workers Cache API. It authenticates and parses entries, nothing more: whether an
 * entry is within the bound is the verdict cache's decision (docs/verdict-cache.md). Every entry
 * is an HMAC-SHA-256 under a key derived from `secret` and `scope`, over its URL and body, so an
 * entry cannot be forged, moved to another token, or read into another deployment or key prefix.
 * Entries hold token hashes, never a raw token.
 */
export class SharedTier {
  readonly timeoutMs: number;
  private readonly cache: SharedCache;
  private readonly key: Promise<{ mac: CryptoKey; base: string }>;
  private skipUntil = Number.NEGATIVE_INFINITY;
  private readonly counters: SharedTierStats = { sharedHits: 0, sharedMisses: 0, sharedRejected: 0, sharedFailures: 0 };

  constructor(options: SharedTierOptions) {
    if (typeof options.secret !== "string" || options.secret.length === 0)
      throw new StorageError("create", "shared.secret", ErrInvalidConfig, "the shared tier needs a secret");
    if (typeof options.cache?.match !== "function" || typeof options.cache.put !== "function")
      throw new StorageError(
        "create",
        "shared.cache",
        ErrInvalidConfig,
        "the shared tier needs a cache with match and put",
      );
    this.cache = options.cache;
    this.timeoutMs = wholeNumber("shared.timeoutMs", options.timeoutMs, 25);
    this.key = deriveKey(options.secret, String(options.scope));
  }

  stats(): SharedTierStats {
    return { ...this.counters };
  }

  /** The newest feed read another isolate shared, if one verifies. */
  async feed(): Promise<SharedFeedRead | undefined> {
    const body = await this.read("feed");
    return body === undefined ? undefined : this.parsed(() => parseFeed(body));
  }

  publishFeed(read: SharedFeedRead, ttlMs: number): Promise<void> {
    const changes = read.changes.map((c) => [c.upTo, ...eventFields(c.event)]);
    return this.write("feed", JSON.stringify([read.epoch, read.from, read.to, read.sentAt, changes]), ttlMs);
  }

  /** When another isolate last said it sent a feed read to the store (a hint: it only saves a duplicate read). */
  async syncStarted(): Promise<number | undefined> {
    const body = await this.read("sync");
    if (body === undefined) return undefined;
    return this.parsed(() => {
      const v: unknown = JSON.parse(body);
      return Array.isArray(v) && v.length === 1 && isTime(v[0]) ? v[0] : undefined;
    });
  }

  announceSync(sentAt: number, ttlMs: number): Promise<void> {
    return this.write("sync", JSON.stringify([sentAt]), ttlMs);
  }

  /** The shared verdict for a token hash, if one verifies. */
  async verdict(hash: string): Promise<SharedVerdict | undefined> {
    const body = await this.read(`v/${hash}`);
    if (body === undefined) {
      this.counters.sharedMisses++;
      return undefined;
    }
    const entry = this.parsed(() => parseVerdict(body));
    if (entry !== undefined) this.counters.sharedHits++;
    return entry;
  }

  /** Shares a verdict a lookup read (kept as `c`), from a lookup whose feed part ended at `position`. */
  publishVerdict(hash: string, epoch: string, position: number, c: Cached, ttlMs: number): Promise<void> {
    const fields = [c.state, c.fetchedAt, c.expiresAt, c.issuedAt, c.id, c.subject, c.issuer, c.keyId, c.type];
    const body = JSON.stringify([epoch, position, ...fields, c.status, c.clientId]);
    return this.write(`v/${hash}`, body, ttlMs);
  }

  private parsed<T>(parse: () => T | undefined): T | undefined {
    let value: T | undefined;
    try {
      value = parse();
    } catch {
      value = undefined;
    }
    if (value === undefined) this.counters.sharedRejected++;
    return value;
  }

  /** The verified body at `path`, or undefined (nothing there, a forged or foreign entry, a slow or failed tier). */
  private async read(path: string): Promise<string | undefined> {
    if (Date.now() < this.skipUntil) return undefined;
    const outcome = await this.bounded(async () => {
      const { mac, base } = await this.key;
      const url = base + path;
      const res = await this.cache.match(new Request(url));
      if (res === undefined) return { body: undefined };
      const text = await res.text();
      const dot = text.indexOf(".");
      const signature = dot > 0 ? fromBase64Url(text.slice(0, dot)) : undefined;
      const body = text.slice(dot + 1);
      const ok =
        signature !== undefined &&
        (await crypto.subtle.verify("HMAC", mac, signature, encoder.encode(`${url}\n${body}`)));
      if (!ok) this.counters.sharedRejected++;
      return { body: ok ? body : undefined };
    });
    return outcome?.body;
  }

  private async write(path: string, body: string, ttlMs: number): Promise<void> {
    if (Date.now() < this.skipUntil) return;
    await this.bounded(async () => {
      const { mac, base } = await this.key;
      const url = base + path;
      const signature = await crypto.subtle.sign("HMAC", mac, encoder.encode(`${url}\n${body}`));
      // max-age counts whole seconds and is only a hint: every entry carries its own times
      const maxAge = Math.max(1, Math.ceil(ttlMs / 1000));
      const response = new Response(`${toBase64Url(signature)}.${body}`, {
        headers: { "Cache-Control": `max-age=${maxAge}`, "Content-Type": "text/plain" },
      });
      await this.cache.put(new Request(url), response);
      return {};
    });
  }

  /** Runs one tier call for at most timeoutMs; a failure or timeout skips the tier for a while. */
  private async bounded<T>(call: () => Promise<T>): Promise<T | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), this.timeoutMs)));
    const work = call().then(
      (value) => ({ value }),
      () => "failed" as const,
    );
    const outcome = await Promise.race([work, late]);
    if (timer !== undefined) clearTimeout(timer);
    if (typeof outcome === "string") {
      this.counters.sharedFailures++;
      this.skipUntil = Date.now() + BACKOFF_MS;
      return undefined;
    }
    return outcome.value;
  }
}

async function deriveKey(secret: string, scope: string): Promise<{ mac: CryptoKey; base: string }> {
  const root = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const derived = await crypto.subtle.sign("HMAC", root, encoder.encode(`edge-token-store dc-tier v1\0${scope}`));
  const mac = await crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
  // the scope's own path, so two deployments or prefixes on one zone never share a URL
  const tag = await crypto.subtle.sign("HMAC", mac, encoder.encode("scope"));
  return { mac, base: `${BASE}${toBase64Url(tag).slice(0, 22)}/` };
}

function eventFields(e: ChangeEvent): [string, string] {
  return e.type === "token" ? ["t", e.hash] : e.type === "subject" ? ["s", e.subject] : ["k", e.keyId];
}

const HASH = /^[0-9a-f]{64}$/;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const optional = (v: unknown): v is string | null => v === null || typeof v === "string";

function parseEvent(upTo: unknown, kind: unknown, value: unknown): LoggedChange | undefined {
  if (!isCount(upTo) || typeof value !== "string") return undefined;
  if (kind === "t" && HASH.test(value)) return { upTo, event: { type: "token", hash: value } };
  if (kind === "s") return { upTo, event: { type: "subject", subject: value } };
  if (kind === "k") return { upTo, event: { type: "key", keyId: value } };
  return undefined;
}

function parseFeed(body: string): SharedFeedRead | undefined {
  const v: unknown = JSON.parse(body);
  if (!Array.isArray(v) || v.length !== 5) return undefined;
  const [epoch, from, to, sentAt, raw] = v as unknown[];
  if (typeof epoch !== "string" || !isCount(from) || !isCount(to) || from > to || !isTime(sentAt)) return undefined;
  if (!Array.isArray(raw)) return undefined;
  const changes: LoggedChange[] = [];
  for (const item of raw) {
    const c = Array.isArray(item) && item.length === 3 ? parseEvent(item[0], item[1], item[2]) : undefined;
    if (c === undefined || c.upTo <= from || c.upTo > to) return undefined;
    changes.push(c);
  }
  return { epoch, from, to, sentAt, changes };
}

function parseVerdict(body: string): SharedVerdict | undefined {
  const v: unknown = JSON.parse(body);
  if (!Array.isArray(v) || v.length !== 13) return undefined;
  const [epoch, position, state, fetchedAt, expiresAt, issuedAt, id, subject, issuer, keyId, type, status, clientId] =
    v as unknown[];
  if (typeof epoch !== "string" || !isCount(position) || !isTime(fetchedAt)) return undefined;
  const md = { issuer, keyId, type, status, clientId };
  if (!Object.values(md).every(optional)) return undefined;
  const opt = Object.fromEntries(Object.entries(md).filter(([, x]) => x !== null)) as Record<string, string>;
  if (state === "live") {
    if (!isTime(expiresAt) || !isTime(issuedAt) || typeof id !== "string" || typeof subject !== "string")
      return undefined;
    const metadata = { id, subject, issuedAt: new Date(issuedAt), expiresAt: new Date(expiresAt), ...opt };
    return { epoch, position, fetchedAt, verdict: { state, metadata } };
  }
  if (state === "revoked" || state === "expired") {
    if (!isTime(expiresAt)) return undefined;
    return { epoch, position, fetchedAt, verdict: { state, expiresAt } };
  }
  if (state === "unknown") return { epoch, position, fetchedAt, verdict: { state } };
  return undefined;
}

function toBase64Url(buf: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(buf)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function fromBase64Url(s: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]{43}$/.test(s)) return undefined;
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=");
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}
