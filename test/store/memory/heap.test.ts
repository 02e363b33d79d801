import { expect, it } from "vitest";
import { MinHeap } from "../../../src/store/memory/index.js";

it("pops in key order through random pushes, pops and rebuilds", () => {
  let r = 42;
  const rand = (n: number) => ((r = (Math.imul(r, 48271) >>> 0) % 2147483647), r % n);
  const heap = new MinHeap<{ k: number }>((x) => x.k);
  const model: number[] = [];
  for (let step = 0; step < 5000; step++) {
    const op = rand(10);
    if (op < 6) {
      const k = rand(1000);
      heap.push({ k });
      model.push(k);
    } else if (op < 9) {
      model.sort((a, b) => a - b);
      expect(heap.peek()?.k).toBe(model[0]);
      expect(heap.pop()?.k).toBe(model.shift());
    } else if (step % 7 === 0) {
      heap.rebuild([...heap.values()].reverse());
    }
    expect(heap.size).toBe(model.length);
  }
  const rest: number[] = [];
  for (let x = heap.pop(); x !== undefined; x = heap.pop()) rest.push(x.k);
  expect(rest).toEqual(model.sort((a, b) => a - b));
});
