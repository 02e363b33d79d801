/**
 * The request bodies' check (src/http/body.ts) against the schemas the routes publish:
 * the first problem, named, in the order the fields are described; and, as an oracle, valibot
 * (which checked these bodies before): for any body both accept or both refuse.
 */
import fc from "fast-check";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { B64TOKEN } from "../../src/http/auth.js";
import { bodyProblem } from "../../src/http/body.js";
import { RotateBody, StoreBody, TokenBody } from "../../src/routes/admin/index.js";
import { OAuthForm } from "../../src/routes/oauth/index.js";
import { LIMITS } from "../../src/store/index.js";

describe("request bodies", () => {
  it("names the first problem: no object, a field's type or limits, a missing field, then an unknown one", () => {
    const cases: [unknown, string | undefined][] = [
      [null, "the body must be a JSON object"],
      [[], "the body must be a JSON object"],
      ["token", "the body must be a JSON object"],
      [{}, "token is required"],
      [{ token: 5 }, "token must be a string"],
      [{ token: null }, "token must be a string"],
      [{ token: "" }, "token must not be empty"],
      [{ token: "x".repeat(LIMITS.token + 1) }, `token is longer than ${LIMITS.token} characters`],
      [{ token: "t", extra: 1 }, 'unknown field "extra"'],
      [{ extra: 1 }, "token is required"],
      [{ token: "t" }, undefined],
    ];
    for (const [body, problem] of cases) expect(bodyProblem(TokenBody, body), JSON.stringify(body)).toBe(problem);
    expect(bodyProblem(StoreBody, { id: "i", subject: "s", token: "a b" })).toBe(
      "token must be an RFC 6750 b64token (A-Z a-z 0-9 - . _ ~ + /, then any =)",
    );
    expect(bodyProblem(StoreBody, { id: "i", subject: "s", expiresAt: true })).toBe(
      "expiresAt: must be an ISO 8601 string or epoch milliseconds",
    );
    expect(bodyProblem(StoreBody, { subject: "s" })).toBe("id is required");
    expect(bodyProblem(StoreBody, { id: "i", subject: "s", issuer: null })).toBe("issuer must be a string");
    expect(bodyProblem(StoreBody, { id: "i", subject: "s", issuedAt: 0, expiresAt: "2027-01-01" })).toBeUndefined();
    expect(bodyProblem(OAuthForm, { token: "" })).toBe("token must not be empty");
    expect(bodyProblem(OAuthForm, { token: "t", anything: "else" })).toBeUndefined(); // RFC 7009: extra parameters are ignored
  });

  it("accepts and refuses exactly what valibot did, for any body", () => {
    const token = v.pipe(v.string(), v.minLength(1), v.maxLength(LIMITS.token));
    const date = v.union([v.string(), v.number()]);
    const text = v.optional(v.string());
    const oracle = {
      token: v.strictObject({ token }),
      store: v.strictObject({
        token: v.optional(v.pipe(token, v.regex(B64TOKEN))),
        id: v.string(),
        subject: v.string(),
        issuer: text,
        issuedAt: v.optional(date),
        expiresAt: v.optional(date),
        keyId: text,
        type: text,
        status: text,
        clientId: text,
        family: text,
      }),
    };
    // rotate's body: the old token (any token the store could hold), the new token's fields optional
    const { token: _minted, id: _id, subject: _subject, ...newFields } = oracle.store.entries;
    const rotate = v.strictObject({ ...newFields, token, id: text, subject: text });
    const field = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constantFrom("", "a b", "ok=", "x".repeat(LIMITS.token + 1)),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    const keys = fc.constantFrom(
      "token",
      "id",
      "subject",
      "issuer",
      "issuedAt",
      "expiresAt",
      "keyId",
      "type",
      "status",
      "clientId",
      "family",
      "other",
    );
    const body = fc.oneof(fc.dictionary(keys, field, { maxKeys: 6 }), fc.array(field, { maxLength: 2 }), field);
    fc.assert(
      fc.property(body, (b) => {
        expect(bodyProblem(TokenBody, b) === undefined, "token body").toBe(v.safeParse(oracle.token, b).success);
        expect(bodyProblem(StoreBody, b) === undefined, "store body").toBe(v.safeParse(oracle.store, b).success);
        expect(bodyProblem(RotateBody, b) === undefined, "rotate body").toBe(v.safeParse(rotate, b).success);
      }),
      { numRuns: 2000 },
    );
  });
});
