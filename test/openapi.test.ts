/**
 * The OpenAPI document: current (regenerated here and compared), valid (a maintained OpenAPI
 * 3.1 validator), and true to the app (every route it serves is documented with the statuses
 * it answers, and every documented route is served).
 */
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { buildOpenApi, ROUTES } from "../scripts/openapi.js";
import { createApp } from "../src/app.js";
import { testConfig } from "./support/worker.js";
import { diskAssets } from "./support/assets.js";
import { MemoryTokenStore, RedisTokenStore, type TokenStore } from "../src/store/index.js";

const ADMIN = "admin-token-for-tests-0123456789";
const CLIENT = ["doc-client", "doc-client-secret-0123456789"] as const;
const committed = JSON.parse(readFileSync("assets/openapi.json", "utf8")) as {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
};

function app(store: TokenStore = new MemoryTokenStore()) {
  const config = testConfig({ adminToken: ADMIN, realm: "r", oauthClients: new Map([CLIENT]) });
  return createApp({
    store,
    config,
    backend: store instanceof MemoryTokenStore || store instanceof RedisTokenStore ? store : undefined,
    assets: diskAssets,
    fetchOrigin: async () => new Response("origin"),
    log: () => {},
  });
}
const honoPath = (p: string) => p.replace(/\{(\w+)\}/g, ":$1");
const samplePath = (p: string) => p.replace(/\{\w+\}/g, "sample");

describe("the OpenAPI document", () => {
  it("is current: `npm run openapi` would write exactly the committed assets/openapi.json", () => {
    expect(committed).toEqual(buildOpenApi());
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(structuredClone(committed));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("lists every route the app serves, and the app serves every route it lists", () => {
    const served = app()
      .routes.filter(
        (r) =>
          r.method !== "ALL" &&
          !r.path.includes("*") &&
          !r.path.startsWith("/admin/console") && // a page, not an API route
          (r.path.startsWith("/admin") || r.path.startsWith("/oauth")),
      )
      .map((r) => `${r.method} ${r.path}`);
    const documented = ROUTES.map((r) => `${r.method.toUpperCase()} ${honoPath(r.path)}`);
    expect([...new Set(served)].sort()).toEqual(documented.sort());
  });

  it("documents every status each route answers, for good input, client mistakes and an outage", async () => {
    const unreachable = new RedisTokenStore({ url: "http://127.0.0.1:9", token: "x", timeoutMs: 200, retries: 0 });
    const seen: string[] = [];
    for (const route of ROUTES) {
      const documented = Object.keys(committed.paths[route.path]![route.method]!.responses);
      const path = samplePath(route.path);
      const oauth = path.startsWith("/oauth/");
      const json = route.requestBody !== undefined && !oauth;
      const good: Record<string, string> = oauth
        ? {
            Authorization: `Basic ${btoa(`${CLIENT[0]}:${CLIENT[1]}`)}`,
            "Content-Type": "application/x-www-form-urlencoded",
          }
        : { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" };
      const body = oauth
        ? "token=sample"
        : json
          ? JSON.stringify(path === "/admin/tokens" ? { token: "sample", id: "i", subject: "s" } : { token: "sample" })
          : undefined;
      const method = route.method.toUpperCase();
      const probes: [string, RequestInit, TokenStore?][] = [
        ["good input", { method, headers: good, body }],
        ["no credentials", { method, headers: { "Content-Type": good["Content-Type"]! }, body }],
        ["an outage", { method, headers: good, body }, unreachable],
      ];
      if (json) {
        probes.push(["not JSON", { method, headers: { ...good, "Content-Type": "text/plain" }, body }]);
        probes.push(["broken JSON", { method, headers: good, body: "{" }]);
        probes.push([
          "a body too large",
          { method, headers: good, body: JSON.stringify({ token: "x".repeat(17 * 1024) }) },
        ]);
      }
      if (oauth) {
        probes.push(["GET", { method: "GET", headers: good }]);
        probes.push(["a repeated parameter", { method, headers: good, body: "token=a&token=b" }]);
      }
      if (route.parameters) probes.push(["a parameter over the limit", { method, headers: good }]);
      if (route.path === "/admin/activity" || route.path === "/admin/audit")
        probes.push(["a bad limit", { method, headers: good }]);
      for (const [what, init, store] of probes) {
        const url =
          what === "a parameter over the limit"
            ? route.path.replace(/\{\w+\}/g, "x".repeat(257))
            : what === "a bad limit"
              ? `${path}?limit=0`
              : path;
        const res = await app(store).request(url, init);
        seen.push(`${method} ${route.path} ${res.status}`);
        expect(documented, `${method} ${route.path}, ${what}: ${res.status}`).toContain(String(res.status));
      }
    }
    // the probes reached the statuses that matter, not only 401s
    for (const status of [200, 201, 400, 401, 404, 405, 413, 415, 503])
      expect(
        seen.some((s) => s.endsWith(` ${status}`)),
        String(status),
      ).toBe(true);
  });

  it("is served at GET /admin/openapi.json to the admin only", async () => {
    const a = app();
    expect((await a.request("/admin/openapi.json")).status).toBe(401);
    const res = await a.request("/admin/openapi.json", { headers: { Authorization: `Bearer ${ADMIN}` } });
    expect(await res.json()).toEqual(committed);
  });
});
