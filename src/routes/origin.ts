import type { Handler } from "hono";
import { errorJson } from "../http/errors.js";

export type OriginFetch = (request: Request) => Promise<Response>;

/**
 * Forwards the request to `originUrl` + its path and query, with method, headers and body
 * (streamed, not buffered) intact. Redirects are passed back to the client, not followed.
 */
export function forwardToOrigin(
  originUrl: string,
  fetchOrigin: OriginFetch = (r) => fetch(r),
  log: (line: string) => void = console.error,
): Handler {
  return async function forwardToOrigin(c) {
    const src = new URL(c.req.url);
    const req = c.req.raw;
    const target = new Request(`${originUrl}${src.pathname}${src.search}`, {
      method: req.method,
      headers: req.headers,
      body: req.method === "GET" || req.method === "HEAD" ? null : req.body,
      redirect: "manual",
    });
    try {
      return await fetchOrigin(target);
    } catch (e) {
      log(JSON.stringify({ event: "origin_unreachable", error: e instanceof Error ? e.message : String(e) }));
      return errorJson(c, 502, "origin_unreachable", "the origin could not be reached");
    }
  };
}
