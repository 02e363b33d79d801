/**
 * Both backends (memory, and Redis through the project's endpoint), on what only moves forward:
 * a subject's marker and cutoff, whatever the clocks of the writers, and the change feed, which
 * cleanup's age trim shortens only by changes older than the retention. The suites in
 * test/store/contract/ hold the rest of these contracts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrTokenRevoked, MemoryTokenStore, RedisTokenStore } from "../../src/index.js";
import type { FeedStore } from "../../src/store/index.js";
import type { UpstashEndpoint } from "../support/upstash-endpoint.js";
import { ENDPOINT_TOKEN, startEndpoint, TEST_TIMEOUT_MS, uniquePrefix } from "../support/redis.js";
import { outcome } from "../support/outcome.js";

const HOUR = 3_600_000;
let endpoint: UpstashEndpoint;
beforeAll(async () => {
  endpoint = await startEndpoint();
});
afterAll(() => endpoint.close());

type Options = { now: () => number; feedRetentionMs?: number };
const BACKENDS: [string, (o: Options) => FeedStore][] = [
  ["memory", (o) => new MemoryTokenStore(o)],
  [
    "redis",
    (o) =>
      new RedisTokenStore({
        url: endpoint.url,
        token: ENDPOINT_TOKEN,
        keyPrefix: uniquePrefix("clocks"),
        timeoutMs: TEST_TIMEOUT_MS,
        ...o,
      }),
  ],
];

/** The sentinel's code a call fails with, or "ok". */
for (const [name, make] of BACKENDS) {
  describe(`writers whose clocks disagree (${name})`, () => {
    const T = Date.UTC(2026, 10, 27, 12);
    const tok = (label: string) => `raw-${label}-${crypto.randomUUID()}`;

    it("keeps a subject's marker at the latest token stored: one stored later from a clock behind does not lower it, so a cutoff still reaches the one from a clock ahead", async () => {
      let t = T;
      const store = make({ now: () => t });
      const [ahead, behind] = [tok("ahead"), tok("behind")];
      t = T + 5_000; // this isolate's clock runs 5 s ahead
      await store.store(ahead, { id: `i-${ahead}`, subject: "marker-s" });
      t = T - 5_000; // and this one's 5 s behind: it stores a token afterwards
      await store.store(behind, { id: `i-${behind}`, subject: "marker-s" });
      t = T; // the revoking isolate's clock is right
      expect(await store.revokeSubject("marker-s")).toEqual({ revoked: 2 });
      expect(await outcome(store.get(ahead))).toBe(ErrTokenRevoked.code);
      expect(await outcome(store.get(behind))).toBe(ErrTokenRevoked.code);
      expect(await store.list("marker-s")).toEqual([]);
      expect(await store.inspect(ahead)).toMatchObject({ state: "revoked", revokedBy: "subject" });
      // a token stored after the cutoff, on a clock past it, is live
      t = T + 6_000;
      const later = tok("later");
      await store.store(later, { id: `i-${later}`, subject: "marker-s" });
      expect(await outcome(store.get(later))).toBe("ok");
      await store.close();
    });

    it("keeps a subject's cutoff at its latest: a revokeSubject from a clock behind does not readmit a JWT issued between the two cutoffs", async () => {
      let t = T;
      const store = make({ now: () => t });
      const claims = (issuedAt: number) => ({
        subject: "cutoff-s",
        issuedAt: new Date(issuedAt),
        expiresAt: new Date(issuedAt + HOUR),
        id: `jti-${crypto.randomUUID()}`,
      });
      t = T + 10_000; // an isolate whose clock runs ahead revokes the subject first
      await store.revokeSubject("cutoff-s");
      t = T; // then one whose clock runs behind
      await store.revokeSubject("cutoff-s");
      t = T + 20_000;
      // issued after the second cutoff but before the first: the first still holds
      expect(await outcome(store.checkJwt(tok("between.jwt"), claims(T + 5_000)))).toBe(ErrTokenRevoked.code);
      expect(await outcome(store.checkJwt(tok("at.jwt"), claims(T + 10_000)))).toBe(ErrTokenRevoked.code);
      // a stored token issued then is refused as well
      const stored = tok("between-stored");
      expect(
        await outcome(store.store(stored, { id: `i-${stored}`, subject: "cutoff-s", issuedAt: new Date(T + 5_000) })),
      ).toBe(ErrTokenRevoked.code);
      // issued after both cutoffs: live
      expect(await outcome(store.checkJwt(tok("after.jwt"), claims(T + 10_001)))).toBe("ok");
      await store.close();
    });
  });

  describe(`cleanup's age trim of the change feed (${name})`, () => {
    it("forgets only changes older than the retention: a reader that needs only younger ones reads them after a cleanup, without a reset", async () => {
      const T = Date.UTC(2026, 10, 27, 12);
      let t = T;
      const store = make({ now: () => t, feedRetentionMs: 1_000 });
      await store.revokeKey("old-1");
      await store.revokeKey("old-2");
      const reader = (await store.changes()).cursor; // caught up with the two old changes
      t = T + 1_500;
      await store.revokeKey("young-1");
      await store.revokeKey("young-2");
      t = T + 2_000; // the old changes are past the retention, the young ones are not
      await store.cleanup();
      expect(await store.changes(reader)).toEqual({
        cursor: { epoch: reader.epoch, seq: reader.seq + 2 },
        reset: false,
        more: false,
        events: [
          { type: "key", keyId: "young-1" },
          { type: "key", keyId: "young-2" },
        ],
      });
      // and the trim did happen: a reader that needed an old change resets
      expect((await store.changes({ epoch: reader.epoch, seq: reader.seq - 1 })).reset).toBe(true);
      await store.close();
    });
  });
}
