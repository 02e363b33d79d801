import type { ChangeBatch, ChangeEvent, FeedCursor, FeedStore } from "../core/feed.js";
import type { GetHints } from "../core/types.js";
import type { Cached } from "./entry.js";
import type { LoggedChange, SharedFeedRead, SharedTier } from "./shared-tier.js";
import { names, type VerdictMap } from "./verdicts.js";

/** The most applied changes an isolate remembers to judge shared verdicts by (and shares with its feed reads). */
export const CHANGE_LOG_MAX = 256;

/** Counters the follower keeps for the cache's stats. */
export interface FollowerCounters {
  syncs: number;
  syncFailures: number;
  resets: number;
  catchUpPages: number;
  /** Feed reads another isolate shared that this one took instead of asking the store. */
  sharedFeedReads: number;
}

/** A read about to be sent: its send time and its place in this isolate's order of reads. */
export interface ReadTicket {
  sentAt: number;
  readNo: number;
}

/**
 * Follows the store's change feed for one isolate: the cursor, the one read in flight, applying
 * a batch to the verdicts, and reading a backlog a page at a time. It also keeps the log of the
 * changes it applied (the last CHANGE_LOG_MAX), from which a shared verdict is judged, and trades
 * feed reads with the data-center tier when there is one.
 */
