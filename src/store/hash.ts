/** Turns a raw token into the hex hash that every backend keys it by. */
export type TokenHasher = (token: string) => Promise<string>;

const encoder = new TextEncoder();

/** Characters of the hash shown as `StorageError.key`: enough to tell tokens apart in logs. */
export const FINGERPRINT_LENGTH = 12;

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
    key ??= crypto.subtle.importKey(
      "raw",
      encoder.encode(hashKey),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    return toHex(await crypto.subtle.sign("HMAC", await key, encoder.encode(token)));
  };
}

export function fingerprint(hash: string): string {
  return hash.slice(0, FINGERPRINT_LENGTH);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function toHex(buf: ArrayBuffer): string {
  const bytes = new Uint8Array(buf);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!];
  return out;
}
