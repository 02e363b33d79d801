/**
 * The identity headers the guard sends to the origin, `X-Token-Subject`, `X-Token-Id` and
 * `X-Token-Status`: set from the store, never from the client, and encoded so that an origin
 * always reads back exactly the stored value.
 */
import type { StoredTokenMetadata } from "../store/core/index.js";

export const TOKEN_SUBJECT_HEADER = "X-Token-Subject";
export const TOKEN_ID_HEADER = "X-Token-Id";
/** Set to "unverified" on requests let through by `failMode: "open"` during a store outage. */
export const TOKEN_STATUS_HEADER = "X-Token-Status";

const IDENTITY_HEADERS = new Set(
  [TOKEN_SUBJECT_HEADER, TOKEN_ID_HEADER, TOKEN_STATUS_HEADER].map((n) => n.toLowerCase()),
);

/**
 * Whether a client-sent header could reach the origin as one of ours: CGI, WSGI, PHP and
 * nginx read `_` as `-`, so `X_Token_Subject` counts as `X-Token-Subject` there.
 */
function isIdentityHeader(name: string): boolean {
  return IDENTITY_HEADERS.has(name.toLowerCase().replaceAll("_", "-"));
}

/** The same request (body still streaming) with the X-Token-* headers (and look-alikes) replaced by the store's. */
export function withTokenHeaders(req: Request, md: StoredTokenMetadata | undefined): Request {
  const headers = new Headers();
  for (const [name, value] of req.headers) if (!isIdentityHeader(name)) headers.append(name, value);
  if (md === undefined) headers.set(TOKEN_STATUS_HEADER, "unverified");
  else {
    headers.set(TOKEN_SUBJECT_HEADER, identityHeaderValue(md.subject));
    // a JWT without jti has no id: the header is left out rather than sent empty
    if (md.id !== "") headers.set(TOKEN_ID_HEADER, identityHeaderValue(md.id));
  }
  return new Request(req, { headers });
}

/** Printable ASCII with no `%` and no space at either end: sent as it is. */
const VERBATIM = /^[\x21-\x24\x26-\x7e](?:[\x20-\x24\x26-\x7e]*[\x21-\x24\x26-\x7e])?$/;

/**
 * The one rule for origins: percent-decode `X-Token-Subject` and `X-Token-Id` (UTF-8,
 * `decodeURIComponent`; `+` is not a space). A value of printable ASCII without `%` and
 * without a space at either end is sent as is, which decodes to itself; any other value is
 * percent-encoded whole, `%` included. Decoding therefore always gives the stored value back,
 * so distinct values always arrive distinct. The store only holds well-formed strings, so
 * encoding cannot throw.
 */
export function identityHeaderValue(v: string): string {
  return VERBATIM.test(v) ? v : encodeURIComponent(v);
}
