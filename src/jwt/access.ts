import { compactVerify } from "jose";
import { identifyingProblem, LIMITS, type GetHints } from "../store/core/index.js";
import { claimsProblem, claimsSet, type ClaimRules } from "./claims.js";
import { KeySet, KeySetUnavailable, type KeySetOptions } from "./key-set.js";
import { JwtRejected } from "./verifier.js";

/** The header Cloudflare Access adds to every request it lets through to the Worker. */
export const ACCESS_HEADER = "Cf-Access-Jwt-Assertion";

export interface AccessOptions extends Pick<KeySetOptions, "now" | "fetch" | "timeoutMs"> {
  /** The team's origin, `https://<team>.cloudflareaccess.com`: the assertion's `iss`. */
  teamDomain: string;
  /** The Access application's audience (AUD) tag: the assertion's `aud` must hold it. */
  audience: string;
  /** Where the signing keys are. @default `${teamDomain}/cdn-cgi/access/certs` */
  certsUrl?: string;
  /** Seconds of leeway for `exp`, `nbf` and `iat`. @default 30 */
  clockToleranceSeconds?: number;
}

/**
 * Verifies Cloudflare Access assertions (RS256, against the team's certs, cached per isolate by
 * the same KeySet as bearer JWTs) and names who made the request: the `email` of a person, or a
 * service token's `common_name` (its client id), or else `sub`.
 */
export class AccessVerifier {
  readonly keys: KeySet;

  constructor(private readonly options: AccessOptions) {
    this.keys = new KeySet({ ...options, url: options.certsUrl ?? `${options.teamDomain}/cdn-cgi/access/certs` });
  }

  /** The actor; rejects with JwtRejected (401) or KeySetUnavailable (503: never admit without keys). */
  async actor(assertion: string, hints?: GetHints): Promise<string> {
    let payload: Record<string, unknown> | undefined;
    try {
      payload = claimsSet(
        await compactVerify(assertion, (h, t) => this.keys.key(h, t, hints), { algorithms: ["RS256"] }),
      );
    } catch (e) {
      if (e instanceof KeySetUnavailable) throw e;
      // payload stays undefined: refused below, as claims that fail are
    }
    const { teamDomain, audience, clockToleranceSeconds, now } = this.options;
    const rules: ClaimRules = {
      required: ["exp"],
      issuer: teamDomain,
      audience,
      tolerance: clockToleranceSeconds ?? 30,
      // with a maximum age, iat is required and may not be in the future (beyond the leeway);
      // Access sessions last at most a month
      maxAge: 31 * 86_400,
    };
    if (payload === undefined || claimsProblem(payload, (now ?? Date.now)(), rules) !== undefined)
      throw new JwtRejected("the Access assertion does not verify");
    const { email, common_name: name, sub } = payload;
    const actor = email ?? (name || sub);
    // the same rules as every claim, and the identifier rule (identifier.ts): no character that
    // is invisible or hides or reorders text, which would make one name look like another where
    // it is logged and shown
    if (identifyingProblem("actor", actor, LIMITS.field) !== undefined)
      throw new JwtRejected("the Access assertion names no acceptable identity");
    return actor as string;
  }
}
