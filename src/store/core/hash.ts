// Hashing raw tokens: the hasher, the fingerprint that names a hash in errors, and the hashers of
// key rotation (the current pepper and the previous ones).
import { checkToken } from "./inputs.js";
import type { ResolvedBaseConfig } from "./config.js";

/** Turns a raw token into the hex hash that every backend keys it by. */
export type TokenHasher = (token: string) => Promise<string>;

const encoder = new TextEncoder();

/** Characters of the hash shown as `StorageError.key`: enough to tell tokens apart in logs. */
const FINGERPRINT_LENGTH = 12;

/**
 * HMAC-SHA-256 under `hashKey` where one is set, plain SHA-256 otherwise. WebCrypto only,
 * so the same code runs in Node and in Workers. The HMAC key is imported once and cached.
 */
export function createHasher(hashKey?: string): TokenHasher {
  if (hashKey === undefined) {
    return async (token) => toHex(await crypto.subtle.digest("SHA-256", encoder.encode(token)));
  }
  let key: Promise<CryptoKey> | undefined;
  return async (token) => {
    key ??= crypto.subtle.importKey("raw", encoder.encode(hashKey), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return toHex(await crypto.subtle.sign("HMAC", await key, encoder.encode(token)));
  };
}

export function fingerprint(hash: string): string {
  return hash.slice(0, FINGERPRINT_LENGTH);
}

const HEX_DIGITS = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/**
 * One flat string from char codes: building it with `+=` would leave a rope of 32 pieces,
 * which costs about 1 KiB of heap for every token kept as a map key.
 */
export function toHex(buf: ArrayBuffer): string {
  const bytes = new Uint8Array(buf);
  const codes = new Array<number>(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    codes[2 * i] = HEX_DIGITS[bytes[i]! >> 4]!;
    codes[2 * i + 1] = HEX_DIGITS[bytes[i]! & 15]!;
  }
  return String.fromCharCode(...codes);
}

/** Checks a raw token and hashes it: the hash keys the token, its fingerprint names it in errors. */
export async function tokenKey(op: string, token: unknown, hash: TokenHasher): Promise<[hash: string, key: string]> {
  checkToken(op, token);
  const h = await hash(token);
  return [h, fingerprint(h)];
}

/** The current hasher and the previous peppers' ones, newest first (key rotation). */
export interface Hashers {
  current: TokenHasher;
  previous: TokenHasher[];
}

export function createHashers(base: ResolvedBaseConfig): Hashers {
  return { current: createHasher(base.hashKey), previous: base.previousHashKeys.map((k) => createHasher(k)) };
}

/** tokenKey, plus the token's hashes under the previous peppers (empty when none is set). */
export async function tokenKeys(
  op: string,
  token: unknown,
  hashers: Hashers,
): Promise<[hash: string, key: string, previous: string[]]> {
  const [h, key] = await tokenKey(op, token, hashers.current);
  return [h, key, await Promise.all(hashers.previous.map((p) => p(token as string)))];
}
