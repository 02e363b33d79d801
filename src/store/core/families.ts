// The inputs of the family operations (rotate's metadata, revoke's family option, revokeFamily's
// family) and the reuseGraceMs setting, checked before a store is read; both backends use them.
import { ErrInvalidConfig, ErrInvalidMetadata, NO_KEY, StorageError } from "./errors.js";
import { wholeNumber } from "./config.js";
import { familyProblem } from "./inputs.js";
import { type RevokeOptions, type TokenMetadata } from "./types.js";

/** What a rotated token takes from the one it replaces; a value given for one must be the old token's. */
export const INHERITED = ["subject", "family", "clientId"] as const;

/** Stands in for the subject while the metadata is checked, before the old token (which decides it) is read. */
const SUBJECT_PLACEHOLDER = "-";

/**
 * Rotate's metadata, split: what the caller gave for the inherited fields (undefined when not
 * given), and the metadata to check as `store` would (the subject may be left out).
 */
export function rotationMetadata(metadata: TokenMetadata): {
  metadata: unknown;
  inherited: Record<(typeof INHERITED)[number], unknown>;
} {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))
    return { metadata, inherited: { subject: undefined, family: undefined, clientId: undefined } };
  const md = metadata as unknown as Record<string, unknown>;
  return {
    metadata: { ...md, subject: md.subject === undefined ? SUBJECT_PLACEHOLDER : md.subject },
    // null is "not given" for the optional fields, as in store
    inherited: { subject: md.subject, family: md.family ?? undefined, clientId: md.clientId ?? undefined },
  };
}

/**
 * revokeFamily's family: the identifier rule in full, not a lookup's looser one (checkName), since
 * no family was ever stored under a looser rule: a value it refuses can name no token.
 */
export function checkFamily(op: string, family: unknown): asserts family is string {
  const problem = familyProblem(family);
  if (problem !== undefined) throw new StorageError(op, NO_KEY, ErrInvalidMetadata, problem);
}

/** revoke's `family` option: absent (or null) or false, true, or "refresh"; anything else is ErrInvalidMetadata. */
export function familyOption(op: string, key: string, options: RevokeOptions | undefined): boolean | "refresh" {
  const family: unknown = options?.family;
  if (family === undefined || family === null || family === false) return false;
  if (family === true || family === "refresh") return family;
  throw new StorageError(op, key, ErrInvalidMetadata, 'family must be true, false or "refresh"');
}

/** `reuseGraceMs`: a whole number of ms from 0 to maxTokenLifetime, else ErrInvalidConfig. */
export function reuseGrace(value: unknown, maxTokenLifetime: number): number {
  const grace = wholeNumber("reuseGraceMs", value, 0, 0);
  if (grace > maxTokenLifetime)
    throw new StorageError(
      "create",
      "reuseGraceMs",
      ErrInvalidConfig,
      "reuseGraceMs must not be longer than maxTokenLifetime",
    );
  return grace;
}
