import { Redis } from "@upstash/redis/cloudflare";
import {
  ErrInvalidConfig,
  ErrInvalidMetadata,
  NO_KEY,
  REFUSALS,
  refusal,
  StorageError,
  type Refusal,
} from "../core/errors.js";
import {
  checkHash,
  checkRecentLimit,
  resolveFeedConfig,
  validCursor,
  type ChangeBatch,
  type FeedCursor,
  type FeedStore,
  type RecentChange,
  type ResolvedFeedConfig,
  type Verdict,
} from "../core/feed.js";
import { createHashers, fingerprint, tokenKey, tokenKeys, type Hashers } from "../core/hash.js";
import {
  acknowledged,
  describeFailure,
  parseBatch,
  parseRecent,
  parseRecord,
  parseRotated,
  parseStatus,
  parseVerdict,
  unavailable,
} from "./replies.js";
import * as lua from "./scripts/index.js";
import { RedisAuditLog } from "./audit.js";
import type { RedisStoreConfig } from "./config.js";
import { DEFAULT_AUDIT_RECORDS } from "../core/audit.js";
import {
  DENY_GRACE_MS,
  LIMITS,
  REFRESH_TYPES,
  type JwtClaims,
  type RevokeOptions,
  type RotationMetadata,
  type StoredTokenMetadata,
  type TokenMetadata,
  type TokenStatus,
} from "../core/types.js";
import { resolveBaseConfig, wholeNumber } from "../core/config.js";
import { checkName, identifyingProblem } from "../core/inputs.js";
import { byIssuedAtThenId, normalizeClaims, normalizeMetadata, toMetadata, type TokenRecord } from "../core/records.js";
import { checkFamily, familyOption, reuseGrace, rotationMetadata } from "../core/families.js";

type Script = ReturnType<Redis["createScript"]>;

/** Where the Redis backend keeps its keys when no `keyPrefix` is set. */
export const DEFAULT_KEY_PREFIX = "tokens:";

/**
 * The Upstash backend: every operation is one Lua script (EVALSHA, falling back to EVAL once
 * per script and Redis), so one HTTP round trip and atomic. Cleanup is one per batch.
 */
export class RedisTokenStore implements FeedStore {
  private readonly redis: Redis;
  private readonly scripts: Record<keyof typeof lua, Script>;
  private readonly hashers: Hashers;
  private readonly now: () => number;
  private readonly defaultTtl: number;
  private readonly prefix: string;
  private readonly grace: number;
  private readonly maxTokenLifetime: number;
  private readonly reuseGraceMs: number;
  private readonly batch: number;
  private readonly timeoutMs: number;
  private readonly feed: ResolvedFeedConfig;
  /** Offered as the feed's epoch by every feed append; the first append to an empty feed sets it. */
  private readonly epoch = crypto.randomUUID();
  private closed = false;
  /** Who wrote what through the admin API and OAuth (the stream P a). */
  readonly audit: RedisAuditLog;

