import type { ChangeBatch, ChangeEvent, FeedCursor, RecentChange, ResolvedFeedConfig } from "../core/feed.js";
import { validCursor } from "../core/feed.js";

interface FeedEntry {
  readonly seq: number;
  readonly at: number;
  readonly event: ChangeEvent;
}

/**
 * The memory backend's feed of revocations: an array of consecutive sequence numbers, trimmed
 * from the front past `maxLength` entries or `retentionMs`. A reader behind by more than a page
 * reads it a page at a time; one behind what is kept resets.
 */
export class MemoryFeed {
  private readonly epoch = crypto.randomUUID();
  private seq = 0;
  private entries: FeedEntry[] = [];
  private head = 0;

  constructor(private readonly config: ResolvedFeedConfig) {}

  append(event: ChangeEvent, now: number): void {
    this.entries.push({ seq: ++this.seq, at: now, event });
    const { retentionMs, maxLength } = this.config;
    while (this.size > maxLength || (this.size > 0 && this.entries[this.head]!.at < now - retentionMs)) this.head++;
    // compact once the trimmed front outgrows what is kept
    if (this.head > 1024 && this.head > this.size) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** The changes after `since`, at most `page` of them (the configured page size by default). */
  read(since: FeedCursor | undefined, page = this.config.pageSize): ChangeBatch {
    const head = { epoch: this.epoch, seq: this.seq };
    const from = validCursor(since);
    if (from === undefined || from.epoch !== this.epoch || from.seq > this.seq)
      return { cursor: head, reset: true, more: false, events: [] };
    const missing = this.seq - from.seq;
    if (missing === 0) return { cursor: head, reset: false, more: false, events: [] };
    if (missing > this.size) return { cursor: head, reset: true, more: false, events: [] };
    // entries hold consecutive numbers, so the first one wanted sits at a known index
    const start = this.entries.length - missing;
    const got = this.entries.slice(start, start + page);
    const more = missing > page;
    const cursor = more ? { epoch: this.epoch, seq: got.at(-1)!.seq } : head;
    return { cursor, reset: false, more, events: got.map((e) => e.event) };
  }

  /** The newest changes still kept, newest first. */
  recent(limit: number): RecentChange[] {
    const out: RecentChange[] = [];
    for (let i = this.entries.length - 1; i >= this.head && out.length < limit; i--) {
      const { seq, at, event } = this.entries[i]!;
      out.push({ seq, at, event });
    }
    return out;
  }

  private get size(): number {
    return this.entries.length - this.head;
  }
}
