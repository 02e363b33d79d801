/**
 * A real OAuth client library (oauth4webapi) against the app's RFC 7009 and RFC 7662
 * endpoints, with client_secret_basic and client_secret_post, through app.request.
 */
import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app.js";
import { MemoryTokenStore } from "../../../src/store/index.js";
import { testConfig } from "../../support/worker.js";

const ISSUER = "https://edge.test";
const as: oauth.AuthorizationServer = {
  issuer: ISSUER,
  revocation_endpoint: `${ISSUER}/oauth/revoke`,
  introspection_endpoint: `${ISSUER}/oauth/introspect`,
};
const CLIENT: oauth.Client = { client_id: "lib-client" };
const SECRET = "lib-client-secret-0123456789";

function setup() {
  const store = new MemoryTokenStore();
  const app = createApp({
    store,
    config: testConfig({ realm: "r", oauthClients: new Map([[CLIENT.client_id, SECRET]]) }),
    fetchOrigin: async () => new Response("origin"),
  });
  const options = { [oauth.customFetch]: async (url: string, init: RequestInit) => app.request(url, init) };
  return { store, options, app };
}

for (const [method, auth] of [
  ["client_secret_basic", oauth.ClientSecretBasic(SECRET)],
  ["client_secret_post", oauth.ClientSecretPost(SECRET)],
] as const) {
  describe(`oauth4webapi with ${method}`, () => {
    it("introspects a live token, revokes it, then introspects it as inactive", async () => {
      const { store, options } = setup();
      await store.store("lib-token-1", { id: "lib-1", subject: "alice", clientId: CLIENT.client_id });
      const live = await oauth.processIntrospectionResponse(
        as,
        CLIENT,
        await oauth.introspectionRequest(as, CLIENT, auth, "lib-token-1", options),
      );
      expect(live).toMatchObject({
        active: true,
        sub: "alice",
        jti: "lib-1",
        client_id: "lib-client",
        token_type: "Bearer",
      });
      await oauth.processRevocationResponse(await oauth.revocationRequest(as, CLIENT, auth, "lib-token-1", options));
      expect(await store.isRevoked("lib-token-1")).toBe(true);
      const gone = await oauth.processIntrospectionResponse(
        as,
        CLIENT,
        await oauth.introspectionRequest(as, CLIENT, auth, "lib-token-1", options),
      );
      expect(gone).toEqual({ active: false });
    });

    it("revokes a refresh token, and the access tokens of its grant are refused at the edge (RFC 7009 §2.1)", async () => {
      const { store, options, app } = setup();
      await store.store("lib-refresh", { id: "lr", subject: "alice", family: "lib-grant", type: "refresh_token" });
      await store.store("lib-access", { id: "la", subject: "alice", family: "lib-grant", clientId: CLIENT.client_id });
      await store.store("lib-other", { id: "lo", subject: "alice", family: "other-grant" });
      const edge = async (t: string) =>
        (await app.request("/api/orders", { headers: { Authorization: `Bearer ${t}` } })).status;
      expect(await edge("lib-access")).toBe(200);
      await oauth.processRevocationResponse(
        await oauth.revocationRequest(as, CLIENT, auth, "lib-refresh", {
          ...options,
          additionalParameters: { token_type_hint: "refresh_token" },
        }),
      );
      expect(await edge("lib-access")).toBe(401);
      expect(await edge("lib-refresh")).toBe(401);
      expect(await edge("lib-other")).toBe(200);
    });

    it("surfaces a wrong secret as the library's 401 challenge error", async () => {
      const { options } = setup();
      const wrong =
        method === "client_secret_basic"
          ? oauth.ClientSecretBasic("wrong-secret-0123456789")
          : oauth.ClientSecretPost("wrong-secret-0123456789");
      const res = await oauth.revocationRequest(as, CLIENT, wrong, "x", options);
      const e = await oauth.processRevocationResponse(res).catch((x: unknown) => x);
      // a 401 with WWW-Authenticate: the library reports the challenge (Basic) and the status
      expect(e).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
      expect((e as oauth.WWWAuthenticateChallengeError).status).toBe(401);
      expect((e as oauth.WWWAuthenticateChallengeError).cause[0]?.scheme).toBe("basic");
    });
  });
}
