/**
 * The identity headers the guard sends to the origin: distinct subjects always arrive distinct,
 * decodable with decodeURIComponent, and look-alike header names a client sends are stripped.
 */
import { describe, expect, it } from "vitest";
import { identityHeaderValue } from "../../src/http/identity-headers.js";
import { bearer, harness } from "../support/worker.js";

describe("identity headers", () => {
  const pairs: [string, string][] = [
    ["ädmin", "%C3%A4dmin"],
    [" admin", "%20admin"],
    ["admin ", "admin%20"],
    // a joiner between letters is stored (the identifier rule lets it through) and encoded
    ["a\u200Db", "a%E2%80%8Db"],
    ["admin", "%61dmin"],
    ["100%", "100%25"],
    ["josé", "jos%C3%A9"],
    ["李", "%E6%9D%8E"],
  ];
  for (const [a, b] of pairs) {
    it(`sends ${JSON.stringify(a)} and ${JSON.stringify(b)} as distinct values that decode back`, async () => {
      const h = harness();
      await h.memory.store("tok-a", { id: "id-a", subject: a });
      await h.memory.store("tok-b", { id: "id-b", subject: b });
      for (const token of ["tok-a", "tok-b"])
        expect((await h.app.request("/x", { headers: bearer(token) })).status).toBe(200);
      const [ha, hb] = h.origin.map((r) => r.headers.get("X-Token-Subject")!);
      expect(ha).not.toBe(hb);
      expect(decodeURIComponent(ha!)).toBe(a);
      expect(decodeURIComponent(hb!)).toBe(b);
    });
  }

  it("sends printable ASCII without % as it is, and encodes every C0 control, DEL, Latin-1, % and edge spaces", () => {
    expect(identityHeaderValue("alice@example.com")).toBe("alice@example.com");
    expect(identityHeaderValue("a b+c/d=")).toBe("a b+c/d=");
    for (let code = 0; code < 0x20; code++) {
      const v = `x${String.fromCharCode(code)}y`;
      expect(identityHeaderValue(v), `0x${code.toString(16)}`).toBe(
        `x%${code.toString(16).toUpperCase().padStart(2, "0")}y`,
      );
    }
    expect(identityHeaderValue("x\x7f")).toBe("x%7F");
    expect(identityHeaderValue("café")).toBe("caf%C3%A9");
    expect(identityHeaderValue("\xa0nbsp")).toBe("%C2%A0nbsp");
    expect(identityHeaderValue("50%")).toBe("50%25");
    expect(identityHeaderValue(" lead")).toBe("%20lead");
    expect(identityHeaderValue("trail ")).toBe("trail%20");
  });

  it("strips look-alikes of the identity headers that CGI, PHP and nginx treat as the same name", async () => {
    const h = harness();
    await h.memory.store("live", { id: "real-id", subject: "alice" });
    const spoofed = {
      X_Token_Subject: "admin",
      x_token_id: "forged",
      "X-TOKEN_STATUS": "verified",
      "x-token_subject": "root",
      "X-Token-Subjects": "kept",
    };
    expect((await h.app.request("/x", { headers: { ...bearer("live"), ...spoofed } })).status).toBe(200);
    const seen = [...h.origin[0]!.headers].map(([n]) => n);
    expect(seen.filter((n) => n.replaceAll("_", "-") === "x-token-subject")).toEqual(["x-token-subject"]);
    expect(seen.filter((n) => n.replaceAll("_", "-") === "x-token-id")).toEqual(["x-token-id"]);
    expect(seen.some((n) => n.replaceAll("_", "-") === "x-token-status")).toBe(false);
    expect(h.origin[0]!.headers.get("X-Token-Subject")).toBe("alice");
    expect(h.origin[0]!.headers.get("X-Token-Subjects")).toBe("kept");
  });
});