  /** Throws StorageError / ErrInvalidConfig naming a malformed setting. */
  constructor(config: RedisStoreConfig) {
    const base = resolveBaseConfig(config);
    this.hashers = createHashers(base);
    this.now = base.now;
    this.defaultTtl = base.defaultTtl;
    this.maxTokenLifetime = base.maxTokenLifetime;
    this.reuseGraceMs = reuseGrace(config.reuseGraceMs, base.maxTokenLifetime);
    const invalid = (field: string, detail: string) => new StorageError("create", field, ErrInvalidConfig, detail);
    this.prefix = config.keyPrefix ?? DEFAULT_KEY_PREFIX;
    if (typeof this.prefix !== "string" || this.prefix.length > 128)
      throw invalid("keyPrefix", "keyPrefix must be a string of at most 128 characters");
    this.grace = wholeNumber("retentionGrace", config.retentionGrace, 3_600_000, 0);
    this.batch = wholeNumber("cleanupBatchSize", config.cleanupBatchSize, 500);
    this.timeoutMs = wholeNumber("timeoutMs", config.timeoutMs, 1000);
    this.feed = resolveFeedConfig(config);
    const retries = wholeNumber("retries", config.retries, 1, 0);
    if (config.redis !== undefined) {
      if (
        typeof config.redis !== "object" ||
        config.redis === null ||
        typeof config.redis.createScript !== "function"
      ) {
        throw invalid("redis", "redis must be an @upstash/redis Redis instance");
      }
      this.redis = config.redis;
    } else {
      if (typeof config.url !== "string" || !/^https?:\/\/[^\s/]+/.test(config.url) || !parsesAsUrl(config.url)) {
        throw invalid("url", "url must be the http(s) URL of an Upstash REST endpoint");
      }
      if (typeof config.token !== "string" || config.token.length === 0 || /\s/.test(config.token)) {
        throw invalid("token", "token must be a non-empty string without white space");
      }
      const timeoutMs = this.timeoutMs;
      this.redis = new Redis({
        url: config.url,
        token: config.token,
        automaticDeserialization: false,
        enableTelemetry: false,
        // only network errors are retried, and never past the timeout: the signal covers every attempt.
        // Not `retry: false`: @upstash/redis reads that as one retry (attempts: 1); `retries: 0` is none.
        retry: { retries, backoff: (i) => 25 * 2 ** i },
        // the function form: a static signal stays aborted for every later call
        signal: () => AbortSignal.timeout(timeoutMs),
      });
    }
    const auditMax = wholeNumber("auditMaxRecords", config.auditMaxRecords, DEFAULT_AUDIT_RECORDS);
    this.audit = new RedisAuditLog(this.redis, `${this.prefix}a`, auditMax, this.timeoutMs);
    this.scripts = Object.fromEntries(
      Object.entries(lua).map(([name, src]) => [name, this.redis.createScript(src)]),
    ) as Record<keyof typeof lua, Script>;
  }

  async store(token: string, metadata: TokenMetadata): Promise<StoredTokenMetadata> {
    const [h, key, previous] = await tokenKeys("store", token, this.hashers);
    const now = this.now();
    const rec = normalizeMetadata("store", key, metadata, now, this.defaultTtl, this.maxTokenLifetime);
    const raw = await this.run(
      "store",
      key,
      this.scripts.STORE,
      [`${this.prefix}t:${h}`, ...this.feedKeys()],
      [...this.storeArgs(h, previous, rec, now), ...this.feedArgs()],
    );
    acknowledged("store", key, raw);
    return toMetadata(rec);
  }

  async rotate(oldToken: string, newToken: string, metadata: RotationMetadata): Promise<StoredTokenMetadata> {
    const [[h, key, previous], [newH, newKey, newPrevious]] = await Promise.all([
      tokenKeys("rotate", oldToken, this.hashers),
      tokenKeys("rotate", newToken, this.hashers),
    ]);
    if (newH === h) throw new StorageError("rotate", newKey, ErrInvalidMetadata, "newToken must differ from oldToken");
    const now = this.now();
    const given = rotationMetadata(metadata as TokenMetadata);
    // subject, family and clientId are the old token's: the script adds them, and checks given ones
    const {
      subject: _s,
      family: _f,
      clientId: _c,
      ...own
    } = normalizeMetadata("rotate", newKey, given.metadata, now, this.defaultTtl, this.maxTokenLifetime);
    const raw = await this.run(
      "rotate",
      key,
      this.scripts.ROTATE,
      [`${this.prefix}t:${newH}`, `${this.prefix}t:${h}`, ...this.feedKeys()],
      [
        ...this.storeArgs(newH, newPrevious, { ...own, subject: "" }, now),
        h,
        previous.join(","),
        JSON.stringify(given.inherited),
        this.reuseGraceMs,
        this.revocationTtl(),
        ...this.feedArgs(),
      ],
    );
    return toMetadata(parseRotated(newKey, raw));
  }

  async get(token: string): Promise<StoredTokenMetadata> {
    const [h, key, previous] = await tokenKeys("get", token, this.hashers);
    const raw = await this.run(
      "get",
      key,
      this.scripts.GET,
      [`${this.prefix}t:${h}`],
      [...this.tokenArgs(h, previous), this.now()],
    );
    return toMetadata(parseRecord("get", key, raw));
  }

  async getById(id: string): Promise<StoredTokenMetadata> {
    checkName("getById", "id", id);
    const raw = await this.run(
      "getById",
      id,
      this.scripts.GET_BY_ID,
      [`${this.prefix}i:${id}`],
      [this.prefix, this.now()],
    );
    return toMetadata(parseRecord("getById", id, raw));
  }

