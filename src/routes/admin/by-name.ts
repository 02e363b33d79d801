/** The admin routes that act on tokens by a name in the path: an id, a subject, a key id or a family; and cleanup. */
import type { Hono } from "hono";
import { withStore } from "../../http/errors.js";
import type { AdminVariables } from "../../middleware/admin-auth.js";
import type { AdminDeps } from "./deps.js";

/** Adds the routes by id, subject, key id and family, and `POST /cleanup`, to `admin`. */
export function byNameRoutes(admin: Hono<{ Variables: AdminVariables }>, { store, audited }: AdminDeps): void {
  admin.post("/keys/:keyId/revoke", (c) =>
    withStore(c, async () => {
      const keyId = c.req.param("keyId");
      await audited(c.get("actor"), "revokeKey", { keyId }, () => store.revokeKey(keyId));
      return c.json({ revoked: true });
    }),
  );
  // every token of the grant, refresh and access, opaque or JWT (its family claim), stored or not
  admin.post("/families/:family/revoke", (c) =>
    withStore(c, async () => {
      const family = c.req.param("family");
      await audited(c.get("actor"), "revokeFamily", { family }, () => store.revokeFamily(family));
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
}
