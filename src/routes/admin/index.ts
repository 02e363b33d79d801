import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { bodyLimit } from "hono/body-limit";
import { MAX_BODY_BYTES } from "../../http/body.js";
import { errorJson } from "../../http/errors.js";
import { adminAuth, type AdminVariables } from "../../middleware/admin-auth.js";
import { byNameRoutes } from "./by-name.js";
import { issuingRoutes } from "./issuing.js";
import type { AdminDeps } from "./deps.js";
import { readOnlyRoutes } from "./read-only.js";
import { tokenRoutes } from "./tokens.js";

export type { AdminDeps } from "./deps.js";
export { RotateBody, StoreBody, TokenBody } from "./bodies.js";
export { DEFAULT_PAGE_LIMIT } from "./query.js";

/**
 * The admin API: JSON in and out, `Authorization: Bearer <ADMIN_TOKEN>` or a Cloudflare Access
 * assertion (adminAuth), bodies of at most MAX_BODY_BYTES; then the routes that issue tokens, the token routes, the
 * routes by name and the read-only routes, each in its own file here.
 */
export function adminRoutes(deps: AdminDeps): Hono<{ Variables: AdminVariables }> {
  const admin = new Hono<{ Variables: AdminVariables }>();

  admin.use("*", adminAuth(deps));
  admin.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => errorJson(c, 413, "body_too_large", `the body is larger than ${MAX_BODY_BYTES} bytes`),
    }),
  );

  issuingRoutes(admin, deps);
  tokenRoutes(admin, deps);
  byNameRoutes(admin, deps);
  readOnlyRoutes(admin, deps);
  admin.all("*", (c: Context) =>
    errorJson(c, 404, "not_found", `no admin route ${c.req.method} ${new URL(c.req.url).pathname}`),
  );
  return admin;
}
