import { parseJsonObject, type AdminRoute } from "../server.ts";
import { BadRequestError } from "../../types/errors.ts";
import { QueryEngine } from "./engine.ts";
import { ARROW_STREAM_CONTENT_TYPE, JSON_CONTENT_TYPE, toArrowStream, toJson } from "./result.ts";

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
        const result = await engine.execute(query);
        const json = req.headers.accept === JSON_CONTENT_TYPE;
        const payload = json ? Buffer.from(toJson(result)) : toArrowStream(result);
        res.writeHead(200, { "content-type": json ? JSON_CONTENT_TYPE : ARROW_STREAM_CONTENT_TYPE, "content-length": payload.length });
        res.end(payload);
      },
    },
  ];
}
