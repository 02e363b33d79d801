/** The admin routes that name a token in the body: store (or mint), lookup, status, inspect, revoke, delete. */
import type { Context, Hono } from "hono";
import { errorJson, keysUnavailable, withStore } from "../../http/errors.js";
import type { AdminVariables } from "../../middleware/admin-auth.js";
import { checkAtEdge, checkCredential, type EdgeOptions } from "../../tokens/credential.js";
import { ErrTokenRevoked, StorageError } from "../../store/core/index.js";
import type { JwtClaims, TokenMetadata } from "../../store/core/index.js";
import { revokeCredential } from "../audited.js";
import { jsonBody, requireJson, StoreBody, TokenBody, type StoreInput } from "./bodies.js";
import type { AdminDeps } from "./deps.js";

/**
 * Runs `fn` with the body's token and, for a JWS-shaped token when a key set is configured,
 * its verified claims. What the edge refuses never reaches the store: a JWT that fails
 * verification is 400; a forged tag (or an untagged token under TOKEN_FORMAT=tagged) is
 * `forged`'s answer, 404 unless the route says otherwise.
 */
function withToken(
  c: Context,
  edge: EdgeOptions,
  token: string,
  fn: (claims: JwtClaims | undefined) => Promise<Response>,
  forged = () => errorJson(c, 404, "token_not_found", "no such token: its tag does not verify"),
): Promise<Response> {
  return withStore(c, async () => {
    const checked = await checkAtEdge(edge, token);
    if (checked.kind === "rejected") return errorJson(c, 400, "invalid_token", checked.description);
    if (checked.kind === "keys_unavailable") return keysUnavailable(c);
    if (checked.kind === "forged") return forged();
    return fn(checked.kind === "jwt" ? checked.claims : undefined);
  });
}

/** Adds the token routes to `admin`. Tokens travel in bodies, never in URLs, because URLs end up in logs. */
export function tokenRoutes(admin: Hono<{ Variables: AdminVariables }>, deps: AdminDeps): void {
  const { store, tags, tokenFormat, audited } = deps;
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
      deps,
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
    return withToken(c, deps, token, async (claims) => c.json(await checkCredential(store, token, claims)));
  });
  admin.post("/tokens/status", requireJson, jsonBody<{ token: string }>(TokenBody), (c) => {
    const { token } = c.req.valid("json");
    return withToken(c, deps, token, async (claims) => {
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
      deps,
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
    return withToken(c, deps, token, async (claims) => {
      await revokeCredential(audited, c.get("actor"), store, token, claims);
      return c.json({ revoked: true });
    });
  });
  admin.post("/tokens/delete", requireJson, jsonBody<{ token: string }>(TokenBody), (c) => {
    const { token } = c.req.valid("json");
    return withToken(c, deps, token, async () => {
      await audited(c.get("actor"), "delete", { token }, () => store.delete(token));
      return c.json({ deleted: true });
    });
  });
}
