/**
 * Tagged opaque tokens: `<prefix><body><tag>`, where the body is 192 random bits and the tag
 * a truncated HMAC-SHA-256 of prefix and body under a tag key. Anyone can see the prefix (so
 * secret scanners find leaked tokens); only the key's holder can make a tag that verifies, so
 * the edge refuses a forged token before it costs a store round trip.
 *
 * The tag is 96 bits: at a billion guesses a day, finding one that verifies takes on the
 * order of 10^17 years. The body and the tag are base64url (RFC 4648 §5), which RFC 6750's
 * b64token allows, so a tagged token always fits in `Authorization: Bearer`.
 */

/** Random bytes in a token's body: 192 bits, more than the 128 a guess must beat. */
const BODY_BYTES = 24;
/** Bytes of HMAC-SHA-256 kept as the tag: 96 bits. */
const TAG_BYTES = 12;
const BODY_CHARS = 32; // base64url of 24 bytes, no padding
const TAG_CHARS = 16; // base64url of 12 bytes, no padding
const B64URL = /^[A-Za-z0-9_-]+$/;

/** @default prefix of minted tokens */
export const DEFAULT_TOKEN_PREFIX = "ets_";
/** A prefix: 1 to 16 letters, digits, `_` or `-`, so a token stays a b64token. */
const PREFIX = /^[A-Za-z0-9_-]{1,16}$/;

/** What the edge may answer about an opaque token's tag, before any store call. */
export type TagCheck = "valid" | "invalid" | "untagged";

export interface TokenTagsOptions {
  /** The secret the tag key is derived from (HKDF-SHA-256): the Worker passes TOKEN_HASH_KEY. */
  secret: string;
  /** Secrets of earlier keys, still accepted during a rotation (TOKEN_HASH_KEY_PREVIOUS). */
  previousSecrets?: readonly string[];
  /** @default DEFAULT_TOKEN_PREFIX */
  prefix?: string;
}

/** Mints and checks tagged tokens under one tag key (and, in a rotation, earlier ones). */
export class TokenTags {
  readonly prefix: string;
  private readonly keys: Promise<CryptoKey>[];

  /** Throws TypeError naming a bad option. */
  constructor(options: TokenTagsOptions) {
    this.prefix = options.prefix ?? DEFAULT_TOKEN_PREFIX;
    if (typeof this.prefix !== "string" || !PREFIX.test(this.prefix))
      throw new TypeError("prefix must be 1 to 16 letters, digits, _ or -");
    const secrets = [options.secret, ...(options.previousSecrets ?? [])];
    if (secrets.some((s) => typeof s !== "string" || s.length === 0))
      throw new TypeError("secret must be a non-empty string");
    this.keys = secrets.map(tagKey);
  }

  /** A new token: the prefix, 192 bits from crypto.getRandomValues, and its tag under the current key. */
  async mint(): Promise<string> {
    const body = base64url(crypto.getRandomValues(new Uint8Array(BODY_BYTES)));
    return `${this.prefix}${body}${base64url(await tagOf(await this.keys[0]!, this.prefix + body))}`;
  }

  /**
   * "untagged": not shaped as a tagged token of this prefix (the store decides, unless only
   * tagged tokens are accepted). "valid": its tag verifies under the current or a previous key.
   * "invalid": shaped as one, but no key made its tag. Every key is tried, and compared in
   * constant time, so how long a check takes does not depend on where a forged tag differs.
   */
  async check(token: string): Promise<TagCheck> {
    const p = this.prefix;
    if (token.length !== p.length + BODY_CHARS + TAG_CHARS || !token.startsWith(p)) return "untagged";
    const rest = token.slice(p.length);
    if (!B64URL.test(rest)) return "untagged";
    const given = rest.slice(BODY_CHARS);
    const signed = token.slice(0, p.length + BODY_CHARS);
    let ok = false;
    for (const key of this.keys) {
      if (sameString(base64url(await tagOf(await key, signed)), given)) ok = true;
    }
    return ok ? "valid" : "invalid";
  }
}

/** A tagged token, for a library user who keeps the tag key (the same secret the edge is given). */
export async function mintToken(options: TokenTagsOptions): Promise<string> {
  return new TokenTags(options).mint();
}

const encoder = new TextEncoder();

/** The tag key of a secret: HKDF-SHA-256, its own `info`, so it never equals the hashing key. */
async function tagKey(secret: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("edge-token-store token tag v1") },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}

async function tagOf(key: CryptoKey, signed: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(signed))).slice(0, TAG_BYTES);
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Equal strings of equal length, compared without an early exit. */
function sameString(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