export class FeedFollower {
  cursor: FeedCursor | undefined;
  /** When the newest feed read that reached the head was sent. */
  syncSentAt = Number.NEGATIVE_INFINITY;
  /** The one feed read in flight (a sync, or a miss lookup), shared by every request. */
  inflight: Promise<unknown> | undefined;
  /**
   * Past this age of the last sync, a hit starts a background sync: half the bound. With a tier,
   * isolates spread it over half to 0.8 of the bound: the first one due reads the store and
   * shares the read, and the others take that read instead of syncing themselves.
   */
  readonly syncAfterMs: number;
  readonly counters: FollowerCounters = { syncs: 0, syncFailures: 0, resets: 0, catchUpPages: 0, sharedFeedReads: 0 };
  /** Feed reads numbered in the order they are sent, and the number of the one that last moved the cursor. */
  private reads = 0;
  private cursorRead = 0;
  /** The catch-up in progress, if any. */
  private following: Promise<void> | undefined;
  /** Every change applied after `logFrom` (in the cursor's epoch), oldest first. */
  private log: LoggedChange[] = [];
  private logFrom: number | undefined;
  private lastShared = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly inner: FeedStore,
    private readonly verdicts: VerdictMap,
    private readonly bound: number,
    private readonly now: () => number,
    private readonly shared?: SharedTier,
    /** How far the clocks of a data center's machines may disagree: foreign times count as this much earlier. */
    private readonly clockSkewMs = 0,
  ) {
    this.syncAfterMs = bound * (shared === undefined ? 0.5 : 0.5 + 0.3 * Math.random());
  }

  ticket(): ReadTicket {
    return { sentAt: this.now(), readNo: ++this.reads };
  }

  /**
   * Applies a feed read sent at `sentAt`: drops what changed, or every live and revoked verdict
   * on a reset. Only a read that reached the feed's head (`more: false`) makes live verdicts fresh.
   */
  apply(batch: ChangeBatch, { sentAt, readNo }: ReadTicket): void {
    const current = this.cursor;
    if (batch.reset || current === undefined || current.epoch !== batch.cursor.epoch) {
      // an answer sent before the read that set the cursor cannot move it (back) to another
      // epoch or reset it: that newer read already saw what this one saw
      if (current !== undefined && readNo < this.cursorRead) return;
      if (batch.reset) this.counters.resets++;
      this.verdicts.dropFinalAndLive();
      this.restartLog(batch.cursor.seq);
      this.moveCursor(batch.cursor, readNo);
    } else {
      for (const event of batch.events) this.verdicts.drop(event);
      this.remember(batch.cursor.seq, batch.events);
      if (batch.cursor.seq > current.seq) this.moveCursor(batch.cursor, readNo);
    }
    if (!batch.more && sentAt > this.syncSentAt) this.syncSentAt = sentAt;
  }

  /** Reads the feed until caught up: first from the data-center tier, then from the store. */
  follow(hints: GetHints | undefined): Promise<void> {
    // one reader of the backlog at a time: a second would download the same pages again
    this.following ??= this.catchUp(hints).finally(() => (this.following = undefined));
    return this.following;
  }

  /** Makes a feed read the shared in-flight one (unless one is), keeps it alive, and counts its failure. */
  share(read: Promise<unknown>, hints: GetHints | undefined): void {
    const settled = read.then(
      () => undefined,
      () => void this.counters.syncFailures++,
    );
    hints?.waitUntil?.(settled);
    if (this.inflight !== undefined) return;
    this.inflight = settled;
    void settled.then(() => {
      if (this.inflight === settled) this.inflight = undefined;
    });
  }

  /**
   * Takes a feed read another isolate shared, when it proves something this isolate does not
   * know yet: it must be of this cursor's epoch and hold every change after this cursor (its
   * `from` at or before it), and have been sent after this isolate's newest read that reached
   * the head and no later than this isolate's now, its send time taken clockSkewMs early. An isolate with no cursor (so no live or revoked verdict) takes it as its start.
   * Returns whether it was taken.
   */
  adopt(read: SharedFeedRead): boolean {
    // another machine's clock: its send time counts as clockSkewMs earlier, and a read dated
    // after this clock's now even then proves nothing this isolate can count
    const sentAt = read.sentAt - this.clockSkewMs;
    if (sentAt > this.now() || sentAt <= this.syncSentAt) return false;
    const current = this.cursor;
    if (current === undefined) {
      this.log = [...read.changes];
      this.logFrom = read.from;
      // a reset answer to a read sent before this may not take the cursor back: it knows less
      this.moveCursor({ epoch: read.epoch, seq: read.to }, ++this.reads);
    } else {
      if (current.epoch !== read.epoch || read.from > current.seq) return false;
      const unseen = read.changes.filter((c) => c.upTo > current.seq);
      for (const c of unseen) this.verdicts.drop(c.event);
      this.log.push(...unseen);
      this.trimLog();
      if (read.to > current.seq) this.moveCursor({ epoch: read.epoch, seq: read.to }, ++this.reads);
    }
    this.syncSentAt = sentAt;
    this.counters.sharedFeedReads++;
    return true;
  }

  /**
   * Whether a shared verdict read at `position` (of `epoch`) is as current as what this isolate
   * has applied: this isolate's cursor is at or past it, the log covers everything after it, and
   * no change applied after it reaches the verdict.
   */
  vouchesFor(hash: string, v: Cached, epoch: string, position: number): boolean {
    const current = this.cursor;
    if (current === undefined || this.logFrom === undefined || epoch !== current.epoch) return false;
    if (position > current.seq || position < this.logFrom) return false;
    for (const c of this.log) if (c.upTo > position && names(c.event, hash, v)) return false;
    return true;
  }

  /** Shares what this isolate knows of the feed, at most once per quarter bound. */
  publish(hints: GetHints | undefined): void {
    const current = this.cursor;
    if (this.shared === undefined || current === undefined || this.logFrom === undefined) return;
    if (this.syncSentAt - this.lastShared < this.bound / 4) return;
    this.lastShared = this.syncSentAt;
    // the whole log: a change at or before `from` is one an adopter has applied already
    const read = {
      epoch: current.epoch,
      from: this.logFrom,
      to: current.seq,
      sentAt: this.syncSentAt,
      changes: this.log,
    };
    const put = this.shared.publishFeed(read, this.bound);
    hints?.waitUntil?.(put);
  }

  private async catchUp(hints: GetHints | undefined): Promise<void> {
    if (this.shared !== undefined && !this.fresh()) {
      const [read, started] = await Promise.all([this.shared.feed(), this.shared.syncStarted()]);
      if (read !== undefined) this.adopt(read);
      if (this.fresh()) return;
      // another isolate has just sent its feed read: wait for that once, while this isolate's
      // verdicts have time left, instead of sending the same read
      const now = this.now();
      const wait = this.bound / 8;
      if (
        started !== undefined &&
        started <= now &&
        now - started < wait &&
        now - this.syncSentAt + wait < this.bound
      ) {
        await new Promise((resolve) => setTimeout(resolve, wait - (now - started)));
        const later = await this.shared.feed();
        if (later !== undefined) this.adopt(later);
        if (this.fresh()) return;
      }
      const announced = this.shared.announceSync(this.now(), this.bound);
      hints?.waitUntil?.(announced);
    }
    this.counters.syncs++;
    for (;;) {
      const ticket = this.ticket();
      const before = this.cursor;
      const batch = await this.inner.changes(before);
      this.apply(batch, ticket);
      // a full page that did not move the cursor would be read again forever: stop, the next sync retries
      if (!batch.more || this.cursor === before) break;
      this.counters.catchUpPages++;
    }
    this.publish(hints);
  }

  /** Whether the last read that reached the head is younger than the sync age. */
  private fresh(): boolean {
    return this.now() - this.syncSentAt < this.syncAfterMs;
  }

  private moveCursor(cursor: FeedCursor, readNo: number): void {
    this.cursor = cursor;
    this.cursorRead = Math.max(this.cursorRead, readNo);
  }

  private restartLog(from: number): void {
    this.log = [];
    this.logFrom = from;
  }

  /** Logs the changes of a batch whose cursor is `to`. */
  private remember(to: number, events: ChangeEvent[]): void {
    for (const event of events) this.log.push({ upTo: to, event });
    this.trimLog();
  }

  /** Forgets the oldest changes past CHANGE_LOG_MAX: the log then covers only what follows them. */
  private trimLog(): void {
    if (this.log.length <= CHANGE_LOG_MAX) return;
    const cut = this.log.length - CHANGE_LOG_MAX;
    // an answer that came back late logs changes out of order: the log now starts after all cut ones
    for (let i = 0; i < cut; i++) this.logFrom = Math.max(this.logFrom ?? 0, this.log[i]!.upTo);
    this.log = this.log.slice(cut);
  }
}
