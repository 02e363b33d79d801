/**
 * The origin for Worker tests: answers every request with what it received, and remembers it,
 * so a test can ask (GET /__seen?path=...) whether a request ever reached the origin.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodyBase64: string;
  bodySha256: string;
}

export async function startEchoOrigin(): Promise<{ url: string; server: Server }> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://origin");
      if (url.pathname === "/__seen") {
        const path = url.searchParams.get("path");
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(seen.filter((s) => new URL(s.url, "http://origin").pathname === path)));
        return;
      }
      const body = Buffer.concat(chunks);
      const entry: SeenRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        bodyBase64: body.toString("base64"),
        bodySha256: createHash("sha256").update(body).digest("hex"),
      };
      seen.push(entry);
      if (url.pathname === "/redirect") {
        res.writeHead(302, { location: "/elsewhere" });
        res.end();
        return;
      }
      res.writeHead(url.pathname === "/teapot" ? 418 : 200, { "content-type": "application/json", "x-origin": "echo" });
      res.end(JSON.stringify(entry));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
