/** The local endpoint, driven by @upstash/redis with its default options, against real Redis. */
import { Redis } from "@upstash/redis/cloudflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UpstashEndpoint } from "./upstash-endpoint.js";
import { directRedis, ENDPOINT_TOKEN, startEndpoint, uniquePrefix } from "./redis.js";

let endpoint: UpstashEndpoint;
let client: Redis;
const direct = directRedis();
const p = uniquePrefix("endpoint");

beforeAll(async () => {
  endpoint = await startEndpoint();
  client = new Redis({ url: endpoint.url, token: ENDPOINT_TOKEN, enableTelemetry: false });
});
afterAll(async () => {
  await endpoint.close();
  direct.disconnect();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${endpoint.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${ENDPOINT_TOKEN}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("upstash endpoint with @upstash/redis defaults", () => {
  it.each(["1234", "abcd", "hello world", "OK", "ünïcødé ✓", '{"a":1}', ""])(
    "round-trips the string %j",
    async (value) => {
      const raw = new Redis({
        url: endpoint.url,
        token: ENDPOINT_TOKEN,
        automaticDeserialization: false,
        enableTelemetry: false,
      });
      await client.set(`${p}v`, value);
      expect(await direct.get(`${p}v`)).toBe(value);
      expect(await raw.get(`${p}v`)).toBe(value);
    },
  );

  it("lets the client's automatic deserialization see numbers and JSON", async () => {
    await client.set(`${p}n`, "1234");
    expect(await client.get(`${p}n`)).toBe(1234);
    await client.set(`${p}j`, { a: [1, "x"] });
    expect(await client.get(`${p}j`)).toEqual({ a: [1, "x"] });
  });

  it("answers integers, nulls and nested arrays", async () => {
    expect(await client.incr(`${p}count`)).toBe(1);
    expect(await client.get(`${p}missing`)).toBeNull();
    await client.zadd(`${p}z`, { score: 2, member: "b" }, { score: 1, member: "a" });
    expect(await client.zrange(`${p}z`, 0, -1, { withScores: true })).toEqual(["a", 1, "b", 2]);
  });

  it("runs a pipeline in order, reporting each command's error on its own", async () => {
    const pipe = client.pipeline();
    pipe.set(`${p}pa`, "abcd");
    pipe.get(`${p}pa`);
    pipe.incr(`${p}pa`);
    pipe.get(`${p}pa`);
    const res = await pipe.exec({ keepErrors: true });
    expect(res.map((r) => r.error ?? r.result)).toEqual([
      "OK",
      "abcd",
      "ERR value is not an integer or out of range",
      "abcd",
    ]);
  });

  it("runs multi().exec() atomically through /multi-exec", async () => {
    endpoint.resetStats();
    const tx = client.multi();
    tx.set(`${p}m`, "hello world");
    tx.append(`${p}m`, "!");
    tx.get(`${p}m`);
    expect(await tx.exec()).toEqual(["OK", 12, "hello world!"]);
    expect(endpoint.stats.byPath["/multi-exec"]).toBe(1);
  });

  it("falls back from EVALSHA to EVAL on NOSCRIPT, then uses the cached script", async () => {
    const body = `return {KEYS[1], ARGV[1], ${Math.random()}}`;
    const script = client.createScript<string[]>(body);
    endpoint.resetStats();
    expect((await script.exec([`${p}k`], ["abc"])).slice(0, 2)).toEqual([`${p}k`, "abc"]);
    expect(endpoint.stats.requests).toBe(2); // NOSCRIPT, then EVAL
    endpoint.resetStats();
    await script.exec([`${p}k`], ["x"]);
    expect(endpoint.stats.requests).toBe(1);
  });

  it("answers a failed command with 400 and { error }, which the client throws", async () => {
    await client.set(`${p}s`, "abcd");
    await expect(client.incr(`${p}s`)).rejects.toThrow(/not an integer/);
    const res = await post("/", ["INCR", `${p}s`]);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/not an integer/) });
  });

  it("answers malformed requests with 400, unknown routes with 404", async () => {
    for (const [path, body] of [
      ["/", "{not json"],
      ["/", []],
      ["/", [1, 2]],
      ["/pipeline", [["GET", { a: 1 }]]],
      ["/pipeline", []],
    ] as const) {
      const res = await post(path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(typeof ((await res.json()) as { error: unknown }).error).toBe("string");
    }
    expect((await post("/nope", ["PING"])).status).toBe(404);
  });

  it("requires the bearer token on every route", async () => {
    for (const path of ["/", "/pipeline", "/multi-exec", "/anything"]) {
      for (const auth of [{}, { authorization: "Bearer wrong" }, { authorization: ENDPOINT_TOKEN }] as Record<
        string,
        string
      >[]) {
        const res = await fetch(`${endpoint.url}${path}`, { method: "POST", headers: auth, body: '["PING"]' });
        expect(res.status, `${path} ${JSON.stringify(auth)}`).toBe(401);
      }
    }
    const wrong = new Redis({ url: endpoint.url, token: "wrong", enableTelemetry: false });
    await expect(wrong.set(`${p}denied`, "1")).rejects.toThrow(/Unauthorized/);
    expect(await direct.exists(`${p}denied`)).toBe(0);
  });

  it("base64-encodes every string but OK only when asked", async () => {
    await client.set(`${p}e`, "hello world");
    const plain = await post("/", ["GET", `${p}e`]);
    expect(await plain.json()).toEqual({ result: "hello world" });
    const b64 = await post("/", ["GET", `${p}e`], { "upstash-encoding": "base64" });
    expect(await b64.json()).toEqual({ result: Buffer.from("hello world").toString("base64") });
    expect(await (await post("/", ["SET", `${p}e`, "x"], { "upstash-encoding": "base64" })).json()).toEqual({
      result: "OK",
    });
  });
});
