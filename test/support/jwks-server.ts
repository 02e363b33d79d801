/**
 * A JWKS endpoint for Worker tests. Each key set lives under its own name, so tests do not
 * share state: POST /<name> sets the set (JSON body), GET /<name> serves it (counting fetches),
 * POST /<name>/down and /<name>/up switch an outage, GET /<name>/count tells the fetches.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export async function startJwksServer(): Promise<{ url: string; server: Server }> {
  const sets = new Map<string, { body: string; fetches: number; down: boolean }>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const [, name = "", action] = (req.url ?? "/").split("?")[0]!.split("/");
      const set = sets.get(name) ?? { body: '{"keys":[]}', fetches: 0, down: false };
      sets.set(name, set);
      const json = (status: number, body: string) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(body);
      };
      if (req.method === "POST" && action === undefined) {
        set.body = Buffer.concat(chunks).toString("utf8");
        return json(200, "{}");
      }
      if (req.method === "POST" && (action === "down" || action === "up")) {
        set.down = action === "down";
        return json(200, "{}");
      }
      if (action === "count") return json(200, JSON.stringify({ fetches: set.fetches }));
      set.fetches++;
      if (set.down) return json(503, '{"error":"down"}');
      return json(200, set.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
