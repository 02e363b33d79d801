import { expect } from "vitest";
import { StorageError, type StoreSentinel } from "../../../src/index.js";

/**
 * Awaits a rejection and checks it is a StorageError with this sentinel and op, the message in
 * its one format, a detail, and none of `raws` (raw tokens) anywhere in what it carries.
 */
export async function expectRejection(
  p: Promise<unknown>,
  err: StoreSentinel,
  op: string,
  raws: readonly string[] = [],
): Promise<StorageError> {
  const e = await p.then(
    () => expect.unreachable(`expected ${op} to reject with ${err.code}`),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(StorageError);
  const se = e as StorageError;
  expect(se.err, se.message).toBe(err);
  expect(se.cause).toBe(err);
  expect(se.op).toBe(op);
  expect(se.message).toBe(`store.${op}: ${se.key}: ${err.message} - ${se.detail}`);
  expect(se.detail.length).toBeGreaterThan(0);
  const text = JSON.stringify([se.message, se.key, se.detail, String(se.stack)]);
  for (const raw of raws) expect(text).not.toContain(raw);
  return se;
}
