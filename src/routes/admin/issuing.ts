/** The admin routes that issue tokens: store (or mint) one, and rotate a refresh token into its successor. */
import type { Hono } from "hono";
import { errorJson } from "../../http/errors.js";
import type { AdminVariables } from "../../middleware/admin-auth.js";
import type { RotationMetadata, TokenMetadata } from "../../store/core/index.js";
import { jsonBody, requireJson, RotateBody, StoreBody, type RotateInput, type StoreInput } from "./bodies.js";
import type { AdminDeps } from "./deps.js";
import { withToken } from "./with-token.js";

/** Adds `POST /tokens` and `POST /tokens/rotate` to `admin`. A minted token is answered this once, never stored raw. */
export function issuingRoutes(admin: Hono<{ Variables: AdminVariables }>, deps: AdminDeps): void {
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
  // refresh-token rotation: the old token retired, a new one minted in its family and answered once
  admin.post("/tokens/rotate", requireJson, jsonBody<RotateInput>(RotateBody), async (c) => {
    const { token: old, id = crypto.randomUUID(), ...metadata } = c.req.valid("json");
    if (tags === undefined)
      return errorJson(c, 400, "invalid_request", "minting the successor needs TOKEN_HASH_KEY on the server");
    const token = await tags.mint();
    return withToken(c, deps, old, async () => {
      // a JWT, verified or not, is no stored token: the store answers it as unknown (404)
      // subject and family are the old token's: the store fills them in and refuses other values
      // a rotated token is a refresh token, so /oauth/revoke without a hint still takes its family
      const md = { type: "refresh_token", ...metadata, id } as RotationMetadata;
      const stored = await audited(c.get("actor"), "rotate", { token: old, id, family: metadata.family }, () =>
        store.rotate(old, token, md),
      );
      return c.json({ token, ...stored }, 201, { "Cache-Control": "no-store" });
    });
  });
}
