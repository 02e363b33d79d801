import type { AuditAction, AuditLog, AuditTarget } from "../store/core/index.js";
import { LIMITS, type JwtClaims, type RevokeOptions, type TokenStore } from "../store/core/index.js";
import { ErrStoreUnavailable, StorageError } from "../store/core/index.js";
import { fingerprint } from "../store/core/index.js";

export interface AuditDeps {
  /** Where records are kept: the backend's audit log. */
  log: AuditLog;
  /** The hash the store keys a token by: a token is named in a record by its fingerprint. */
  hashToken(token: string): Promise<string>;
  /** @default Date.now */
  now?: () => number;
}

/** A write's target as the route knows it; a raw `token` is replaced by its fingerprint. */
export type AuditSubjectOf = AuditTarget & { token?: string };

/**
 * Runs one write and records it: who (`actor`), what, on what, and how it ended ("ok"
 * or the StorageError's code). Each record is one log line (`{"event":"audit",…}`, for Workers
 * Logs and Logpush) and one append to the store's capped audit log. The line is written first,
 * so a write whose append fails (the store went away in between) is still recorded; an outage
 * that failed the write itself is not appended to the same unreachable store.
 */
export function auditor(deps: AuditDeps | undefined, line: (json: string) => void) {
  /** `keep(result)` false: the log line only, no append (a result that changed nothing, from a caller who may repeat it freely). */
  return async function audited<T>(
    actor: string,
    action: AuditAction,
    about: AuditSubjectOf,
    write: () => Promise<T>,
    keep: (result: string) => boolean = () => true,
  ): Promise<T> {
    let result = "ok";
    try {
      return await write();
    } catch (e) {
      result = e instanceof StorageError ? e.err.code : "internal_error";
      throw e;
    } finally {
      const { token, ...named } = about;
      const target: AuditTarget = {};
      // what the store refused may be any length and hold lone surrogates: a record stays small and well-formed
      for (const [k, v] of Object.entries(named) as [keyof AuditTarget, string | undefined][])
        if (v !== undefined) target[k] = clip(v);
      if (token !== undefined) {
        const hash = await deps?.hashToken(token).catch(() => undefined);
        if (hash !== undefined) target.fingerprint = fingerprint(hash);
      }
      const entry = { at: (deps?.now ?? Date.now)(), actor, action, target, result };
      line(JSON.stringify({ event: "audit", ...entry, at: new Date(entry.at).toISOString() }));
      if (deps !== undefined && result !== ErrStoreUnavailable.code && keep(result)) {
        await deps.log.append(entry).catch((e: unknown) => {
          line(
            JSON.stringify({ event: "audit_append_failed", action, error: e instanceof Error ? e.message : String(e) }),
          );
        });
      }
    }
  };
}

export type Audited = ReturnType<typeof auditor>;

/** A target value as recorded: well-formed, and at most LIMITS.field characters (then "…"). */
function clip(value: string): string {
  return (value.length > LIMITS.field ? `${value.slice(0, LIMITS.field)}…` : value).toWellFormed();
}

/**
 * "Deny-list a verified JWT or revoke an opaque token", recorded: written once for the admin
 * API and OAuth. A JWT the edge verified (`claims`) is deny-listed until its exp, stored or
 * not; an opaque token must be stored, `clientId` (OAuth) must match its client, and `family`
 * also revokes its family (RevokeOptions.family).
 */
export function revokeCredential(
  audited: Audited,
  actor: string,
  store: TokenStore,
  token: string,
  claims: JwtClaims | undefined,
  { clientId, family, keep }: RevokeOptions & { keep?: (result: string) => boolean } = {},
): Promise<void> {
  return claims === undefined
    ? audited(actor, "revoke", { token }, () => store.revoke(token, { clientId, family }), keep)
    : audited(actor, "denyJwt", { token, subject: claims.subject }, () => store.denyJwt(token, claims), keep);
}
