const encoder = new TextEncoder();

/**
 * Compares two secrets in time that depends on neither their contents nor their lengths:
 * both are hashed first, then every byte of the digests is compared.
 */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/** RFC 6750 b64token: the characters a bearer token may hold. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The bearer token of an Authorization header: `undefined` when there is none (or another
 * scheme), `null` when the Bearer credentials are malformed.
 */
export function bearerToken(header: string | undefined): string | null | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer(?:\s+(.*))?$/i.exec(header.trim());
  if (match === null) return undefined;
  const token = match[1]?.trim() ?? "";
  return B64TOKEN.test(token) ? token : null;
}
