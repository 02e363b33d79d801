/**
 * Waits for `p` to settle or `ms` to pass, whichever comes first, and never rejects. Used
 * where a request waits for work another request started: workerd cancels a promise whose
 * creating request has ended, so no waiter may depend on it settling.
 */
export async function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  if (timer !== undefined) clearTimeout(timer);
}
