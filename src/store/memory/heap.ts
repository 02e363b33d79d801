/** A binary min-heap ordered by a numeric key: O(log n) push and pop, O(1) peek. */
export class MinHeap<T> {
  private items: T[] = [];

  constructor(private readonly keyOf: (item: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  /** The items in heap order (not sorted). */
  values(): readonly T[] {
    return this.items;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    const k = this.keyOf(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keyOf(items[parent]!) <= k) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.siftDownFrom(0);
    }
    return top;
  }

  /** Replaces the contents with `items` in O(n). */
  rebuild(items: T[]): void {
    this.items = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.siftDownFrom(i);
  }

  clear(): void {
    this.items = [];
  }

  private siftDownFrom(start: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[start]!;
    const k = this.keyOf(item);
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.keyOf(items[child + 1]!) < this.keyOf(items[child]!)) child++;
      if (this.keyOf(items[child]!) >= k) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = item;
  }
}
