/**
 * The Worker for `npm run dev` and the Workers tests: the deployed Worker, plus the per-isolate
 * memory store when no Upstash setting is given. Never deployed (wrangler.toml `main` is
 * src/worker.ts), so the memory store adds nothing to the shipped bundle.
 */
import { MemoryTokenStore } from "./store/memory/index.js";
import { workerFor } from "./worker.js";

export default workerFor((config) => new MemoryTokenStore(config));
