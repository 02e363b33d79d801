import type { Context, MiddlewareHandler } from "hono";
import { Hono } from "hono/tiny";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { AssetFetcher } from "./console.js";
import { B64TOKEN } from "../http/auth.js";
import { bodyProblem, type BodySchema, type FieldSchema } from "../http/body-schema.js";
import { adminAuth, type AdminVariables } from "../http/admin-auth.js";
import type { AccessVerifier } from "../jwt/access.js";
import type { Audited } from "../http/audit.js";
import { AUDIT_ID, AUDIT_PAGE_MAX, type AuditLog } from "../store/core/audit.js";
import { MAX_BODY_BYTES } from "../http/body.js";
import { errorJson, keysUnavailable, withStore } from "../http/errors.js";
import { checkAtEdge, type TokenFormat } from "../http/edge-check.js";
import type { TokenTags } from "../tokens/tagged.js";
import type { JwtVerifier } from "../jwt/verifier.js";
import { ErrTokenRevoked, StorageError } from "../store/core/errors.js";
import { LIMITS, type JwtClaims, type TokenMetadata, type TokenStore } from "../store/core/types.js";
import type { VerdictCache } from "../store/cache/verdict-cache.js";
import { RECENT_CHANGES_MAX, type FeedStore, type RecentChange } from "../store/core/feed.js";
import { fingerprint } from "../store/core/hash.js";

export interface AdminDeps {
  store: TokenStore;
  /** The shared admin token; undefined when turned off (Access only). */
  adminToken?: string;
  /** Verifies Cloudflare Access assertions, when Access is configured. */
  access?: AccessVerifier;
  /** Records each write (who, what, on what, result); see src/http/audit.ts. */
  audited: Audited;
  /** Where `GET /admin/audit` reads the records from; without it that route answers 404. */
  auditLog?: AuditLog;
  /** With a key set configured: JWS-shaped tokens in bodies are verified before the store sees them. */
  jwt?: JwtVerifier;
  /** Checks tagged tokens before any store call, and mints a token when a body brings none. */
  tags?: TokenTags;
  /** "tagged": an untagged opaque token is unknown without a store call, and cannot be stored. @default "any" */
  tokenFormat?: TokenFormat;
  cache?: Pick<VerdictCache, "stats" | "maxStalenessMs" | "maxEntries">;
  /** The change feed `GET /admin/activity` reads; without it that route answers 404. */
  feed?: Pick<FeedStore, "recentChanges">;
  /** Where `GET /admin/openapi.json` comes from (the ASSETS binding): kept out of the Worker's bundle. */
  assets?: AssetFetcher;
}

/** How many changes `GET /admin/activity` lists when no `limit` is given. */
export const ACTIVITY_DEFAULT_LIMIT = 50;

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * The query's named parameters, each once (undefined when absent), or a 400 when one is
 * repeated: `?limit=5&limit=5000` must not mean whichever a layer happens to read.
 */
function singleQuery<K extends string>(c: Context, ...names: K[]): Record<K, string | undefined> | Response {
  const out = {} as Record<K, string | undefined>;
  for (const name of names) {
    const given = c.req.queries(name) ?? [];
    if (given.length > 1) return errorJson(c, 400, "invalid_request", `give ${name} at most once`);
    out[name] = given[0];
  }
  return out;
}

