import type { Context } from "hono";
import { errorJson } from "../http/errors.js";
import { ACCESS_HEADER, type AccessVerifier } from "../jwt/access.js";

/** What serves the console's files: the Worker's ASSETS binding (wrangler.toml [assets]). */
export type AssetFetcher = Pick<Fetcher, "fetch">;

/**
 * The console's policy: its own script and style only, calls to this origin only, never framed.
 * The page renders every stored value as text, so this is the second wall, not the first.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The console's files, as served under /admin/console/: nothing else in the assets directory is reachable. */
const FILES = new Set(["console.js", "console.css"]);

/**
 * GET /admin/console[/<file>]: the admin console's static files, from `assets`. The page itself
 * needs no credential (it asks for the admin token and sends it to the admin API on each call);
 * the Worker runs first for every path (run_worker_first), so no file can shadow the origin.
 */
export function serveConsole(assets: AssetFetcher | undefined, access?: AccessVerifier) {
  return async function serveConsole(c: Context): Promise<Response> {
    const file = c.req.param("file") ?? "index.html";
    // who the Access session in front of the console names, if any: the page signs in with it
    // instead of asking for the token (it tells the caller nothing but their own identity)
    if (file === "session") {
      const assertion = access && c.req.header(ACCESS_HEADER);
      const actor = assertion ? await access!.actor(assertion).catch(() => null) : null;
      return c.json({ actor }, 200, { "Cache-Control": "no-store" });
    }
    if (assets === undefined || (file !== "index.html" && !FILES.has(file)))
      return errorJson(
        c,
        404,
        "not_found",
        assets ? "no such console file" : "the console is not deployed (no ASSETS)",
      );
    const res = await assets.fetch(new URL(`/console/${file}`, c.req.url));
    if (!res.ok) return errorJson(c, 404, "not_found", "no such console file");
    const headers = new Headers(res.headers);
    headers.set("Content-Security-Policy", CONSOLE_CSP);
    headers.set("X-Frame-Options", "DENY");
    headers.set("Referrer-Policy", "no-referrer");
    headers.set("X-Content-Type-Options", "nosniff");
    // a redeploy's console is used at once, never a cached copy
    headers.set("Cache-Control", "no-cache");
    return new Response(res.body, { status: 200, headers });
  };
}
