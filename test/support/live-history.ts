/**
 * What the verdict cache's bound allows, for the property tests that drive caches at random:
 * each token's live and dead transitions by acknowledgement time, from the authoritative
 * answers, and whether a token may be served live at a time.
 */
export class LiveHistory {
  private readonly transitions = new Map<string, [at: number, live: boolean][]>();
  private readonly subjectOf = new Map<string, string>();

  /** A store of `token` for `subject` was acknowledged at `at`. */
  stored(token: string, subject: string, at: number): void {
    this.subjectOf.set(token, subject);
    this.of(token).push([at, true]);
  }

  /** A revoke (or, `deleted`, a delete) of `token` was acknowledged at `at`. */
  ended(token: string, at: number, deleted: boolean): void {
    this.of(token).push([at, false]);
    if (deleted) this.subjectOf.delete(token);
  }

  /** A subject's cutoff was acknowledged at `at`: every token stored for it ends. */
  subjectRevoked(subject: string, at: number): void {
    for (const [token, s] of this.subjectOf) if (s === subject) this.of(token).push([at, false]);
  }

  /** Whether `token` was live at some time in [from, to]: only then may a cache serve it live at `to` with bound `to − from`. */
  liveWithin(token: string, from: number, to: number): boolean {
    let live = false;
    for (const [at, alive] of this.of(token)) {
      if (at <= from) live = alive;
      else if (at <= to && alive) return true;
    }
    return live;
  }

  private of(token: string): [number, boolean][] {
    let list = this.transitions.get(token);
    if (list === undefined) this.transitions.set(token, (list = []));
    return list;
  }
}