/** A page size from the query: the default when absent, else 1 to `max` in plain digits; NaN otherwise. */
function pageLimit(raw: string | undefined, max: number): number {
  if (raw === undefined) return ACTIVITY_DEFAULT_LIMIT;
  const n = /^[0-9]{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  return n >= 1 && n <= max ? n : Number.NaN;
}

/**
 * `since`: epoch milliseconds or an ISO 8601 time with its zone; NaN for anything else, an
 * impossible date included (Date.parse would roll 2026-02-31 over into March).
 */
function parseSince(raw: string): number {
  if (/^\d{1,15}$/.test(raw)) return Number(raw);
  const m = ISO_TIME.exec(raw);
  if (m === null) return Number.NaN;
  const [y, mo, d, h, mi, sec, zh, zm] = m.slice(1).map((x) => Number(x ?? "0"));
  const day = new Date(Date.UTC(y!, mo! - 1, d!));
  const real = day.getUTCMonth() === mo! - 1 && day.getUTCDate() === d;
  if (!real || h! > 23 || mi! > 59 || sec! > 59 || zh! > 23 || zm! > 59) return Number.NaN;
  const ms = Date.parse(raw);
  return ms >= 0 ? ms : Number.NaN;
}

/** A feed change as the admin API shows it: a token by its fingerprint, never its hash or itself. */
function activityItem({ seq, at, event }: RecentChange) {
  const base = { seq, at: new Date(at).toISOString() };
  if (event.type === "token") return { ...base, type: event.type, fingerprint: fingerprint(event.hash) };
  if (event.type === "subject") return { ...base, type: event.type, subject: event.subject };
  return { ...base, type: event.type, keyId: event.keyId };
}

const Token = { type: "string", minLength: 1, maxLength: LIMITS.token } as const;
const StringField = { type: "string" } as const;
const DateField = {
  anyOf: [{ type: "string" }, { type: "number" }],
  description: "must be an ISO 8601 string or epoch milliseconds",
} satisfies FieldSchema;

/** `{ token }`: the body of every route that names a token (the OpenAPI document publishes it as it is). */
export const TokenBody = {
  type: "object",
  properties: { token: Token },
  required: ["token"],
  additionalProperties: false,
} satisfies BodySchema;
export const StoreBody = {
  type: "object",
  properties: {
    // left out: the server mints a tagged token and answers it once. A token the guard can ever
    // see: one no Bearer header can carry is refused
    token: {
      ...Token,
      pattern: B64TOKEN.source,
      description: "token must be an RFC 6750 b64token (A-Z a-z 0-9 - . _ ~ + /, then any =)",
    },
    id: StringField,
    subject: StringField,
    issuer: StringField,
    issuedAt: DateField,
    expiresAt: DateField,
    keyId: StringField,
    type: StringField,
    status: StringField,
    clientId: StringField,
  },
  required: ["id", "subject"],
  additionalProperties: false,
} satisfies BodySchema;

type StoreInput = Omit<TokenMetadata, "issuedAt" | "expiresAt"> & {
  token?: string;
  issuedAt?: string | number;
  expiresAt?: string | number;
};

/**
 * A JSON body (requireJson has checked its type) checked against `schema`; every failure is a
 * 400 that names the field. The checked body is what `c.req.valid("json")` answers.
 */
function jsonBody<T extends object>(schema: BodySchema): MiddlewareHandler<object, string, { out: { json: T } }> {
  return async (c, next) => {
    let value: unknown;
    try {
      value = await c.req.json();
    } catch {
      throw new HTTPException(400, { message: "Malformed JSON in request body" });
    }
    const problem = bodyProblem(schema, value);
    if (problem !== undefined) return errorJson(c, 400, "invalid_request", problem);
    c.req.addValidatedData("json", value as T);
    await next();
  };
}

const requireJson: MiddlewareHandler = async (c, next) => {
  const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json")
    return errorJson(c, 415, "unsupported_media_type", "send the body as application/json");
  await next();
};

/**
 * The admin API: JSON in and out, `Authorization: Bearer <ADMIN_TOKEN>` or a Cloudflare Access assertion (adminAuth). Tokens travel in
 * bodies, never in URLs, because URLs end up in logs.
 */
export function adminRoutes(deps: AdminDeps): Hono<{ Variables: AdminVariables }> {
  const { store, cache, feed, assets, jwt, tags, tokenFormat, audited, auditLog } = deps;
  const admin = new Hono<{ Variables: AdminVariables }>();

  admin.use("*", adminAuth(deps));
  admin.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => errorJson(c, 413, "body_too_large", `the body is larger than ${MAX_BODY_BYTES} bytes`),
    }),
  );

  const edgeOptions = { jwt, tags, format: tokenFormat };
  /**
   * Runs `fn` with the body's token and, for a JWS-shaped token when a key set is configured,
   * its verified claims. What the edge refuses never reaches the store: a JWT that fails
   * verification is 400; a forged tag (or an untagged token under TOKEN_FORMAT=tagged) is
   * `forged`'s answer, 404 unless the route says otherwise.
   */
  const withToken = (
    c: Context,
    token: string,
    fn: (claims: JwtClaims | undefined) => Promise<Response>,
    forged = () => errorJson(c, 404, "token_not_found", "no such token: its tag does not verify"),
  ) =>
    withStore(c, async () => {
      const edge = await checkAtEdge(edgeOptions, token);
      if (edge.kind === "rejected") return errorJson(c, 400, "invalid_token", edge.description);
      if (edge.kind === "keys_unavailable") return keysUnavailable(c);
      if (edge.kind === "forged") return forged();
      return fn(edge.kind === "jwt" ? edge.claims : undefined);
    });

  admin.post("/tokens", requireJson, jsonBody<StoreInput>(StoreBody), async (c) => {
    const { token: given, ...metadata } = c.req.valid("json");
    if (given === undefined && tags === undefined)
      return errorJson(c, 400, "invalid_request", "token is required: minting one needs TOKEN_HASH_KEY on the server");
    // minted here: the only time the raw token is ever shown
    const token = given ?? (await tags!.mint());
    const refuse = () =>
      errorJson(
        c,
        400,
        "invalid_request",
        tokenFormat === "tagged"
          ? "only tagged tokens are accepted (TOKEN_FORMAT=tagged): leave token out to mint one"
          : "the token's tag does not verify: leave token out to mint one",
      );
    // answer from what was stored: a second read could race a concurrent delete or revoke
    return withToken(
      c,
      token,
      async () => {
        const { id, subject } = metadata;
        const stored = await audited(c.get("actor"), "store", { token, id, subject }, () =>
          store.store(token, metadata as TokenMetadata),
        );
        // the one response that carries a raw token: no cache may keep it (RFC 6749 §5.1)
        if (given === undefined) return c.json({ token, ...stored }, 201, { "Cache-Control": "no-store" });
        return c.json(stored, 201);
      },
      refuse,
    );
  });
  admin.post("/tokens/lookup", requireJson, jsonBody<{ token: string }>(TokenBody), (c) => {
    const { token } = c.req.valid("json");
    return withToken(c, token, async (claims) =>
      c.json(claims ? await store.checkJwt(token, claims) : await store.get(token)),
    );
  });
  admin.post("/tokens/status", requireJson, jsonBody<{ token: string }>(TokenBody), (c) => {
    const { token } = c.req.valid("json");
    return withToken(c, token, async (claims) => {
      if (claims === undefined) return c.json({ revoked: await store.isRevoked(token) });
      const revoked = await store.checkJwt(token, claims).then(
        () => false,
        (e: unknown) => {
          if (e instanceof StorageError && e.err === ErrTokenRevoked) return true;
          throw e;
        },
      );
      return c.json({ revoked });
    });
  });
  // every state is an answer here (the console shows it): unknown, expired, revoked with its time, live
  admin.post("/tokens/inspect", requireJson, jsonBody<{ token: string }>(TokenBody), (c) => {
    const { token } = c.req.valid("json");
    return withToken(
      c,
      token,
      async (claims) => {
        if (claims === undefined) return c.json(await store.inspect(token));
        // a verified JWT: live or revoked (deny-listed, cut off or its key revoked), from its claims
        return store.checkJwt(token, claims).then(
          (metadata) => c.json({ state: "live", metadata }),
          (e: unknown) => {
            // the metadata checkJwt answers for a live one; no time: a JWT's revocation has several sources
            if (e instanceof StorageError && e.err === ErrTokenRevoked)
              return c.json({ state: "revoked", metadata: { ...claims, id: claims.id ?? "", type: "jwt" } });
            throw e;
          },
        );
      },
      () => c.json({ state: "unknown" }),
    );
  });
  // a verified JWT is deny-listed until its exp, stored or not; an opaque token must be stored
  admin.post("/tokens/revoke", requireJson, jsonBody<{ token: string }>(TokenBody), (c) => {
    const { token } = c.req.valid("json");
    return withToken(c, token, async (claims) => {
      await (claims
        ? audited(c.get("actor"), "denyJwt", { token, subject: claims.subject }, () => store.denyJwt(token, claims))
        : audited(c.get("actor"), "revoke", { token }, () => store.revoke(token)));
      return c.json({ revoked: true });
    });
  });
  admin.post("/tokens/delete", requireJson, jsonBody<{ token: string }>(TokenBody), (c) => {
    const { token } = c.req.valid("json");
    return withToken(c, token, async () => {
      await audited(c.get("actor"), "delete", { token }, () => store.delete(token));
      return c.json({ deleted: true });
    });
  });
  admin.post("/keys/:keyId/revoke", (c) =>
    withStore(c, async () => {
      const keyId = c.req.param("keyId");
      await audited(c.get("actor"), "revokeKey", { keyId }, () => store.revokeKey(keyId));
      return c.json({ revoked: true });
    }),
  );
  admin.get("/tokens/by-id/:id", (c) => withStore(c, async () => c.json(await store.getById(c.req.param("id")))));
  admin.post("/tokens/by-id/:id/revoke", (c) =>
    withStore(c, async () => {
      const id = c.req.param("id");
      await audited(c.get("actor"), "revokeById", { id }, () => store.revokeById(id));
      return c.json({ revoked: true });
    }),
  );
  admin.get("/subjects/:subject/tokens", (c) =>
    withStore(c, async () => c.json({ tokens: await store.list(c.req.param("subject")) })),
  );
  admin.post("/subjects/:subject/revoke", (c) =>
    withStore(c, async () => {
      const subject = c.req.param("subject");
      return c.json(await audited(c.get("actor"), "revokeSubject", { subject }, () => store.revokeSubject(subject)));
    }),
  );
  admin.post("/cleanup", (c) =>
    withStore(c, async () => c.json(await audited(c.get("actor"), "cleanup", {}, () => store.cleanup()))),
  );
  // the audit log, newest first; `next` pages on to older records
  admin.get("/audit", (c) =>
    withStore(c, async () => {
      if (auditLog === undefined) return errorJson(c, 404, "not_found", "this store keeps no audit log");
      const q = singleQuery(c, "since", "before", "limit");
      if (q instanceof Response) return q;
      const bad = (message: string) => errorJson(c, 400, "invalid_request", message);
      const limit = pageLimit(q.limit, AUDIT_PAGE_MAX);
      if (Number.isNaN(limit)) return bad(`limit must be a whole number from 1 to ${AUDIT_PAGE_MAX}`);
      const since = q.since === undefined ? undefined : parseSince(q.since);
      if (Number.isNaN(since))
        return bad("since must be epoch milliseconds or an ISO 8601 time such as 2026-12-04T10:00:00Z");
      if (q.before !== undefined && !AUDIT_ID.test(q.before)) return bad("before must be the next of a previous page");
      const page = await auditLog.list({ since, before: q.before, limit });
      return c.json({
        records: page.records.map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
        ...(page.next === undefined ? {} : { next: page.next }),
      });
    }),
  );
  // the newest revocations in the change feed, newest first: what every isolate's cache follows
  admin.get("/activity", (c) =>
    withStore(c, async () => {
      if (feed === undefined) return errorJson(c, 404, "not_found", "this store keeps no change feed");
      const q = singleQuery(c, "limit");
      if (q instanceof Response) return q;
      const limit = pageLimit(q.limit, RECENT_CHANGES_MAX);
      if (Number.isNaN(limit))
        return errorJson(c, 400, "invalid_request", `limit must be a whole number from 1 to ${RECENT_CHANGES_MAX}`);
      return c.json({ changes: (await feed.recentChanges(limit)).map(activityItem) });
    }),
  );
  // this isolate's counters only: every isolate has its own cache
  admin.get("/stats", (c) =>
    c.json({
      scope: "isolate",
      cache:
        cache === undefined
          ? null
          : { maxStalenessMs: cache.maxStalenessMs, maxEntries: cache.maxEntries, ...cache.stats() },
    }),
  );
  // generated from the schemas above by `npm run openapi`; a test keeps it current
  admin.get("/openapi.json", async (c) => {
    const res = await assets?.fetch(new URL("/openapi.json", c.req.url));
    if (!res?.ok) return errorJson(c, 404, "not_found", "the OpenAPI document is not deployed (no ASSETS)");
    return new Response(res.body, { headers: { "Content-Type": "application/json" } });
  });
  admin.all("*", (c: Context) =>
    errorJson(c, 404, "not_found", `no admin route ${c.req.method} ${new URL(c.req.url).pathname}`),
  );
  return admin;
}