  async inspect(token: string): Promise<TokenStatus> {
    const [h, key, previous] = await tokenKeys("inspect", token, this.hashers);
    const raw = await this.run(
      "inspect",
      key,
      this.scripts.INSPECT,
      [`${this.prefix}t:${h}`],
      [...this.tokenArgs(h, previous), this.now()],
    );
    return parseStatus(key, raw);
  }

  async delete(token: string): Promise<void> {
    const [h, key, previous] = await tokenKeys("delete", token, this.hashers);
    const keys = [`${this.prefix}t:${h}`, ...this.feedKeys()];
    acknowledged(
      "delete",
      key,
      await this.run("delete", key, this.scripts.DELETE, keys, [
        ...this.tokenArgs(h, previous),
        this.now(),
        ...this.feedArgs(),
      ]),
    );
  }

  async list(subject: string): Promise<StoredTokenMetadata[]> {
    checkName("list", "subject", subject);
    const raw = await this.run(
      "list",
      subject,
      this.scripts.LIST,
      [`${this.prefix}s:${subject}`],
      [this.prefix, this.now(), this.grace],
    );
    if (!Array.isArray(raw)) throw unavailable("list", subject, "the reply is not a list");
    return raw
      .map((r) => parseRecord("list", subject, r))
      .sort(byIssuedAtThenId)
      .map(toMetadata);
  }

  async revoke(token: string, options?: RevokeOptions): Promise<void> {
    const [h, key, previous] = await tokenKeys("revoke", token, this.hashers);
    const keys = [`${this.prefix}t:${h}`, ...this.feedKeys()];
    const clientId = options?.clientId ?? "";
    const family = familyOption("revoke", key, options);
    // the stored types whose family goes too, each between newlines (no type holds one)
    const familyTypes = family === false ? "" : family === true ? "*" : `\n${REFRESH_TYPES.join("\n")}\n`;
    acknowledged(
      "revoke",
      key,
      await this.run("revoke", key, this.scripts.REVOKE, keys, [
        ...this.tokenArgs(h, previous),
        this.now(),
        clientId,
        familyTypes,
        this.revocationTtl(),
        ...this.feedArgs(),
      ]),
    );
  }

  async revokeById(id: string): Promise<void> {
    await this.revokeByIdHash(id);
  }

  async revokeByIdHash(id: string): Promise<string> {
    checkName("revokeById", "id", id);
    const hash = await this.run(
      "revokeById",
      id,
      this.scripts.REVOKE_BY_ID,
      [`${this.prefix}i:${id}`, ...this.feedKeys()],
      [this.prefix, this.now(), ...this.feedArgs()],
    );
    const h = (hash as { h?: unknown } | null)?.h;
    checkHash("revokeById", h);
    return h;
  }

  async revokeSubject(subject: string): Promise<{ revoked: number }> {
    checkName("revokeSubject", "subject", subject);
    const keys = [`${this.prefix}s:${subject}`, `${this.prefix}c:${subject}`, ...this.feedKeys()];
    const raw = await this.run("revokeSubject", subject, this.scripts.REVOKE_SUBJECT, keys, [
      subject,
      this.now(),
      this.revocationTtl(),
      ...this.feedArgs(),
    ]);
    if (typeof raw !== "number" || !Number.isSafeInteger(raw))
      throw unavailable("revokeSubject", subject, "the reply is not a count");
    return { revoked: raw };
  }

  async isRevoked(token: string): Promise<boolean> {
    const [h, key, previous] = await tokenKeys("isRevoked", token, this.hashers);
    const raw = await this.run(
      "isRevoked",
      key,
      this.scripts.IS_REVOKED,
      [`${this.prefix}t:${h}`],
      [...this.tokenArgs(h, previous), this.now()],
    );
    if (typeof raw !== "boolean") throw unavailable("isRevoked", key, "the reply is not a boolean");
    return raw;
  }

  async hashToken(token: string, op = "get"): Promise<string> {
    return (await tokenKey(op, token, this.hashers.current))[0];
  }

  async tokenHashes(token: string, op = "get"): Promise<{ hash: string; previous: string[] }> {
    const [hash, , previous] = await tokenKeys(op, token, this.hashers);
    return { hash, previous };
  }

