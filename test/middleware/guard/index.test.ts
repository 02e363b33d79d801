/** Guard cases that cannot run in the workers project without workerd printing a warning. */
import { expect, it } from "vitest";
import { harness } from "../../support/worker.js";

it("answers a non-ASCII bearer token with 401 invalid_token, without asking the store", async () => {
  const h = harness();
  const res = await h.app.request("/api", { headers: { Authorization: "Bearer ünïcode" } });
  expect(res.status).toBe(401);
  expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
  expect(h.store.total()).toBe(0);
  expect(h.origin).toHaveLength(0);
});
