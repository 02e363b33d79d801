/**
 * The identifier rule (src/store/core/identifier.ts, docs/security.md): every identifying field
 * refuses characters that are invisible or hide or reorder text, in the library and at the
 * edge (JWT claims, Access identities); real text in any script stays accepted.
 */
import fc from "fast-check";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { AccessVerifier } from "../../../src/jwt/access.js";
import { JwtRejected, JwtVerifier } from "../../../src/jwt/verifier.js";
import { ErrInvalidMetadata, ErrTokenNotFound, MemoryTokenStore, StorageError } from "../../../src/store/index.js";

/** One example or more of every category the rule refuses, as code points. */
const REFUSED: Record<string, number[]> = {
  "C0 and C1 controls, DEL": [0x00, 0x07, 0x1b, 0x7f, 0x85, 0x9f],
  "bidirectional formatting": [
    0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x061c, 0x200e, 0x200f,
  ],
  "default-ignorable and invisible": [0x200b, 0x2060, 0xfeff, 0x00ad, 0x034f, 0x3164, 0xe0041, 0xe0001, 0x180e],
  "line and paragraph separators, noncharacters": [0x2028, 0x2029, 0xffff, 0xfffe, 0xfdd0, 0x1fffe],
  "spaces other than U+0020": [0x00a0, 0x2003, 0x3000],
};
const ALL_REFUSED = Object.values(REFUSED).flat();
const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;

/** Real names and words: Arabic, Hebrew, CJK, accented Latin, Persian and Devanagari joiners, emoji sequences. */
const REAL = [
  "محمد بن سلمان",
  "שלום עליכם",
  "李小龙",
  "山田 太郎",
  "José Müller-Lüdenscheidt",
  "Zoë Ørsted",
  "می‌خواهم", // Persian, a zero-width non-joiner between letters
  "क्‍ष", // Devanagari, a zero-width joiner after a virama
  "👨‍👩‍👧‍👦",
  "❤️",
  "🏳️‍🌈",
  "1️⃣",
  "👍🏽",
  "Ana María de la O",
];
const FIELDS = ["id", "subject", "keyId", "clientId", "type", "issuer"] as const;

const visible = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom(..."abcXYZ019-_.@ ").map((c) => c) });

describe("the identifier rule in the library", () => {
  it("refuses each category in every identifying field, naming the field and the code point, and stores nothing", async () => {
    const store = new MemoryTokenStore();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FIELDS),
        fc.constantFrom(...ALL_REFUSED),
        visible,
        visible,
        async (field, cp, before, after) => {
          const token = `t-${crypto.randomUUID()}`;
          const value = `${before}${String.fromCodePoint(cp)}${after}`;
          const metadata = { id: `id-${crypto.randomUUID()}`, subject: "s", [field]: value };
          const e = await store.store(token, metadata).then(
            () => undefined,
            (x: unknown) => x,
          );
          expect(e).toBeInstanceOf(StorageError);
          expect((e as StorageError).err).toBe(ErrInvalidMetadata);
          expect((e as StorageError).detail).toBe(
            `${field} holds ${hex(cp)}, a control, format, invisible or separator character`,
          );
          await expect(store.get(token)).rejects.toMatchObject({ err: ErrTokenNotFound });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("accepts real text in every identifying field, in any script, and answers it back unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FIELDS), fc.constantFrom(...REAL), visible, async (field, word, suffix) => {
        const store = new MemoryTokenStore(); // a fresh one: the same id drawn twice would be a conflict
        const token = `t-${crypto.randomUUID()}`;
        const value = `${word}${suffix}`;
        const stored = await store.store(token, { id: `id-${crypto.randomUUID()}`, subject: "s", [field]: value });
        expect(stored[field]).toBe(value);
        expect((await store.get(token))[field]).toBe(value);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a joiner or a variation selector with nothing visible to hold on to", async () => {
    const store = new MemoryTokenStore();
    for (const subject of ["\u200Dx", "x\u200D", "x\u200D\u200Dy", "x \u200Cy", "\uFE0Fx", "x\u200B\uFE0F"]) {
      await expect(
        store.store(`t-${crypto.randomUUID()}`, { id: "i", subject }),
        JSON.stringify(subject),
      ).rejects.toMatchObject({
        err: ErrInvalidMetadata,
      });
    }
  });

  it("looks up by subject and id under the looser rule: a hidden character is no error, so a value stored before the rule stays reachable", async () => {
    const store = new MemoryTokenStore();
    expect(await store.list("x\u202Eevil")).toEqual([]);
    await expect(store.getById("i\u200Bd")).rejects.toMatchObject({ err: ErrTokenNotFound });
    expect(await store.revokeSubject("x\u202Eevil")).toEqual({ revoked: 0 });
  });
});

describe("the identifier rule at the edge", () => {
  const NOW = Date.UTC(2026, 11, 7, 12);
  const keys = generateKeyPair("ES256", { extractable: true });
  const jwks = async () => ({ keys: [{ ...(await exportJWK((await keys).publicKey)), kid: "k1", alg: "ES256" }] });
  const sign = async (claims: Record<string, unknown>, kid = "k1") =>
    new SignJWT({ sub: "alice", iat: NOW / 1000 - 60, exp: NOW / 1000 + 600, ...claims })
      .setProtectedHeader({ alg: "ES256", kid })
      .sign((await keys).privateKey);

  it("refuses a JWT whose sub, jti or iss claim or kid holds a refused character, naming it, at no store cost", async () => {
    const verifier = new JwtVerifier({ jwks: await jwks(), now: () => NOW });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("sub", "jti", "iss", "kid"),
        fc.constantFrom(...ALL_REFUSED.filter((cp) => cp !== 0)),
        async (claim, cp) => {
          const value = `x${String.fromCodePoint(cp)}y`;
          const token = claim === "kid" ? await sign({}, value) : await sign({ [claim]: value });
          const e = await verifier.verify(token).then(
            () => undefined,
            (x: unknown) => x,
          );
          // a kid the key set lacks is refused before its characters are looked at
          expect(e).toBeInstanceOf(JwtRejected);
          if (claim === "kid") return;
          expect((e as JwtRejected).description).toBe(
            `the token's ${claim} claim holds ${hex(cp)}, a control, format, invisible or separator character`,
          );
        },
      ),
      { numRuns: 120 },
    );
    expect((await verifier.verify(await sign({ sub: "李小龙 ❤️" }))).subject).toBe("李小龙 ❤️");
  });

  it("refuses an Access identity holding a refused character, and takes a real name", async () => {
    const team = "https://team.cloudflareaccess.com";
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const certs = { keys: [{ ...(await exportJWK(publicKey)), kid: "a1", alg: "RS256" }] };
    const access = new AccessVerifier({
      teamDomain: team,
      audience: "aud",
      now: () => NOW,
      fetch: async () => Response.json(certs),
    });
    const assertion = (email: string) =>
      new SignJWT({ email, aud: ["aud"], iat: NOW / 1000 - 10, exp: NOW / 1000 + 600 })
        .setIssuer(team)
        .setProtectedHeader({ alg: "RS256", kid: "a1" })
        .sign(privateKey);
    for (const cp of [0x202e, 0x200b, 0x2066, 0x00a0, 0xe0041])
      await expect(
        access.actor(await assertion(`ali${String.fromCodePoint(cp)}ce@example.com`)),
        hex(cp),
      ).rejects.toThrow(/no acceptable identity/);
    expect(await access.actor(await assertion("zoë@example.com"))).toBe("zoë@example.com");
  });
});
