/**
 * Property-based tests (fast-check) of every input a client controls, inside workerd, on both
 * backends. Runs are bounded; a failure prints fast-check's seed and path, so
 * `fc.assert(..., { seed, path })` replays it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { MemoryTokenStore, RedisTokenStore, LIMITS, type TokenStore } from "../src/store/index.js";
import { ADMIN, CLIENT_ID, harness, type Harness } from "./support/worker.js";

const CLOCK = Date.UTC(2026, 10, 27, 12);

const BACKENDS: [string, () => TokenStore, number][] = [
  ["memory", () => new MemoryTokenStore({ now: () => CLOCK }), 200],
  [
    "redis",
    () =>
      new RedisTokenStore({
        url: inject("upstashUrl"),
        token: inject("upstashToken"),
        keyPrefix: `${inject("runPrefix")}fuzz-${crypto.randomUUID()}:`,
        timeoutMs: 10_000,
        now: () => CLOCK,
      }),
    60,
  ],
];

/** Strings a hostile client sends: lone surrogates, NUL and controls, bidi marks, %-sequences, edge lengths. */
const hostileString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom(
    "\ud800",
    "x\udc00",
    "\udfff\ud800",
    "\0",
    "a\0b",
    "\x7f",
    "\u202eevil",
    "\u200f",
    "\ufeff",
    "%",
    "%25",
    "%C3%A4dmin",
    "%61dmin",
    "%00",
    "%zz",
    " lead",
    "trail ",
    "a\r\nX-Token-Subject: root",
    "\\",
    ".",
    "..",
    '"',
    "ädmin",
    "日本",
    "😀",
    "s".repeat(LIMITS.subject),
    "s".repeat(LIMITS.subject + 1),
    "",
  ),
);
/** Tokens the guard can carry, unique per call so runs never share one. */
let serial = 0;
const freshToken = () => `fz-${++serial}-${crypto.randomUUID()}`;

const admin = (h: Harness, path: string, init: RequestInit = {}) =>
  h.app.request(path, {
    ...init,
    headers: { Authorization: `Bearer ${ADMIN}`, ...(init.headers as Record<string, string>) },
  });

/** The documented error shape of the admin API and the guard. */
function expectErrorShape(body: unknown, label: string): void {
  const e = (body as { error?: { code?: unknown; message?: unknown } }).error;
  expect(typeof e?.code, label).toBe("string");
  expect(typeof e?.message, label).toBe("string");
  expect(Object.keys(body as object), label).toEqual(["error"]);
}

