import { parseJsonObject, type AdminRoute } from "../server.ts";
import { BadRequestError } from "../../types/errors.ts";
import type { QueryEngine } from "./engine.ts";
import { JSON_CONTENT_TYPE } from "./result.ts";

/**
 * `POST /query` with `{"query": "<sql>"}`. Like Restate: JSON rows for `accept: application/json`,
 * an Arrow IPC stream for anything else (what the `restate sql` command asks for).
 */
export function queryRoutes(engine: QueryEngine): AdminRoute[] {
  return [
    {
      method: "POST",
      pattern: /^\/query$/,
      async handle(req, res, _m, body) {
        const { query } = parseJsonObject(body);
        if (typeof query !== "string" || query.trim() === "") {
          throw new BadRequestError(`request body must be JSON with a 'query' string, e.g. {"query": "SELECT * FROM sys_invocation"}`, "missing_query");
        }
        const result = await engine.executeEncoded(query, req.headers.accept === JSON_CONTENT_TYPE ? "json" : "arrow");
        res.writeHead(200, { "content-type": result.contentType, "content-length": result.body.byteLength });
        res.end(result.body);
      },
    },
  ];
}
