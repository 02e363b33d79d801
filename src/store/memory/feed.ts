import type { ChangeBatch, ChangeEvent, FeedCursor, ResolvedFeedConfig } from "../core/feed.js";
import { validCursor } from "../core/feed.js";

interface FeedEntry {
  readonly seq: number;
  readonly at: number;
  readonly event: ChangeEvent;
}

/** The memory backend's feed: an array of consecutive sequence numbers, trimmed from the front. */
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

  read(since: FeedCursor | undefined): ChangeBatch {
    const cursor = { epoch: this.epoch, seq: this.seq };
    const from = validCursor(since);
    if (from === undefined || from.epoch !== this.epoch || from.seq > this.seq)
      return { cursor, reset: true, events: [] };
    const missing = this.seq - from.seq;
    if (missing === 0) return { cursor, reset: false, events: [] };
    // entries hold consecutive numbers, so the first one wanted sits at a known index
    if (missing > this.size || missing > this.config.pageSize) return { cursor, reset: true, events: [] };
    const start = this.entries.length - missing;
    return { cursor, reset: false, events: this.entries.slice(start).map((e) => e.event) };
  }

  private get size(): number {
    return this.entries.length - this.head;
  }
}
