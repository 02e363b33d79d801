/**
 * A local Upstash-compatible REST endpoint over a real Redis: what `@upstash/redis` sends with
 * its default options, so the Redis backend runs against `redis-server` with no account.
 *
 *   POST /             one command, a JSON array:        ["SET","k","v"]      → {"result": ...}
 *   POST /pipeline     an array of commands, in order:   [["GET","k"], ...]   → [{"result"}|{"error"}]
 *   POST /multi-exec   the same, inside MULTI/EXEC (atomic)
 *
 * Every route needs `Authorization: Bearer <token>` (else 401). A failed command is
 * `{"error": "..."}` with status 400. With `Upstash-Encoding: base64` every string in a
 * result is base64 except "OK", as Upstash does.
 *
 * For benches and tests it can stand in for distance and outages: `latencyMs` delays every
 * answer (as a real Upstash 5–150 ms away would), `down` answers every request 503.
 * With `exposeStats`, `POST /__control` sets both ({"latencyMs": 20, "down": false}).
 *
 * Run: npm run redis:http   (env: PORT=8079, REDIS_URL=redis://127.0.0.1:6379, UPSTASH_TOKEN=local-dev-token,
 *                            LATENCY_MS=0)
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import Redis from "ioredis";

export interface UpstashEndpointOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** @default "redis://127.0.0.1:6379" */
  redisUrl?: string;
  /** The bearer token clients must send. */
  token: string;
  /** @default 1 MiB */
  maxBodyBytes?: number;
  /** Sees every authorized request's path and raw body (tests use it to inspect the wire). */
  onRequest?: (path: string, body: string) => void;
  /**
   * Also serve `GET /__stats` (the counts below) and `POST /__stats/reset`, behind the same
   * auth, so a process that cannot reach this object (a Worker under test) can count requests.
   * @default false
   */
  exposeStats?: boolean;
  /** Milliseconds added before every answer. @default 0 */
  latencyMs?: number;
}

/** Faults a test or bench can switch on while the endpoint runs. */
export interface EndpointControl {
  latencyMs: number;
  /** Answer every Redis route with 503, as an unreachable Upstash region would. */
  down: boolean;
}

export interface UpstashEndpoint {
  url: string;
  port: number;
  /** Requests seen per route since start (or since `resetStats`), authorized or not, and the bytes of their reply bodies. */
  stats: { requests: number; commands: number; replyBytes: number; byPath: Record<string, number> };
  resetStats(): void;
  control: EndpointControl;
  close(): Promise<void>;
}

type Reply = string | number | null | Reply[] | { error: string };
type Command = (string | number)[];

class BadRequest extends Error {}