  async lookup(
    hash: string,
    since?: FeedCursor,
    previous: readonly string[] = [],
  ): Promise<{ verdict: Verdict; changes: ChangeBatch }> {
    for (const h of [hash, ...previous]) checkHash("lookup", h);
    const key = fingerprint(hash);
    const raw = await this.run(
      "lookup",
      key,
      this.scripts.LOOKUP,
      [`${this.prefix}t:${hash}`, ...this.feedKeys()],
      [...this.tokenArgs(hash, previous), this.now(), ...this.cursorArgs(since, this.feed.lookupPageSize)],
    );
    const r = raw as { v?: { s?: unknown; e?: unknown; m?: unknown }; f?: unknown } | null;
    return { verdict: parseVerdict(key, r?.v), changes: parseBatch("lookup", key, r?.f) };
  }

  async checkJwt(token: string, claims: JwtClaims): Promise<StoredTokenMetadata> {
    const { hash, previous } = await this.tokenHashes(token, "checkJwt");
    const { verdict } = await this.jwtVerdict("checkJwt", hash, claims, previous);
    if (verdict.state !== "live") throw refusal("checkJwt", fingerprint(hash), "revoked");
    return verdict.metadata;
  }

  async lookupJwt(
    hash: string,
    claims: JwtClaims,
    since?: FeedCursor,
    previous: readonly string[] = [],
  ): Promise<{ verdict: Verdict; changes: ChangeBatch }> {
    return this.jwtVerdict("lookupJwt", hash, claims, previous, since);
  }

  /** lookupJwt's read, named `op` in its errors (checkJwt reads its verdict the same way). */
  private async jwtVerdict(
    op: string,
    hash: string,
    claims: JwtClaims,
    previous: readonly string[],
    since?: FeedCursor,
  ): Promise<{ verdict: Verdict; changes: ChangeBatch }> {
    for (const h of [hash, ...previous]) checkHash(op, h);
    const key = fingerprint(hash);
    const rec = normalizeClaims(op, key, claims, this.maxTokenLifetime);
    const p = this.prefix;
    const raw = await this.run(
      op,
      key,
      this.scripts.LOOKUP_JWT,
      [`${p}t:${hash}`, `${p}d:${hash}`, ...this.feedKeys()],
      [
        ...this.tokenArgs(hash, previous),
        this.now(),
        rec.subject,
        rec.issuedAt,
        rec.keyId ?? "",
        rec.family ?? "",
        ...this.cursorArgs(since, this.feed.lookupPageSize),
      ],
    );
    const r = raw as { v?: { s?: unknown }; f?: unknown } | null;
    const changes = parseBatch(op, key, r?.f);
    if (r?.v?.s === "live") return { verdict: { state: "live", metadata: toMetadata(rec) }, changes };
    if (r?.v?.s === "revoked") return { verdict: { state: "revoked", expiresAt: rec.expiresAt }, changes };
    throw unavailable(op, key, "the verdict is malformed");
  }

  async denyJwt(token: string, claims: JwtClaims): Promise<void> {
    const [h, key, previous] = await tokenKeys("denyJwt", token, this.hashers);
    const rec = normalizeClaims("denyJwt", key, claims, this.maxTokenLifetime);
    const now = this.now();
    const ttl = Math.max(1, rec.expiresAt + DENY_GRACE_MS - now);
    const keys = [`${this.prefix}t:${h}`, `${this.prefix}d:${h}`, ...this.feedKeys()];
    acknowledged(
      "denyJwt",
      key,
      await this.run("denyJwt", key, this.scripts.DENY_JWT, keys, [
        ...this.tokenArgs(h, previous),
        now,
        ttl,
        ...this.feedArgs(),
      ]),
    );
  }

  async revokeKey(keyId: string): Promise<void> {
    checkName("revokeKey", "keyId", keyId);
    const keys = [`${this.prefix}k:${keyId}`, ...this.feedKeys()];
    acknowledged(
      "revokeKey",
      keyId,
      await this.run("revokeKey", keyId, this.scripts.REVOKE_KEY, keys, [
        keyId,
        this.now(),
        this.revocationTtl(),
        ...this.feedArgs(),
      ]),
    );
  }

  async revokeFamily(family: string): Promise<void> {
    checkFamily("revokeFamily", family);
    const keys = [`${this.prefix}g:${family}`, ...this.feedKeys()];
    acknowledged(
      "revokeFamily",
      family,
      await this.run("revokeFamily", family, this.scripts.REVOKE_FAMILY, keys, [
        family,
        this.now(),
        this.revocationTtl(),
        ...this.feedArgs(),
      ]),
    );
  }

