// The per-isolate backend: the store, its records, revocations, expiry heap and feed.
export { MemoryTokenStore } from "./store.js";
export { MinHeap } from "./heap.js";