for (const [backend, makeStore, runs] of BACKENDS) {
  describe(`fuzz (${backend})`, () => {
    it("stores metadata of hostile strings either usably or not at all, with distinct identity headers", async () => {
      const h = harness({ store: makeStore() });
      const seen = new Map<string, string>(); // header value → subject that produced it
      const revokedFamilies = new Set<string>();
      await fc.assert(
        fc.asyncProperty(
          hostileString,
          hostileString,
          fc.option(hostileString, { nil: undefined }),
          fc.option(hostileString, { nil: undefined }),
          fc.option(hostileString, { nil: undefined }),
          async (subject, id, issuer, clientId, family) => {
            const token = freshToken();
            const body = JSON.stringify({ token, id: `${id}`, subject, issuer, clientId, family });
            const res = await admin(h, "/admin/tokens", {
              method: "POST",
              headers: { "Content-Type": "application/json" },
              body,
            });
            const text = await res.text();
            expect(res.status, text).toBeLessThan(500);
            expect(text).not.toContain(token);
            const before = h.origin.length;
            const guarded = await h.app.request("/p", { headers: { Authorization: `Bearer ${token}` } });
            if (res.status !== 201) {
              // bad metadata, an id an earlier run holds, or a family an earlier run revoked
              const refusals = family !== undefined && revokedFamilies.has(family) ? [400, 409, 410] : [400, 409];
              expect(refusals, text).toContain(res.status);
              expectErrorShape(JSON.parse(text), text);
              expect(guarded.status).toBe(401);
              expect(h.origin.length).toBe(before);
              return;
            }
            // stored, so usable: the guard admits it and the origin can decode the exact values
            expect(guarded.status).toBe(200);
            const req = h.origin.at(-1)!;
            const subjectHeader = req.headers.get("X-Token-Subject")!;
            expect(decodeURIComponent(subjectHeader)).toBe(subject);
            expect(decodeURIComponent(req.headers.get("X-Token-Id")!)).toBe(id);
            const prior = seen.get(subjectHeader);
            if (prior !== undefined) expect(prior).toBe(subject);
            seen.set(subjectHeader, subject);
            // a stored family reads back exactly, and revoking it by name reaches this token (the
            // store refuses "." and "..", which a URL would resolve away)
            if (family !== undefined) {
              const looked = (await (
                await admin(h, "/admin/tokens/lookup", {
                  method: "POST",
                  headers: { "Content-Type": "application/json" },
                  body: JSON.stringify({ token }),
                })
              ).json()) as { family?: string };
              expect(looked.family).toBe(family);
              const revoked = await admin(h, `/admin/families/${encodeURIComponent(family)}/revoke`, {
                method: "POST",
              });
              expect(revoked.status).toBe(200);
              revokedFamilies.add(family);
              expect((await h.app.request("/p", { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
            }
          },
        ),
        { numRuns: runs },
      );
    });

    it("lets only a live token reach the origin, whatever Authorization headers arrive", async () => {
      const h = harness({ store: makeStore() });
      const [live, revoked, unknown] = [freshToken(), freshToken(), freshToken()];
      await h.store.store(live, { id: `l-${live}`, subject: "live" });
      await h.store.store(revoked, { id: `r-${revoked}`, subject: "revoked" });
      await h.store.revoke(revoked);
      const control = fc
        .integer({ min: 0, max: 0x7f })
        .filter((c) => ![0, 10, 13].includes(c))
        .map((c) => String.fromCharCode(c));
      const junk = fc
        .array(fc.oneof(control, fc.constantFrom("\v", "\f", "\x1c", "\x7f", " ", "\t", "=", ",", "%20", "%0b")), {
          minLength: 1,
          maxLength: 3,
        })
        .map((a) => a.join(""));
      // mostly near-misses of a good header: nothing around it, or one odd character
      const around = fc.oneof({ arbitrary: fc.constant(""), weight: 3 }, { arbitrary: junk, weight: 2 });
      const scheme = fc.constantFrom("Bearer", "bearer", "BEARER", "Basic", "Token", "Bearerx", "", "Bearer:");
      const sep = fc.oneof(fc.constantFrom(" ", "  ", "\t", "\v", "\f", " \v", ""), junk);
      const token = fc.oneof(
        { arbitrary: fc.constant(live), weight: 4 },
        fc.constantFrom(revoked, unknown, "", "a b", "x".repeat(LIMITS.token + 1)),
      );
      const value = fc
        .tuple(around, scheme, sep, token, around)
        .map((parts) => parts.join(""))
        .filter((v) => !/[\0\r\n]/.test(v));
      await fc.assert(
        fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 2 }), async (values) => {
          const headers = new Headers();
          for (const v of values) headers.append("Authorization", v); // repeated headers join with ", "
          const before = h.origin.length;
          const res = await h.app.request("/p", { headers });
          const text = await res.text();
          expect(res.status, text).toBeLessThan(500);
          for (const t of [live, revoked, unknown]) expect(text).not.toContain(t);
          if (res.status === 200) {
            expect(h.origin.length).toBe(before + 1);
            // exactly RFC 6750's form, with only the white space HTTP itself strips around it
            expect(h.origin.at(-1)!.headers.get("Authorization")).toMatch(
              new RegExp(`^[ \t]*bearer +${live}[ \t]*$`, "i"),
            );
          } else {
            expect(res.status).toBe(401);
            expectErrorShape(JSON.parse(text), text);
            expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm=/);
            expect(h.origin.length).toBe(before);
          }
        }),
        { numRuns: runs },
      );
    });

    it("answers arbitrary admin requests with a 4xx in the documented shape, never a 5xx", async () => {
      const h = harness({ store: makeStore() });
      const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD");
      const route = fc.constantFrom(
        "/tokens",
        "/tokens/lookup",
        "/tokens/status",
        "/tokens/revoke",
        "/tokens/delete",
        "/tokens/rotate",
        "/tokens/by-id/",
        "/subjects/",
        "/keys/",
        "/families/",
        "/cleanup",
        "/stats",
        "/",
        "/nope",
      );
      const segment = fc.oneof(
        hostileString.map((s) => encodeURIComponent(s.toWellFormed())),
        fc.constantFrom("%", "%zz", "%ud800", "%ED%A0%80", "..", "%2F", ""),
      );
      const suffix = fc.constantFrom("", "/tokens", "/revoke", "/x/y");
      const contentType = fc.constantFrom(
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
        "APPLICATION/JSON",
      );
      const body = fc.oneof(
        fc.json({ maxDepth: 2 }),
        fc
          .record(
            {
              token: hostileString,
              id: hostileString,
              subject: hostileString,
              clientId: hostileString,
              family: hostileString,
              expiresAt: fc.oneof(fc.integer(), hostileString),
            },
            { requiredKeys: [] },
          )
          .map((o) => JSON.stringify(o)),
        fc.string({ unit: "binary", maxLength: 40 }),
        fc.constantFrom("", "{", "null", "[]", '{"token":"t","token":"u"}', "x".repeat(17 * 1024)),
      );
      await fc.assert(
        fc.asyncProperty(method, route, segment, suffix, contentType, body, async (m, r, seg, suf, ct, b) => {
          const path = `/admin${r}${r.endsWith("/") && r !== "/" ? `${seg}${suf}` : ""}`;
          const init: RequestInit = { method: m, headers: ct === "" ? {} : { "Content-Type": ct } };
          if (m !== "GET" && m !== "HEAD") init.body = b;
          const res = await admin(h, path, init);
          const text = await res.text();
          expect(res.status, `${m} ${path} ${text}`).toBeLessThan(500);
          if (res.status >= 400 && m !== "HEAD") expectErrorShape(JSON.parse(text), `${m} ${path} ${text}`);
        }),
        { numRuns: runs },
      );
    });

    it("answers arbitrary OAuth requests with RFC 6749 errors, never a 5xx, and revokes only with good credentials", async () => {
      const h = harness({ store: makeStore() });
      const keep = freshToken();
      await h.store.store(keep, { id: `k-${keep}`, subject: "keep" });
      const auth = fc.constantFrom(
        {},
        { Authorization: `Basic ${btoa(`${CLIENT_ID}:wrong-secret-0123456789`)}` },
        { Authorization: `Basic ${btoa("nobody:x")}` },
        { Authorization: "Basic %%%" },
        { Authorization: "Bearer not-admin" },
        { Authorization: `Bearer ${ADMIN}\v` },
      ) as fc.Arbitrary<Record<string, string>>;
      const param = fc.constantFrom("token", "client_id", "client_secret", "token_type_hint", "x");
      const form = fc
        .array(fc.tuple(param, fc.oneof(hostileString, fc.constant(keep))), { maxLength: 4 })
        .map((pairs) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v.toWellFormed())}`).join("&"));
      const raw = fc.oneof(form, fc.constantFrom("token=%", "token=%ZZ&token=%ED%A0%80", "&&&", "=x", "token"));
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("/oauth/revoke", "/oauth/introspect"),
          auth,
          raw,
          fc.constantFrom("application/x-www-form-urlencoded", "text/plain"),
          async (path, headers, body, ct) => {
            const res = await h.app.request(path, {
              method: "POST",
              headers: { ...headers, "Content-Type": ct },
              body,
            });
            const text = await res.text();
            expect(res.status, text).toBeLessThan(500);
            expect(text).not.toContain(keep);
            if (res.status >= 400) {
              const e = JSON.parse(text) as { error?: unknown; error_description?: unknown };
              expect(typeof e.error).toBe("string");
              expect(typeof e.error_description).toBe("string");
            }
          },
        ),
        { numRuns: runs },
      );
      // none of those requests carried good credentials: the token is still live
      expect(await h.store.isRevoked(keep)).toBe(false);
    });
  });
}
