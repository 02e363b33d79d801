/**
 * Runs before every file of the workers project, in the test isolate (which is also where
 * exports.default's handlers run).
 *
 * 1. An outage without a socket: a fetch to UNREACHABLE_URL rejects at once, the way workerd's
 *    fetch rejects when the connection is refused ("Network connection lost."). A real connect()
 *    to a closed port makes workerd (run verbose by the pool) print the refused connect and an
 *    "Uncaught (in promise)" for it, even though the store catches the rejection.
 * 2. No rejected waitUntil: every promise the Worker hands to ctx.waitUntil is watched, and the
 *    test that caused a rejected one fails. Bare unhandled rejections need nothing here: Vitest
 *    already reports them and fails the run. A rejected waitUntil promise, though, is only
 *    *logged* by workerd ("Uncaught (in promise)"), which the pool prints and Vitest ignores.
 */
import { afterEach, expect } from "vitest";
import devWorker from "../../src/worker-dev.js";
import deployedWorker from "../../src/worker.js";
import { UNREACHABLE_URL } from "./worker.js";

const PATCHED = Symbol.for("edge-token-store.test-setup");
const state = ((globalThis as Record<symbol, unknown>)[PATCHED] ??= install()) as ReturnType<typeof install>;

function install() {
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url === UNREACHABLE_URL || url.startsWith(`${UNREACHABLE_URL}/`))
      return Promise.reject(new Error("Network connection lost."));
    return realFetch(input, init);
  }) as typeof fetch;
  return { watched: [] as Promise<void>[], rejected: [] as unknown[] };
}

/** Patches one handler context: its waitUntil promises are watched as well as kept alive. */
function watch(ctx: ExecutionContext): ExecutionContext {
  if ((ctx as unknown as Record<symbol, unknown>)[PATCHED]) return ctx;
  const waitUntil = ctx.waitUntil.bind(ctx);
  ctx.waitUntil = (promise: Promise<unknown>) => {
    state.watched.push(
      Promise.resolve(promise).then(
        () => undefined,
        (e: unknown) => void state.rejected.push(e),
      ),
    );
    waitUntil(promise);
  };
  (ctx as unknown as Record<symbol, unknown>)[PATCHED] = true;
  return ctx;
}

// the module instances exports.default serves (the development entry) and the tests import are the ones
// imported here: wrap their handlers once
for (const worker of [devWorker, deployedWorker]) {
  const handlers = worker as unknown as Record<string, unknown> & Record<symbol, unknown>;
  if (handlers[PATCHED]) continue;
  handlers[PATCHED] = true;
  for (const name of ["fetch", "scheduled"] as const) {
    const handler = handlers[name] as (this: unknown, arg: unknown, env: unknown, ctx: ExecutionContext) => unknown;
    handlers[name] = function (this: unknown, arg: unknown, env: unknown, ctx: ExecutionContext) {
      return handler.call(this, arg, env, watch(ctx));
    };
  }
}

afterEach(async () => {
  await Promise.all(state.watched.splice(0));
  expect(state.rejected.splice(0), "promises the Worker handed to ctx.waitUntil that rejected").toEqual([]);
});
