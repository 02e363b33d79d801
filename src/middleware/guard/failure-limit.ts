import type { Context } from "hono";
import { errorJson } from "../../http/errors.js";

export interface FailureLimitOptions {
  /** A Workers Rate Limiting binding (`[[ratelimits]]` in wrangler.toml): one `limit()` per failure. */
  limiter: RateLimit;
  /** The request header that names the client. @default "CF-Connecting-IP" */
  clientHeader?: string;
  /** The binding's period, in seconds: how long a client over the limit is refused (Retry-After). @default 60 */
  periodSeconds?: number;
}

/** Clients this isolate remembers as over the limit; the oldest is forgotten past this. */
const MAX_BLOCKED = 10_000;
/** Longest client value kept as a key (an IPv6 address is at most 45); longer ones share one key. */
const MAX_CLIENT_CHARS = 256;

/**
 * Counts failed credentials (401s) per client with the Rate Limiting binding. A client past the
 * limit gets 429 with Retry-After, before any verification or store call, for the binding's
 * period; every other client is unaffected. The binding's counters are per Cloudflare location;
 * which clients are over the limit is remembered per isolate, from the binding's own answers.
 */
export class FailureLimit {
  private readonly limiter: RateLimit;
  private readonly clientHeader: string;
  private readonly periodMs: number;
  private readonly blocked = new Map<string, number>();

  constructor(options: FailureLimitOptions) {
    this.limiter = options.limiter;
    this.clientHeader = options.clientHeader ?? "CF-Connecting-IP";
    const period = options.periodSeconds ?? 60;
    if (!Number.isInteger(period) || period < 1) throw new TypeError("periodSeconds must be a whole number of seconds");
    this.periodMs = period * 1000;
  }

  /** The client a request comes from, or undefined (nothing is counted for an unnamed client). */
  clientOf(c: Context): string | undefined {
    const v = c.req.header(this.clientHeader);
    if (!v) return undefined;
    return v.length > MAX_CLIENT_CHARS ? "(oversized)" : v;
  }

  /** Whether `client` is refused now, before anything else is checked. */
  refuses(client: string | undefined, now: number): boolean {
    if (client === undefined) return false;
    const until = this.blocked.get(client);
    if (until === undefined) return false;
    if (now < until) return true;
    this.blocked.delete(client);
    return false;
  }

  /** Counts one failure of `client`; true when that puts it past the limit (then it is refused for a period). */
  async failed(client: string | undefined, now: number): Promise<boolean> {
    if (client === undefined) return false;
    let success: boolean;
    try {
      ({ success } = await this.limiter.limit({ key: client }));
    } catch {
      return false; // the limit is advisory: a binding failure leaves the 401 as it is, never a 5xx
    }
    if (success) return false;
    this.blocked.delete(client);
    this.blocked.set(client, now + this.periodMs);
    if (this.blocked.size > MAX_BLOCKED) this.blocked.delete(this.blocked.keys().next().value!);
    return true;
  }

  /** 429 with the error body every refusal here has. */
  tooMany(c: Context): Response {
    return errorJson(c, 429, "too_many_failures", "too many failed credentials from this client; try again later", {
      "Retry-After": String(this.periodMs / 1000),
    });
  }
}
