/** Tagged tokens on their own: format, tag checks, rotation, and hostile strings. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mintToken, TokenTags } from "../../src/index.js";

const tags = new TokenTags({ secret: "tag-secret-1" });

describe("mint", () => {
  it("makes prefix + 32 + 16 base64url characters, a b64token, different every time, that verifies", async () => {
    const minted = await Promise.all(Array.from({ length: 50 }, () => tags.mint()));
    for (const t of minted) {
      expect(t).toMatch(/^ets_[A-Za-z0-9_-]{48}$/);
      expect(await tags.check(t)).toBe("valid");
    }
    expect(new Set(minted).size).toBe(50);
    expect(await mintToken({ secret: "other", prefix: "acme_" })).toMatch(/^acme_[A-Za-z0-9_-]{48}$/);
  });

  it("refuses a bad prefix or secret when built", () => {
    for (const prefix of ["", "has space", "x".repeat(17), "é", "a.b"])
      expect(() => new TokenTags({ secret: "s", prefix })).toThrow(TypeError);
    expect(() => new TokenTags({ secret: "" })).toThrow(TypeError);
    expect(() => new TokenTags({ secret: "s", previousSecrets: [""] })).toThrow(TypeError);
  });
});

describe("check", () => {
  it("finds a tampered tag, a tampered body, a truncated token and another key's token invalid or untagged", async () => {
    const t = await tags.mint();
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    expect(await tags.check(flip(t, t.length - 1))).toBe("invalid"); // tag
    expect(await tags.check(flip(t, 10))).toBe("invalid"); // body
    expect(await tags.check(t.slice(0, -1))).toBe("untagged"); // wrong length
    expect(await tags.check(`xyz_${t.slice(4)}`)).toBe("untagged"); // another prefix
    expect(await tags.check(await new TokenTags({ secret: "tag-secret-2" }).mint())).toBe("invalid");
    expect(await tags.check("an-old-untagged-token")).toBe("untagged");
  });

  it("holds the exact shape both ways: a token with the prefix but shorter or longer than prefix + 48 characters is untagged", async () => {
    const t = await tags.mint();
    expect(await tags.check(t)).toBe("valid");
    for (const longer of [`${t}A`, `${t}-`, `${t}${t.slice(4)}`, `${t.slice(0, -1)}AA`])
      expect(await tags.check(longer), longer).toBe("untagged");
    for (const shorter of [t.slice(0, -1), t.slice(0, -16), "ets_"])
      expect(await tags.check(shorter), shorter).toBe("untagged");
    // the same under another prefix length
    const acme = new TokenTags({ secret: "tag-secret-1", prefix: "acme_" });
    const a = await acme.mint();
    expect(await acme.check(a)).toBe("valid");
    expect(await acme.check(`${a}A`)).toBe("untagged");
    expect(await acme.check(a.slice(0, -1))).toBe("untagged");
  });

  it("refuses a tag that differs from the right one in any single character: the first, a middle one, the last", async () => {
    const t = await tags.mint();
    const tagStart = t.length - 16;
    const swap = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    for (let i = tagStart; i < t.length; i++)
      expect(await tags.check(swap(t, i)), `tag character ${i - tagStart}`).toBe("invalid");
    // and tags that differ in the first and a middle character but end alike, under a rotation too
    const rotated = new TokenTags({ secret: "tag-secret-2", previousSecrets: ["tag-secret-1"] });
    for (const i of [tagStart, tagStart + 7]) expect(await rotated.check(swap(t, i))).toBe("invalid");
    expect(await rotated.check(t)).toBe("valid");
  });

  it("accepts tokens of a previous key during a rotation, and mints under the new one", async () => {
    const old = new TokenTags({ secret: "before" });
    const rotated = new TokenTags({ secret: "after", previousSecrets: ["before"] });
    const after = new TokenTags({ secret: "after" });
    const oldToken = await old.mint();
    expect(await rotated.check(oldToken)).toBe("valid");
    const newToken = await rotated.mint();
    expect(await after.check(newToken)).toBe("valid");
    expect(await old.check(newToken)).toBe("invalid");
    expect(await after.check(oldToken)).toBe("invalid"); // the rotation ends: old tokens stop
  });

  it("answers every hostile string without throwing, and never 'valid' without the key", async () => {
    const shaped = fc
      .tuple(fc.constantFrom("ets_", "ETS_", "ets-", ""), fc.string({ unit: "binary", maxLength: 60 }))
      .map(([p, rest]) => p + rest);
    const b64 = fc.stringMatching(/^[A-Za-z0-9_-]{48}$/).map((rest) => `ets_${rest}`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(shaped, b64, fc.string({ unit: "grapheme" })), async (s) => {
        const r = await tags.check(s);
        expect(["invalid", "untagged"]).toContain(r);
      }),
      { numRuns: 300 },
    );
  });
});
