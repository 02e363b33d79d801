/** The admin routes that read or end a token named in the body: lookup, status, inspect, revoke, delete. */
import type { Hono } from "hono";
import type { AdminVariables } from "../../middleware/admin-auth.js";
import { ErrTokenRevoked, StorageError } from "../../store/core/index.js";
import { checkCredential } from "../../tokens/credential.js";
import { revokeCredential } from "../audited.js";
import { jsonBody, requireJson, TokenBody } from "./bodies.js";
import type { AdminDeps } from "./deps.js";
import { withToken } from "./with-token.js";

/**
 * Adds the routes that read or end a token named in the body to `admin`: lookup, status,
 * inspect, revoke, delete. Tokens travel in bodies, never in URLs, because URLs end up in logs.
 */
export function tokenRoutes(admin: Hono<{ Variables: AdminVariables }>, deps: AdminDeps): void {
  const { store, audited } = deps;
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
        // a verified JWT: live or revoked (deny-listed, cut off, its key or family revoked), from its claims
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