  async changes(since?: FeedCursor): Promise<ChangeBatch> {
    return parseBatch(
      "changes",
      NO_KEY,
      await this.run("changes", NO_KEY, this.scripts.CHANGES, this.feedKeys(), this.cursorArgs(since)),
    );
  }

  async recentChanges(limit: number): Promise<RecentChange[]> {
    checkRecentLimit(limit);
    const raw = await this.run("recentChanges", NO_KEY, this.scripts.RECENT_CHANGES, [`${this.prefix}f`], [limit]);
    return parseRecent(raw);
  }

  /** One script call per batch of `cleanupBatchSize`, until a batch comes back short. */
  async cleanup(): Promise<{ removed: number }> {
    let removed = 0;
    for (;;) {
      const raw = await this.run(
        "cleanup",
        NO_KEY,
        this.scripts.CLEANUP,
        [`${this.prefix}x`, `${this.prefix}f`],
        [this.prefix, this.now(), this.batch, this.feed.retentionMs, this.grace],
      );
      if (!Array.isArray(raw) || !raw.every((n) => Number.isSafeInteger(n))) {
        throw unavailable("cleanup", NO_KEY, "the reply is not [removed, popped]");
      }
      removed += raw[0] as number;
      if ((raw[1] as number) < this.batch) return { removed };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Cutoffs and key revocations outlive every token they can reach. */
  private revocationTtl(): number {
    return this.maxTokenLifetime + this.grace;
  }

  /** TOKEN_INPUTS and STORE_INPUTS: how STORE and ROTATE (for the new token) begin their ARGV. */
  private storeArgs(h: string, previous: readonly string[], rec: TokenRecord, now: number): (string | number)[] {
    const { subject, ...m } = rec;
    return [
      ...this.tokenArgs(h, previous),
      now,
      // rotate's subject is '': the old token's, which the script adds
      JSON.stringify(subject === "" ? m : rec),
      rec.id,
      subject,
      rec.expiresAt,
      this.grace,
      // a cutoff reaches every token stored before it, whatever issuedAt says
      Math.min(rec.issuedAt, now),
      rec.keyId ?? "",
      rec.family ?? "",
    ];
  }

  /** prefix, h, previous_hashes: how every script that takes a token begins its ARGV. */
  private tokenArgs(hash: string, previous: readonly string[]): string[] {
    return [this.prefix, hash, previous.join(",")];
  }

  private feedKeys(): [string, string] {
    return [`${this.prefix}f`, `${this.prefix}fm`];
  }

  /** epoch, maxlen: how every script that appends to the feed ends its ARGV. */
  private feedArgs(): (string | number)[] {
    return [this.epoch, this.feed.maxLength];
  }

  /** since_epoch, since_seq (-1 without a usable cursor), page: how every feed read ends its ARGV. */
  private cursorArgs(since: FeedCursor | undefined, page = this.feed.pageSize): (string | number)[] {
    const c = validCursor(since);
    return [c?.epoch ?? "", c?.seq ?? -1, page];
  }

  /** Runs one script; turns "!code" replies into StorageErrors and every failure into ErrStoreUnavailable. */
  private async run(
    op: string,
    key: string,
    script: Script,
    keys: string[],
    args: (string | number)[],
  ): Promise<unknown> {
    if (this.closed) throw unavailable(op, key, "the store is closed");
    let raw: unknown;
    try {
      raw = await script.exec(keys, args.map(String));
    } catch (e) {
      throw unavailable(op, key, describeFailure(e, this.timeoutMs));
    }
    // a caller's own client may deserialize replies itself (automaticDeserialization)
    if (typeof raw !== "string") return raw;
    if (raw.startsWith("!")) {
      const outcome = raw.slice(1);
      if (!Object.hasOwn(REFUSALS, outcome)) throw unavailable(op, key, "the reply is not a known outcome");
      throw refusal(op, key, outcome as Refusal);
    }
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw unavailable(op, key, "the reply is not JSON");
    }
  }
}

function parsesAsUrl(url: string): boolean {
  try {
    return new URL(url).host.length > 0;
  } catch {
    return false;
  }
}
