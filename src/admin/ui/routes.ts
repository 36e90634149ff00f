import type { ServerResponse } from "node:http";
import type { AdminRoute } from "../server.ts";
import { UiBundle } from "./bundle.ts";
import { indexHtml } from "./index-html.ts";

/** Where the UI lives on the admin port; every path below it is a page of the client-side router. */
export const UI_BASE = "/ui";

const ASSET_TYPES = { "app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8" } as const;

/**
 * The web UI on the admin port: `/` redirects to `/ui`, `/ui/assets/app.{js,css}` is the bundled
 * client, and any other path under `/ui` is the HTML shell (the client routes on the path, so a
 * reload or a shared link opens the same page). Everything the UI shows comes from the admin API.
 */
export function uiRoutes(bundle: UiBundle = new UiBundle()): AdminRoute[] {
  const send = (res: ServerResponse, type: string, body: Uint8Array | string, cache: string) => {
    const payload = typeof body === "string" ? Buffer.from(body) : body;
    res.writeHead(200, { "content-type": type, "content-length": payload.length, "cache-control": cache });
    res.end(payload);
  };
  return [
    {
      method: "GET",
      pattern: /^\/$/,
      async handle(_req, res) {
        res.writeHead(302, { location: UI_BASE }).end();
      },
    },
    {
      method: "GET",
      pattern: /^\/ui\/assets\/(app\.js|app\.css)$/,
      async handle(_req, res, m) {
        const name = m[1] as keyof typeof ASSET_TYPES;
        const assets = await bundle.get();
        // The shell asks for the assets without a version in the name: revalidate each load.
        send(res, ASSET_TYPES[name], name === "app.js" ? assets.js : assets.css, "no-cache");
      },
    },
    {
      method: "GET",
      pattern: /^\/ui(?:\/(?!assets\/).*)?$/,
      async handle(_req, res) {
        send(res, "text/html; charset=utf-8", indexHtml(UI_BASE), "no-cache");
      },
    },
  ];
}
