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

/**
 * RFC 6750 §2.1: `Bearer 1*SP b64token`, the scheme in any case. Only SP separates; the
 * optional white space that HTTP itself allows around a field value (SP, HTAB) is the only
 * thing stripped. JS `trim()` and `\s` would also take VT, FF and Unicode spaces, which
 * HTTP does not strip, so they are not used here.
 */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
/** RFC 6750 b64token: the only tokens a Bearer header can carry. */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** The scheme is Bearer when the word ends there: at the end or at a character no token holds. */
const BEARER_SCHEME = /^Bearer(?![!#$%&'*+\-.^_`|~0-9A-Za-z])/i;

/** Removes the optional white space (SP and HTAB only) that RFC 9110 §5.5 allows around a value. */
export function stripOws(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, "");
}

/**
 * The bearer token of an Authorization header: `undefined` when there is none (or another
 * scheme), `null` when the scheme is Bearer but the credentials are not `1*SP b64token`.
 */
export function bearerToken(header: string | undefined): string | null | undefined {
  if (header === undefined) return undefined;
  const value = stripOws(header);
  if (!BEARER_SCHEME.test(value)) return undefined;
  return BEARER.exec(value)?.[1] ?? null;
}
