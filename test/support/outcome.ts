import { StorageError } from "../../src/store/index.js";

/**
 * What a store call answered, as one string: `ok` when it resolved, else its StorageError's
 * code (`token_revoked`, …). Anything else it throws is rethrown: a test never mistakes a bug
 * for a refusal.
 */
export async function outcome(p: Promise<unknown>, ok = "ok"): Promise<string> {
  try {
    await p;
    return ok;
  } catch (e) {
    if (!(e instanceof StorageError)) throw e;
    return e.err.code;
  }
}

/** A check's outcome as the cache tests name it: "live" when it resolved. */
export const sentinel = (p: Promise<unknown>): Promise<string> => outcome(p, "live");
