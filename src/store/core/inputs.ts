// What a caller may pass: strings (tokens, names, metadata fields), lookup names and page sizes.
import { ErrInvalidMetadata, NO_KEY, StorageError } from "./errors.js";
import { identifierProblem } from "./identifier.js";
import { LIMITS } from "./types.js";

/** A page size a caller asks for (the feed's newest changes, the audit log): a whole number from 1 to `max`. */
export function checkPageLimit(op: string, limit: unknown, max: number): asserts limit is number {
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > max)
    throw new StorageError(op, NO_KEY, ErrInvalidMetadata, `limit must be a whole number from 1 to ${max}`);
}

/**
 * Why `value` is not an acceptable string for `name`, or undefined when it is: a string of
 * well-formed Unicode (no lone surrogate: TextEncoder and Redis would turn one into U+FFFD, so
 * two different values would share one hash or key), not empty unless allowed, within `limit`.
 */
export function stringProblem(name: string, value: unknown, limit: number, allowEmpty = false): string | undefined {
  if (typeof value !== "string" || (!allowEmpty && value.length === 0))
    return `${name} must be a ${allowEmpty ? "" : "non-empty "}string`;
  if (value.length > limit) return `${name} is longer than ${limit} characters`;
  if (!value.isWellFormed()) return `${name} is not well-formed Unicode (it holds a lone surrogate)`;
  return undefined;
}

/** A raw token must be a well-formed, non-empty string within LIMITS.token; it is never echoed back. */
export function checkToken(op: string, token: unknown): asserts token is string {
  const problem = stringProblem("token", token, LIMITS.token);
  if (problem !== undefined) throw new StorageError(op, NO_KEY, ErrInvalidMetadata, problem);
}

/**
 * A string that identifies a token (id, subject, keyId, clientId, type, issuer, family): stringProblem's
 * rules, then no character that is invisible or hides or reorders text (identifier.ts).
 */
export function identifyingProblem(
  name: string,
  value: unknown,
  limit: number,
  allowEmpty = false,
): string | undefined {
  return stringProblem(name, value, limit, allowEmpty) ?? identifierProblem(name, value as string);
}

/**
 * A family: an identifier that is also not "." or "..", which a URL resolves away, so no path
 * of the admin API (POST /admin/families/:family/revoke) could name it.
 */
export function familyProblem(value: unknown): string | undefined {
  return (
    identifyingProblem("family", value, LIMITS.field) ??
    (value === "." || value === ".." ? 'family must not be "." or ".."' : undefined)
  );
}

/**
 * Checks an id or subject passed as a lookup key; `key` in the error is the value itself once
 * valid. Lookups keep stringProblem's rules only: a value stored before the identifier rule must
 * stay reachable, so it can be listed, revoked and deleted.
 */
export function checkName(op: string, name: "id" | "subject" | "keyId", value: unknown): asserts value is string {
  const problem = stringProblem(name, value, name === "keyId" ? LIMITS.field : LIMITS[name]);
  if (problem !== undefined) throw new StorageError(op, NO_KEY, ErrInvalidMetadata, problem);
}
