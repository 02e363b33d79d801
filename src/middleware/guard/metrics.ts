/**
 * What the guard decided about one request. An unknown, malformed or forged token is
 * `invalid`; `limited`: its client was past the failure limit (429).
 */
export type GuardOutcome = "live" | "missing" | "invalid" | "expired" | "revoked" | "outage" | "limited";

/** The part of Workers Analytics Engine's dataset binding the guard uses. */
export interface GuardMetrics {
  writeDataPoint(point: { indexes?: string[]; blobs?: string[]; doubles?: number[] }): void;
}

/** Facts gathered while deciding: the token's kind, whether a cache answered, the store's time. */
export interface DecisionFacts {
  kind: "opaque" | "jwt" | "none";
  cache: "hit" | "miss" | "none";
  storeMs: number;
}

/**
 * One data point per decision, and never a token or a hash:
 * index1 = blob1 = outcome, blob2 = token kind, blob3 = cache hit/miss/none, double1 = store ms.
 * The outcome is the index, so Analytics Engine samples each outcome on its own.
 */
export function decisionPoint(
  outcome: GuardOutcome,
  facts: DecisionFacts,
): { indexes: string[]; blobs: string[]; doubles: number[] } {
  return { indexes: [outcome], blobs: [outcome, facts.kind, facts.cache], doubles: [facts.storeMs] };
}
