/**
 * What the verdict cache's bound allows, for the property tests that drive caches at random:
 * each token's live and dead transitions by acknowledgement time, from the authoritative
 * answers, and whether a token may be served live at a time.
 */
export class LiveHistory {
  private readonly transitions = new Map<string, [at: number, live: boolean][]>();
  private readonly subjects = new Map<string, string>();
  private readonly families = new Map<string, string>();

  /** A store of `token` for `subject` (in `family`, if given) was acknowledged at `at`. */
  stored(token: string, subject: string, at: number, family?: string): void {
    this.subjects.set(token, subject);
    if (family === undefined) this.families.delete(token);
    else this.families.set(token, family);
    this.of(token).push([at, true]);
  }

  /** A revoke (or, `deleted`, a delete) of `token` was acknowledged at `at`. */
  ended(token: string, at: number, deleted: boolean): void {
    this.of(token).push([at, false]);
    if (deleted) {
      this.subjects.delete(token);
      this.families.delete(token);
    }
  }

  /** A subject's cutoff was acknowledged at `at`: every token stored for it ends. */
  subjectRevoked(subject: string, at: number): void {
    for (const [token, s] of this.subjects) if (s === subject) this.of(token).push([at, false]);
  }

  /** A family's revocation was acknowledged at `at`: every token stored in it ends. */
  familyRevoked(family: string, at: number): void {
    for (const [token, f] of this.families) if (f === family) this.of(token).push([at, false]);
  }

  /** The subject `token` was last stored for, unless it was deleted since. */
  subjectOf(token: string): string | undefined {
    return this.subjects.get(token);
  }

  /** The family `token` was last stored in, unless it was deleted since. */
  familyOf(token: string): string | undefined {
    return this.families.get(token);
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