export async function startUpstashEndpoint(options: UpstashEndpointOptions): Promise<UpstashEndpoint> {
  const redis = new Redis(options.redisUrl ?? "redis://127.0.0.1:6379", {
    // not enableAutoPipelining: with it, ioredis 6 sends callBuffer's first argument as the command name
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  });
  await redis.connect();
  const expected = Buffer.from(`Bearer ${options.token}`);
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const stats = { requests: 0, commands: 0, replyBytes: 0, byPath: {} as Record<string, number> };
  const control: EndpointControl = { latencyMs: options.latencyMs ?? 0, down: false };

  const resetStats = () => {
    stats.requests = 0;
    stats.commands = 0;
    stats.replyBytes = 0;
    stats.byPath = {};
  };
  const server = createServer((req, res) => {
    if (!(req.url ?? "").startsWith("/__")) {
      stats.requests++;
      stats.byPath[req.url ?? ""] = (stats.byPath[req.url ?? ""] ?? 0) + 1;
      const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
      res.end = ((chunk?: unknown) => {
        if (typeof chunk === "string") stats.replyBytes += Buffer.byteLength(chunk);
        return end(chunk);
      }) as typeof res.end;
    }
    handle(req, res).catch((e: unknown) => send(res, 500, { error: `internal: ${(e as Error).message}` }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = Buffer.from(req.headers.authorization ?? "");
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
      return send(res, 401, { error: "Unauthorized" });
    }
    const path = (req.url ?? "/").split("?")[0];
    if (options.exposeStats && path === "/__stats" && req.method === "GET") return send(res, 200, stats);
    if (options.exposeStats && path === "/__stats/reset" && req.method === "POST") {
      resetStats();
      return send(res, 200, { result: "OK" });
    }
    if (options.exposeStats && path === "/__control" && req.method === "POST") {
      const body = JSON.parse(await readBody(req, 1024)) as Partial<EndpointControl>;
      if (typeof body.latencyMs === "number") control.latencyMs = body.latencyMs;
      if (typeof body.down === "boolean") control.down = body.down;
      return send(res, 200, control);
    }
    if (control.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, control.latencyMs));
    if (control.down) return send(res, 503, { error: "injected outage" });
    if (req.method !== "POST") return send(res, 405, { error: "only POST is supported" });
    if (path !== "/" && path !== "/pipeline" && path !== "/multi-exec") {
      return send(res, 404, { error: `unknown route ${path}` });
    }
    const b64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    let body: unknown;
    try {
      const text = await readBody(req, maxBody);
      options.onRequest?.(path, text);
      body = JSON.parse(text);
    } catch (e) {
      return send(res, 400, { error: e instanceof BadRequest ? e.message : "the body is not valid JSON" });
    }
    try {
      if (path === "/") {
        const cmd = toCommand(body);
        stats.commands++;
        try {
          return send(res, 200, { result: encode(await redis.callBuffer(...(cmd as [string])), b64) });
        } catch (e) {
          return send(res, 400, { error: (e as Error).message });
        }
      }
      if (!Array.isArray(body) || body.length === 0) throw new BadRequest("expected a non-empty array of commands");
      const cmds = body.map(toCommand);
      stats.commands += cmds.length;
      const batch = path === "/pipeline" ? redis.pipeline() : redis.multi();
      for (const cmd of cmds) batch.callBuffer(...(cmd as [string]));
      let results: [Error | null, unknown][] | null;
      try {
        results = await batch.exec();
      } catch (e) {
        return send(res, 400, { error: (e as Error).message }); // EXECABORT: nothing ran
      }
      if (results === null) return send(res, 400, { error: "transaction aborted" });
      return send(
        res,
        200,
        results.map(([err, r]) => (err ? { error: err.message } : { result: encode(r, b64) })),
      );
    } catch (e) {
      if (e instanceof BadRequest) return send(res, 400, { error: e.message });
      throw e;
    }
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    stats,
    resetStats,
    control,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}

function toCommand(x: unknown): Command {
  if (!Array.isArray(x) || x.length === 0 || typeof x[0] !== "string") {
    throw new BadRequest("a command is a non-empty JSON array starting with its name");
  }
  for (const a of x) {
    if (typeof a !== "string" && typeof a !== "number")
      throw new BadRequest("command arguments must be strings or numbers");
  }
  return x.map(String);
}

/** Redis reply → JSON, base64-encoding strings (but "OK") when the client asked for it. */
function encode(r: unknown, b64: boolean): Reply {
  if (r === null || r === undefined) return null;
  if (typeof r === "number") return r;
  // a Uint8Array check, not Buffer.isBuffer: workers-types 5 declares the global Buffer as any
  if (r instanceof Uint8Array) {
    if (r.length === 2 && r[0] === 0x4f && r[1] === 0x4b) return "OK";
    return b64 ? Buffer.from(r.buffer, r.byteOffset, r.length).toString("base64") : new TextDecoder().decode(r);
  }
  if (Array.isArray(r)) return r.map((x) => encode(x, b64));
  if (r instanceof Error) return { error: r.message };
  return String(r);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new BadRequest(`the body is larger than ${max} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
