/**
 * A tiny origin for the README walk-through: logs every request it receives and echoes it.
 * Run: npm run origin   (PORT=8788)
 */
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? 8788);
createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const seen = {
      method: req.method,
      url: req.url,
      subject: req.headers["x-token-subject"] ?? null,
      id: req.headers["x-token-id"] ?? null,
      bytes: body.length,
    };
    console.log(`origin: ${JSON.stringify(seen)}`);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ origin: "demo", ...seen, body }));
  });
}).listen(port, "127.0.0.1", () => console.log(`demo origin on http://127.0.0.1:${port}`));
